# want: 2: Argument or block definition required
{"qos_name": "moonlight"}
