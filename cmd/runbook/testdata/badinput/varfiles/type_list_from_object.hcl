# want: 2: Invalid value for variable
users = { name = "koopark" }
