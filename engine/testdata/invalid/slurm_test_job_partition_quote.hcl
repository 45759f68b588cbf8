# want: 7: Invalid step "j"
# detail: no quotes
runbook "r" {}

step "test_job" "j" {
  qos       = "normal"
  partition = "viz' --wrap='id"
}
