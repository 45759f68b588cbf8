# want: 3: Invalid value for variable
qos_name = "moonlight"
max_gpus = "two"
