# want: 6: Invalid timeout in step "a"
runbook "r" {}

step "check" "a" {
  command = "true"
  timeout = "5 minutes"
}
