# want: 7: Invalid step "g"
# detail: shell metacharacters
runbook "r" {}

step "grant" "g" {
  account = "hpc-users"
  qos     = "$${touch /tmp/pwned}$(id)"
}
