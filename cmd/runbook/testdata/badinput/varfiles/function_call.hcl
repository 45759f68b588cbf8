# want: 2: Function calls not allowed
qos_name = file("/etc/shadow")
