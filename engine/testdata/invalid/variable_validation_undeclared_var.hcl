# want: 7: Unsupported attribute
runbook "r" {}

variable "n" {
  default = 3
  validation {
    condition     = var.n < var.limit
    error_message = "too big"
  }
}
