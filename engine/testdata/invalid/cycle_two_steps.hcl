# want: 5: Dependency cycle between steps
# detail: step.a, step.b
runbook "r" {}

step "check" "a" {
  command = "echo ${step.b.stdout}"
}

step "check" "b" {
  command = "echo ${step.a.stdout}"
}
