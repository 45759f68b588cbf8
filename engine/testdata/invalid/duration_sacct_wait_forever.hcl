# want: 7: Invalid step "s"
# detail: forever
runbook "r" {}

step "sacct_check" "s" {
  qos  = "moonlight"
  wait = "forever"
}
