# want: 7: Unterminated template string
runbook "r" {
  title = "truncated file"
}

step "check" "a" {
  command = "echo hel
