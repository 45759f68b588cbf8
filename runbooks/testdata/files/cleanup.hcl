# e2e: removes the root-owned directory root.hcl made.
runbook "files_cleanup" {
  title = "Remove the test directory"
  hosts = "ctl1-rbadmin"
}

variable "dir" {
  type = string
}

step "file" "gone" {
  checklist = "Remove the test directory"
  path      = var.dir
  state     = "absent"
  become    = true
}
