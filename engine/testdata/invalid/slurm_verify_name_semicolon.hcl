# want: 7: Invalid step "q"
# detail: shell metacharacters
runbook "r" {}

step "verify" "q" {
  entity = "qos"
  name   = "moon;touch /tmp/pwned"
  expect = { Priority = 10 }
}
