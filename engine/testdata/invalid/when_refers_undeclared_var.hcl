# want: 6: Reference to undeclared variable
runbook "r" {}

step "command" "a" {
  command = "true"
  when    = var.enabled
}
