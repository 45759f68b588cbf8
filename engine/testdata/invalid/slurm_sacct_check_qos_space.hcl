# want: 6: Invalid step "s"
# detail: no white space
runbook "r" {}

step "sacct_check" "s" {
  qos = "moon light"
}
