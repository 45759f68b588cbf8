# want: 3: Invalid value for variable
# detail: whole number
max_gpus = 1.5
