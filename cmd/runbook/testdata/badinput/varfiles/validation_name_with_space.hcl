# want: 3: Invalid value for variable
# detail: lower-case letters
qos_name = "moon light"
