# want: 6: Invalid when in step "a"
runbook "r" {}

step "command" "a" {
  command = "true"
  when    = "sometimes"
}
