# want: 2: Missing expression
qos_name =