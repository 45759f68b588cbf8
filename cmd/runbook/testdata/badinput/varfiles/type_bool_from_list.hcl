# want: 2: Invalid value for variable
become = [true]
