# want: 6: Invalid step "s"
# detail: job id
runbook "r" {}

step "sacct_check" "s" {
  job_id = "12; touch /tmp/pwned"
}
