# want: 8: Duplicate step "a"
runbook "r" {}

step "check" "a" {
  command = "true"
}

step "command" "a" {
  command = "true"
}
