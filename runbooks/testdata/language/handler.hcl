# e2e (issue 17): two config changes notify one handler that restarts a
# daemon. The daemon is the test's own (restart.sh in var.dir, which the
# test writes): it logs its PID to starts.log when it starts, so the test
# counts restarts from the daemon's own record. A gate step after the
# notifiers fails while var.dir/fail exists, to leave the handler pending.

runbook "lang_handler" {
  title = "Config change restarts a daemon once"
  hosts = "slurm_controller"
}

variable "dir" {
  type        = string
  description = "Directory on the host (writable by the login user) holding the config files, restart.sh and the daemon's pidfile and starts.log."
  validation {
    condition     = can(regex("^/[A-Za-z0-9_./-]+$", var.dir))
    error_message = "dir must be an absolute path of letters, digits, '.', '_', '-' and '/'."
  }
}

variable "generation" {
  type        = number
  default     = 1
  description = "Written into both config files: a new value changes both."
}

step "copy" "main_conf" {
  dest    = "${var.dir}/main.conf"
  content = "# generation ${var.generation}\nlisten = 127.0.0.1\n"
  notify  = [step.restart]
}

step "line" "extra_conf" {
  path   = "${var.dir}/extra.conf"
  key    = "generation"
  value  = tostring(var.generation)
  create = true
  notify = [step.restart]
}

# Fails (exit 1) while the fail file exists; otherwise satisfied, runs nothing.
step "command" "gate" {
  command    = "echo 'gate: the fail file exists' >&2; exit 1"
  unless     = "test ! -e ${shellquote("${var.dir}/fail")}"
  depends_on = [step.main_conf, step.extra_conf]
}

step "command" "restart" {
  argv      = ["sh", "${var.dir}/restart.sh", var.dir]
  checklist = "the daemon was restarted after its config changed"
}
