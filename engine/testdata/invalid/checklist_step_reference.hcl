# want: 10: Invalid checklist in step "b"
runbook "r" {}

step "check" "kernel" {
  argv = ["uname", "-r"]
}

step "check" "b" {
  command   = "true"
  checklist = "Kernel is ${step.kernel.stdout}"
}
