# want: 5: Unterminated tuple constructor expression
runbook "r" {}

step "check" "a" {
  argv = ["echo", "a"
