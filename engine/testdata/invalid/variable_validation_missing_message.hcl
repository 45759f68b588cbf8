# want: 6: Missing required argument
runbook "r" {}

variable "n" {
  default = 3
  validation {
    condition = var.n > 0
  }
}
