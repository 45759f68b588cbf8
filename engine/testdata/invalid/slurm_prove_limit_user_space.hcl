# want: 6: Invalid step "p"
# detail: no white space
runbook "r" {}

step "prove_limit" "p" {
  user          = "koo park"
  qos           = "moonlight"
  partition     = "viz"
  jobs          = 3
  expect_reason = "QOSMaxGRESPerUser"
}
