# want: 1: Missing runbook block
step "check" "a" {
  command = "true"
}
