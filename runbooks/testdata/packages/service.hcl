# cron as a package and a service on the testbed, which has no systemd
# (runbooks/packages_e2e_test.go): the service step runs init.d's cron
# through `service` and update-rc.d.
runbook "cron" {
  title = "cron (e2e)"
  hosts = "ctl1-rbadmin"
}

variable "state" {
  type    = string
  default = null
}

variable "enabled" {
  type    = bool
  default = null
}

step "package" "cron_pkg" {
  checklist          = "Install cron"
  names              = ["cron"]
  install_recommends = false # cron recommends an MTA (exim4, a daemon)
  become             = true
}

step "service" "cron" {
  checklist = "cron is ${coalesce(var.state, "as it was")}, enabled at boot: ${var.enabled == null ? "as it was" : var.enabled}"
  name      = "cron"
  state     = var.state
  enabled   = var.enabled
  become    = true
  # No depends_on: the file's order runs the package first, and a plan
  # knows the service only after the package step (it reads "packages").
}
