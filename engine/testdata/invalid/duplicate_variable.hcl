# want: 8: Duplicate variable "x"
runbook "r" {}

variable "x" {
  default = "a"
}

variable "x" {
  default = "b"
}
