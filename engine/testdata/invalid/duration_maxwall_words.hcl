# want: 8: Invalid step "q"
# detail: MaxWall
runbook "r" {}

step "modify" "q" {
  entity = "qos"
  name   = "moonlight"
  set    = { MaxWall = "8 hours" }
}
