# want: 7: Invalid step "a"
# detail: shell metacharacters
runbook "r" {}

step "create" "a" {
  entity = "account"
  name   = "hpc;touch /tmp/pwned"
}
