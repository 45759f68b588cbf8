# want: 10: Reference to undeclared variable
# detail: Did you mean "account"?
runbook "r" {}

variable "account" {
  default = "hpc"
}

step "check" "a" {
  command = "echo ${var.acount}"
}
