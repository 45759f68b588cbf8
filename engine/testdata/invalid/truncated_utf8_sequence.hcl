# want: 5: Invalid character encoding
runbook "r" {}

step "check" "a" {
  command = "echo ê²