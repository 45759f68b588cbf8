# want: 5: Invalid value for variable
# detail: account must be lower-case
runbook "r" {}

variable "account" {
  type    = string
  default = "Bad Account"
  validation {
    condition     = can(regex("^[a-z][a-z0-9_-]*$", var.account))
    error_message = "account must be lower-case letters, digits, _ or -."
  }
}
