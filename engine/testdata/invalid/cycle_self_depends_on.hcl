# want: 5: Dependency cycle between steps
# detail: step.a.
runbook "r" {}

step "check" "a" {
  command    = "true"
  depends_on = [step.a]
}
