# want: 8: Invalid validation condition
runbook "r" {}

variable "n" {
  type    = number
  default = 3
  validation {
    condition     = "yes"
    error_message = "never"
  }
}
