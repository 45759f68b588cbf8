# want: 7: Invalid step "p"
# detail: TYPE=COUNT
runbook "r" {}

step "preflight" "p" {
  partition = "viz"
  limits    = { MaxTRESPerUser = "gres/gpu:2" }
}
