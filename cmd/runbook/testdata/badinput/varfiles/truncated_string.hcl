# want: 2: Unterminated template string
qos_name = "moonl