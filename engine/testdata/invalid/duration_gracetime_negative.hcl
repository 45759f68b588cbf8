# want: 8: Invalid step "q"
# detail: GraceTime
runbook "r" {}

step "modify" "q" {
  entity = "qos"
  name   = "moonlight"
  set    = { GraceTime = "-5" }
}
