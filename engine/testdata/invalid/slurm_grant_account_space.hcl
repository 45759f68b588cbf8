# want: 6: Invalid step "g"
# detail: no white space
runbook "r" {}

step "grant" "g" {
  account = "hpc users"
  qos     = "moonlight"
}
