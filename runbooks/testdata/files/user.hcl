# e2e (runbooks/files_e2e_test.go): the file kinds on paths the login user
# (koopark) owns, without become.
runbook "files_user" {
  title = "File kinds on user-owned paths"
  hosts = "ctl1"
}

variable "dir" {
  type = string
}

step "file" "conf_dir" {
  checklist = "Create the conf.d directory"
  path      = "${var.dir}/conf.d"
  state     = "directory"
  mode      = "0750"
}

step "copy" "app_conf" {
  checklist = "Write app.conf"
  dest      = "${var.dir}/app.conf"
  content   = "alpha\nbeta-e2e-marker\ngamma\n"
  mode      = "0600"
  backup    = true
}

step "template" "nodes" {
  checklist = "Render nodes.conf"
  dest      = "${var.dir}/conf.d/nodes.conf"
  source    = "nodes.tftpl"
  vars      = { cluster = "testcluster", nodes = ["n1", "n2"] }
}

step "line" "default_key" {
  checklist = "Set TIMEOUT in the defaults file"
  path      = "${var.dir}/default"
  key       = "TIMEOUT"
  value     = "5"
}

step "line" "hosts_line" {
  checklist = "Add the hosts line"
  path      = "${var.dir}/hosts"
  line      = "10.0.0.1 n1"
  create    = true
}

step "file" "current" {
  checklist = "Point current at conf.d"
  path      = "${var.dir}/current"
  state     = "link"
  target    = "${var.dir}/conf.d"
}
