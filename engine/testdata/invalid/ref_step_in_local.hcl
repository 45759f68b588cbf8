# want: 5: Invalid reference
runbook "r" {}

locals {
  out = step.a.stdout
}

step "check" "a" {
  command = "true"
}
