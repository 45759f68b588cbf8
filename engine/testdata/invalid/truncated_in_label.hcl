# want: 4: Unterminated string literal
runbook "r" {}

step "check" "a