# want: 7: Invalid step "s"
# detail: no quotes
runbook "r" {}

step "sacct_check" "s" {
  job_id = "12"
  qos    = "moon'light"
}
