# want: 6: Invalid default value for variable
runbook "r" {}

variable "count" {
  type    = number
  default = "many"
}
