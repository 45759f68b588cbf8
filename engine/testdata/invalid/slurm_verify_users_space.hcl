# want: 8: Invalid step "a"
# detail: no white space
runbook "r" {}

step "verify" "a" {
  entity       = "association"
  account      = "hpc-users"
  users        = ["koopark", "bad user"]
  qos_includes = ["moonlight"]
}
