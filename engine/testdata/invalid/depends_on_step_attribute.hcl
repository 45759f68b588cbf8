# want: 10: Invalid depends_on entry
runbook "r" {}

step "check" "a" {
  command = "true"
}

step "check" "b" {
  command    = "true"
  depends_on = [step.a.stdout]
}
