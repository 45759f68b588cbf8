# e2e (runbooks/files_e2e_test.go): the file kinds on root-owned paths,
# through sudo (become) as rbadmin, whose sudo asks for a password.
runbook "files_root" {
  title = "File kinds on root-owned paths"
  hosts = "ctl1-rbadmin"
}

variable "dir" {
  type = string
}

step "file" "dir" {
  checklist = "Create the root-owned directory"
  path      = var.dir
  state     = "directory"
  owner     = "root"
  group     = "root"
  mode      = "0755"
  become    = true
}

step "copy" "sudoers" {
  checklist = "Install the sudoers snippet, checked by visudo"
  dest      = "${var.dir}/sudoers-snippet"
  content   = "Defaults:rbadmin !lecture\n"
  mode      = "0440"
  owner     = "root"
  group     = "root"
  validate  = "/usr/sbin/visudo -cf %s"
  become    = true
}

step "template" "nodes" {
  checklist = "Render nodes.conf"
  dest      = "${var.dir}/nodes.conf"
  source    = "nodes.tftpl"
  vars      = { cluster = "rootcluster", nodes = ["r1"] }
  mode      = "0644"
  become    = true
}

step "line" "default_key" {
  checklist = "Set GRUB_TIMEOUT"
  path      = "${var.dir}/grub"
  key       = "GRUB_TIMEOUT"
  value     = "3"
  create    = true
  become    = true
}
