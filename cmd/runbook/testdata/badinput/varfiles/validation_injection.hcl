# want: 3: Invalid value for variable
# a shell payload in a validated variable
qos_name = "moonlight; touch /tmp/pwned"
