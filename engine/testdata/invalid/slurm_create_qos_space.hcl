# want: 7: Invalid step "q"
# detail: no white space
runbook "r" {}

step "create" "q" {
  entity = "qos"
  name   = "moon light"
}
