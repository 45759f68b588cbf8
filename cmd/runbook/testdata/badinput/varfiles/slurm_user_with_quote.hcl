# want: vars.hcl:78: Invalid step "users"
# detail: no quotes
users = ["koopark", "o'brien"]
