# want: 10: Reference to undeclared step
# detail: Did you mean "kernel"?
runbook "r" {}

step "check" "kernel" {
  argv = ["uname", "-r"]
}

step "check" "b" {
  command = "echo ${step.kernal.stdout}"
}
