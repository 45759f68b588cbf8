# want: 8: Invalid step "q"
# detail: TYPE=COUNT
runbook "r" {}

step "modify" "q" {
  entity = "qos"
  name   = "moonlight"
  set    = { MaxTRESPerJob = "gres/gpu:20000" }
}
