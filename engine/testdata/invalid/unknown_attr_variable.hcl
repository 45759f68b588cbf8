# want: 6: Unsupported argument
runbook "r" {}

variable "x" {
  type    = string
  defualt = "typo"
}
