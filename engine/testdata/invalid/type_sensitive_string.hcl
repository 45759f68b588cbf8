# want: 6: Unsuitable value type
runbook "r" {}

variable "password" {
  type      = string
  sensitive = "very"
}
