# want: 11: Invalid step "q"
# detail: no quotes
runbook "r" {}

variable "qos" {
  default = "moon'light"
}

step "create" "q" {
  entity = "qos"
  name   = var.qos
  become = true
}
