# want: 4: No value for required variable
runbook "r" {}

variable "account" {
  type = string
}
