# want: 5: Missing expression
runbook "r" {}

step "check" "a" {
  command =