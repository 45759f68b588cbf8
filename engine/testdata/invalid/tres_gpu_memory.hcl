# want: 8: Invalid step "q"
# detail: GPU-memory
runbook "r" {}

step "modify" "q" {
  entity = "qos"
  name   = "moonlight"
  set    = { MaxTRESPerUser = "gpu_mem=1" }
}
