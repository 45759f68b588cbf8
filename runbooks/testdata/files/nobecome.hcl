# e2e: writing into a root-owned directory without become fails with the
# path named and become suggested.
runbook "files_nobecome" {
  title = "A root-owned path without become"
  hosts = "ctl1-rbadmin"
}

variable "dir" {
  type = string
}

step "copy" "denied" {
  dest    = "${var.dir}/denied.conf"
  content = "x\n"
}
