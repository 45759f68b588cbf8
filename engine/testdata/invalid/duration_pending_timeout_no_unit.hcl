# want: 7: Invalid step "j"
# detail: missing unit
runbook "r" {}

step "test_job" "j" {
  qos             = "normal"
  pending_timeout = "30"
}
