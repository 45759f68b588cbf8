# want: 6: Invalid step "p"
# detail: no white space
runbook "r" {}

step "preflight" "p" {
  partition = "viz gpu"
}
