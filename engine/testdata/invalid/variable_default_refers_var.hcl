# want: 9: Variables not allowed
runbook "r" {}

variable "a" {
  default = "x"
}

variable "b" {
  default = var.a
}
