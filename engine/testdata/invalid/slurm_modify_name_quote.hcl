# want: 7: Invalid step "q"
# detail: no quotes
runbook "r" {}

step "modify" "q" {
  entity = "qos"
  name   = "moon\"light"
  set    = { Priority = 10 }
}
