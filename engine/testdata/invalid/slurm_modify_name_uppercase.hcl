# want: 7: Invalid step "q"
# detail: lower case
runbook "r" {}

step "modify" "q" {
  entity = "qos"
  name   = "MoonLight"
  set    = { Priority = 10 }
}
