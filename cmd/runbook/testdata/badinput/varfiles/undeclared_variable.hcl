# want: 3: Value for undeclared variable
# detail: Did you mean "qos_name"?
qos_nmae = "moonlight"
