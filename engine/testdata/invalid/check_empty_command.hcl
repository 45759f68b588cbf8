# want: 5: Invalid step "a"
runbook "r" {}

step "check" "a" {
  command = "   "
}
