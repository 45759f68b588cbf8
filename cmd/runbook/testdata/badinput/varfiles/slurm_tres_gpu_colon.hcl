# want: vars.hcl:65: Invalid step "limits"
# detail: TYPE=COUNT
max_tres = "gres/gpu:20000"
