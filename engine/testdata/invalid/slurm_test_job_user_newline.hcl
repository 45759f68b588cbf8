# want: 6: Invalid step "j"
# detail: no newlines
runbook "r" {}

step "test_job" "j" {
  user = "koopark\ntouch /tmp/pwned"
  qos  = "normal"
}
