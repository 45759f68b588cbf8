# want: 4: Unterminated template string
qos_name = <<EOT
moonlight
