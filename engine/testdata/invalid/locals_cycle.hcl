# want: 5: Local values refer to each other in a cycle
runbook "r" {}

locals {
  a = "${local.b}-a"
  b = "${local.a}-b"
}
