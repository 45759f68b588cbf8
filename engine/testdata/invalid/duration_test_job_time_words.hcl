# want: 6: Invalid step "j"
runbook "r" {}

step "test_job" "j" {
  qos  = "normal"
  time = "five minutes"
}
