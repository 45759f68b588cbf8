# want: 12: Invalid reference in variable validation
runbook "r" {}

locals {
  max = 10
}

variable "n" {
  type    = number
  default = 3
  validation {
    condition     = var.n < local.max
    error_message = "too big"
  }
}
