# want: 2: Invalid value for variable
limits = ["MaxWall", "1:00:00"]
