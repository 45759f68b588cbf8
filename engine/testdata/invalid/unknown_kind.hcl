# want: 5: Unknown step kind "chek"
# detail: Did you mean "check"?
runbook "r" {}

step "chek" "a" {
  command = "true"
}
