# want: vars.hcl:65: Invalid step "limits"
# detail: MaxWall
max_wall = "8 hours"
