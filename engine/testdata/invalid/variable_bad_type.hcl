# want: 5: Invalid type specification
runbook "r" {}

variable "x" {
  type = strng
}
