# want: 3: Attribute redefined
qos_name = "moonlight"
qos_name = "sunshine"
