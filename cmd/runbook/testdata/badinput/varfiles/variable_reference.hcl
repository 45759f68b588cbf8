# want: 2: Variables not allowed
qos_name = var.account
