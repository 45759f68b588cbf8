# want: 5: Dependency cycle between steps
# detail: step.first, step.second, step.third
runbook "r" {}

step "check" "first" {
  command    = "true"
  depends_on = [step.third]
}

step "check" "second" {
  command = "echo ${step.first.stdout}"
}

step "check" "third" {
  command = "echo ${step.second.exit_code}"
}
