# want: 6: Invalid retries in step "a"
runbook "r" {}

step "command" "a" {
  command = "true"
  retries = "x"
}
