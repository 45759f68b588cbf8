# want: 9: Duplicate local value
runbook "r" {}

locals {
  a = 1
}

locals {
  a = 2
}
