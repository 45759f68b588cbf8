# want: 4: Invalid variable name
runbook "r" {}

variable "my var" {
  default = "x"
}
