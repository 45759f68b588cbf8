# want: 6: Reference to undeclared step
runbook "r" {}

step "check" "a" {
  command    = "true"
  depends_on = [step.nowhere]
}
