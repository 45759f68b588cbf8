# want: 5: Step refers to itself
runbook "r" {}

step "check" "a" {
  command = "echo ${step.a.stdout}"
}
