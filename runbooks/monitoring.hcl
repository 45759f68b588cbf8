# Per-QoS Slurm usage in Prometheus: the guide's first goal ("service
# tracking and monitoring: per-QoS usage statistics, monitored with
# Prometheus + Grafana") and its "Monitoring the QoS" section, as a
# standing service instead of commands typed now and then.
#
# On the Slurm controller (squeue and sacctmgr must work there) it installs
# Debian's prometheus-node-exporter and prometheus, a collector that writes
# per-QoS metrics into the node exporter's textfile directory, and a cron
# job running it every minute. runbook's own --metrics-file goes into the
# same directory, so the last Phase 2 run is scraped too:
#
#   runbook apply runbooks/monitoring.hcl -i inventory.hcl
#   runbook apply runbooks/phase2.hcl -i inventory.hcl --var account=hpc-users \
#     --metrics-file /var/lib/prometheus/node-exporter/runbook_phase2.prom
#
# The Grafana dashboard is monitoring/grafana-dashboard.json (import it;
# its data source is this Prometheus).
#
# It runs on the inventory group "monitoring": the controller, reached by a
# login that may install packages and manage services through sudo.
#
# Where the guide is wrong for Slurm 22.05 (marked "GUIDE:"): the guide's
# `sacct … AllocGRES` is fatal in 22.05, and its `squeue` fixed-width
# columns cut long values with '+'; the collector reads `squeue --Format`
# with a separator and `sacctmgr -P`, and GPUs from tres-alloc (gres/gpu=N).

runbook "monitoring" {
  title       = "Monitoring the QoS: per-QoS usage in Prometheus"
  description = "Install Prometheus and its node exporter on the Slurm controller, with a collector that exports per-QoS jobs, GPUs and limits every minute."
  hosts       = "monitoring"
}

# ---------------------------------------------------------------- variables

variable "textfile_dir" {
  type        = string
  default     = "/var/lib/prometheus/node-exporter"
  description = "The node exporter's textfile collector directory (Debian's default). Give runbook --metrics-file a file here."
  validation {
    condition     = can(regex("^/[A-Za-z0-9_./-]*[A-Za-z0-9_-]$", var.textfile_dir)) && !strcontains(var.textfile_dir, "..")
    error_message = "textfile_dir must be an absolute path of letters, digits, '_', '.', '-' and '/', without '..' or a final '/'."
  }
}

variable "textfile_group" {
  type        = string
  default     = "root"
  description = "Group owning the textfile directory. Another group (e.g. your admins') gets write access (mode 2775), so its members' runbook --metrics-file can land there without root."
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.textfile_group))
    error_message = "textfile_group must be a group name: lower-case letters, digits, '_' or '-'."
  }
}

variable "prometheus_listen" {
  type        = string
  default     = "127.0.0.1:9090"
  description = "Where Prometheus listens (--web.listen-address). Loopback: it has no authentication."
  validation {
    condition     = can(regex("^[A-Za-z0-9.\\[\\]:-]*:[0-9]{1,5}$", var.prometheus_listen))
    error_message = "prometheus_listen must be HOST:PORT (127.0.0.1:9090) or :PORT."
  }
}

variable "node_exporter_listen" {
  type        = string
  default     = "127.0.0.1:9100"
  description = "Where the node exporter listens. Loopback: only this Prometheus scrapes it; \":9100\" for a central one."
  validation {
    condition     = can(regex("^[A-Za-z0-9.\\[\\]:-]*:[0-9]{1,5}$", var.node_exporter_listen))
    error_message = "node_exporter_listen must be HOST:PORT (127.0.0.1:9100) or :PORT."
  }
}

variable "scrape_interval" {
  type        = string
  default     = "15s"
  description = "How often Prometheus scrapes (and evaluates), a Prometheus duration such as 15s or 1m."
  validation {
    condition     = can(regex("^[1-9][0-9]{0,3}(s|m)$", var.scrape_interval))
    error_message = "scrape_interval must be seconds or minutes: 15s, 30s, 1m."
  }
}

variable "collector_path" {
  type        = string
  default     = "/usr/local/sbin/slurm-qos-metrics"
  description = "Where the per-QoS collector script is installed."
  validation {
    condition     = can(regex("^/[A-Za-z0-9_./-]*[A-Za-z0-9_-]$", var.collector_path)) && !strcontains(var.collector_path, "..")
    error_message = "collector_path must be an absolute path of letters, digits, '_', '.', '-' and '/'."
  }
}

locals {
  metrics_file   = "slurm_qos.prom"
  metrics_path   = "${var.textfile_dir}/${local.metrics_file}"
  node_exporter  = "prometheus-node-exporter"
  prometheus_api = "http://${startswith(var.prometheus_listen, ":") ? "127.0.0.1${var.prometheus_listen}" : var.prometheus_listen}"
}

# ------------------------------------------------------------------- steps

step "package" "monitoring_packages" {
  title = "Install Prometheus, its node exporter and cron from Debian"
  checklist = {
    en = "install prometheus-node-exporter, prometheus and cron from Debian"
    ko = "Debian 패키지 설치: prometheus-node-exporter, prometheus, cron"
  }
  names = ["prometheus-node-exporter", "prometheus", "cron"]
  # Recommends would add an MTA for cron and the node exporter's
  # systemd-timer collectors: none is needed here.
  install_recommends = false
  cache_valid_time   = "24h"
  become             = true
}

# The directory node_exporter reads *.prom files from. Debian's package
# makes it root's; a textfile_group gets write access for --metrics-file.
step "file" "textfile_dir" {
  title      = "The textfile collector directory"
  path       = var.textfile_dir
  state      = "directory"
  owner      = "root"
  group      = var.textfile_group
  mode       = var.textfile_group == "root" ? "0755" : "2775"
  become     = true
  depends_on = [step.monitoring_packages]
}

# The node exporter's options, in its Debian /etc/default file (sourced by
# the init script and the systemd unit alike): the textfile directory named
# explicitly, and where it listens.
step "line" "node_exporter_args" {
  title = "Enable the node exporter's textfile collector"
  checklist = {
    en = "enable the node exporter's textfile collector (`/etc/default/prometheus-node-exporter`)"
    ko = "node exporter textfile collector 활성화 (/etc/default/prometheus-node-exporter)"
  }
  path       = "/etc/default/prometheus-node-exporter"
  key        = "ARGS"
  value      = "\"--collector.textfile.directory=${var.textfile_dir} --web.listen-address=${var.node_exporter_listen}\""
  become     = true
  depends_on = [step.textfile_dir]
  notify     = [step.node_exporter_restart]
}

step "line" "prometheus_args" {
  title      = "Where Prometheus listens"
  path       = "/etc/default/prometheus"
  key        = "ARGS"
  value      = "\"--web.listen-address=${var.prometheus_listen}\""
  become     = true
  depends_on = [step.monitoring_packages]
  notify     = [step.prometheus_restart]
}

step "template" "prometheus_config" {
  title = "Write prometheus.yml"
  checklist = {
    en = "write `/etc/prometheus/prometheus.yml` scraping the node exporter (checked with `promtool check config`)"
    ko = "/etc/prometheus/prometheus.yml 작성 (promtool check config로 검사)"
  }
  dest   = "/etc/prometheus/prometheus.yml"
  source = "monitoring/prometheus.yml.tftpl"
  vars = {
    scrape_interval      = var.scrape_interval
    prometheus_listen    = var.prometheus_listen
    node_exporter_listen = var.node_exporter_listen
  }
  owner = "root"
  group = "root"
  mode  = "0644"
  # The new file is checked before it replaces the old one: a file
  # Prometheus would refuse never reaches its reload.
  validate   = "promtool check config %s"
  become     = true
  depends_on = [step.monitoring_packages]
  notify     = [step.prometheus_reload]
}

step "template" "collector" {
  title = "Install the per-QoS collector"
  checklist = {
    en = "install the per-QoS collector `${var.collector_path}` (root, 0755)"
    ko = "QoS별 수집 스크립트 설치 ${var.collector_path} (root, 0755)"
  }
  dest       = var.collector_path
  source     = "monitoring/slurm-qos-metrics.sh.tftpl"
  vars       = { textfile_dir = var.textfile_dir, metrics_file = local.metrics_file }
  owner      = "root"
  group      = "root"
  mode       = "0755"
  validate   = "sh -n %s"
  become     = true
  depends_on = [step.textfile_dir]
}

step "template" "collector_cron" {
  title = "Run the collector every minute"
  checklist = {
    en = "run the collector every minute (`/etc/cron.d/slurm-qos-metrics`)"
    ko = "매분 수집 (/etc/cron.d/slurm-qos-metrics)"
  }
  dest       = "/etc/cron.d/slurm-qos-metrics"
  source     = "monitoring/cron.tftpl"
  vars       = { collector = var.collector_path }
  owner      = "root"
  group      = "root"
  mode       = "0644"
  become     = true
  depends_on = [step.collector, step.monitoring_packages]
}

# The services run; a stopped one starts with the configuration written
# above (the handlers at the end restart or reload a running one).
step "service" "node_exporter" {
  title = "Start the node exporter"
  checklist = {
    en = "start the node exporter, enabled at boot"
    ko = "node exporter 시작 (부팅 시 자동 시작)"
  }
  name       = local.node_exporter
  state      = "started"
  enabled    = true
  become     = true
  depends_on = [step.node_exporter_args]
}

step "service" "prometheus" {
  title = "Start Prometheus"
  checklist = {
    en = "start Prometheus on ${var.prometheus_listen}, enabled at boot"
    ko = "Prometheus 시작 (${var.prometheus_listen}, 부팅 시 자동 시작)"
  }
  name       = "prometheus"
  state      = "started"
  enabled    = true
  become     = true
  depends_on = [step.prometheus_args, step.prometheus_config]
}

step "service" "cron" {
  title = "Start cron"
  checklist = {
    en = "start cron, enabled at boot"
    ko = "cron 시작 (부팅 시 자동 시작)"
  }
  name       = "cron"
  state      = "started"
  enabled    = true
  become     = true
  depends_on = [step.collector_cron]
}

# Once at the end of an apply, so the metrics exist now, not a minute
# later: unless cron has already written them in the last 90 seconds with
# the collector as it is now (then they are current, and a second apply
# has nothing to do).
step "command" "collect_now" {
  title  = "Run the collector once"
  argv   = [var.collector_path]
  unless = "find ${shellquote(local.metrics_path)} -newer ${shellquote(var.collector_path)} -newermt '90 seconds ago' 2>/dev/null | grep -q ."
  become = true
  # After the handlers: the proof below is of the daemons as configured now.
  depends_on = [step.collector, step.cron, step.node_exporter_restart, step.prometheus_reload]
}

# Proof, from Prometheus itself: it scrapes the node exporter, and the
# collector's per-QoS series have reached it. Both wait for a scrape.
step "check" "node_scraped" {
  title = "Prometheus scrapes the node exporter"
  checklist = {
    en = "Prometheus scrapes the node exporter (`up{job=\"node\"}` is 1)"
    ko = "Prometheus가 node exporter를 수집 (up{job=\"node\"} = 1)"
  }
  argv       = ["promtool", "query", "instant", local.prometheus_api, "up{job=\"node\"}"]
  retries    = 60
  delay      = "1s"
  until      = strcontains(self.stdout, "=> 1 @")
  timeout    = "2m"
  depends_on = [step.collect_now]
}

step "check" "qos_metrics" {
  title = "Per-QoS metrics are in Prometheus"
  checklist = {
    en = "per-QoS metrics are in Prometheus (`slurm_qos_priority`)"
    ko = "QoS별 지표가 Prometheus에 있음 (slurm_qos_priority)"
  }
  argv       = ["promtool", "query", "instant", local.prometheus_api, "slurm_qos_priority"]
  retries    = 60
  delay      = "1s"
  until      = strcontains(self.stdout, "slurm_qos_priority{")
  timeout    = "2m"
  depends_on = [step.node_scraped]
}

# ---------------------------------------------------------------- handlers

# Restart or reload only when their configuration changed in this run (on
# a first install too: a package may have started the daemon with Debian's
# configuration). Each runs once, after the steps that notify it, and after
# the step that starts its service: Debian's init scripts make their pid
# directory (/run/prometheus) on start, not on restart.

step "service" "node_exporter_restart" {
  title      = "Restart the node exporter (its options changed)"
  name       = local.node_exporter
  state      = "restarted"
  become     = true
  depends_on = [step.node_exporter]
}

step "service" "prometheus_restart" {
  title      = "Restart Prometheus (its options changed)"
  name       = "prometheus"
  state      = "restarted"
  become     = true
  depends_on = [step.prometheus]
}

# A restart in this run has read the new prometheus.yml already.
step "service" "prometheus_reload" {
  title      = "Reload Prometheus (prometheus.yml changed)"
  name       = "prometheus"
  state      = "reloaded"
  when       = !step.prometheus_restart.changed
  become     = true
  depends_on = [step.prometheus]
}
