# want: 7: Invalid step "q"
runbook "r" {}

step "verify" "q" {
  entity = "qos"
  name   = "moonlight"
  expect = { MaxTRESPerUser = "gres/gpu=two" }
}
