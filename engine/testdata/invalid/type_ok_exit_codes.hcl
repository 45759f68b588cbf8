# want: 6: Incorrect attribute value type
runbook "r" {}

step "check" "a" {
  command       = "true"
  ok_exit_codes = "zero"
}
