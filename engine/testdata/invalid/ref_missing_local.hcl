# want: 9: Reference to undeclared local value
runbook "r" {}

locals {
  dir = "/tmp"
}

step "check" "a" {
  command = "ls ${local.directory}"
}
