# want: 7: Invalid delay in step "a"
runbook "r" {}

step "command" "a" {
  command = "true"
  retries = 3
  delay   = "-5s"
}
