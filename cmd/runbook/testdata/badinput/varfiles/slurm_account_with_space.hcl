# want: vars.hcl:70: Invalid step "grant"
# detail: no white space
account = "hpc users"
