# want: vars.hcl:65: Invalid step "limits"
# detail: GPU-memory
limits = { MaxTRESPerJob = "gpu_mem=1" }
