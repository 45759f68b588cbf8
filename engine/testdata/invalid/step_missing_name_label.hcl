# want: 4: Missing name for step
runbook "r" {}

step "check" {
  command = "true"
}
