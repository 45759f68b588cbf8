# want: 6: Invalid timeout in step "a"
runbook "r" {}

step "command" "a" {
  command = "true"
  timeout = "forever"
}
