# want: 6: Invalid step "p"
# detail: no ','
runbook "r" {}

step "prove_limit" "p" {
  qos           = "moonlight,normal"
  partition     = "viz"
  jobs          = 3
  expect_reason = "QOSMaxGRESPerUser"
}
