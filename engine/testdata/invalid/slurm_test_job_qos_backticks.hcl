# want: 6: Invalid step "j"
# detail: shell metacharacters
runbook "r" {}

step "test_job" "j" {
  qos       = "`touch /tmp/pwned`"
  partition = "viz"
}
