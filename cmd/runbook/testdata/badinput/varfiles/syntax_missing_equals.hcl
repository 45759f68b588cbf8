# want: 2: Invalid block definition
qos_name "moonlight"
