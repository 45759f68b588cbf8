# want: 7: Invalid delay in step "a"
runbook "r" {}

step "check" "a" {
  command = "true"
  retries = 2
  delay   = "1 second"
}
