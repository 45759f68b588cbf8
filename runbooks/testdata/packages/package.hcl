# One package step on the testbed (runbooks/packages_e2e_test.go): the test
# installs, upgrades and removes a small Debian package through the variables.
runbook "packages" {
  title = "Packages (e2e)"
  hosts = "ctl1-rbadmin"
}

variable "names" {
  type = list(string)
}

variable "state" {
  type    = string
  default = "present"
}

variable "cache_valid_time" {
  type    = string
  default = null
}

variable "become" {
  type    = bool
  default = true
}

step "package" "pkgs" {
  title              = "Test packages are ${var.state}"
  checklist          = "Make sure ${join(", ", var.names)} is ${var.state}"
  names              = var.names
  state              = var.state
  cache_valid_time   = var.cache_valid_time
  # install_recommends has no meaning for a removal (validate refuses it).
  install_recommends = var.state == "absent" ? null : false
  become             = var.become
}
