# want: 7: Call to unknown function
runbook "r" {}

variable "name" {
  default = "x"
  validation {
    condition     = matches(var.name, "^x$")
    error_message = "bad"
  }
}
