# want: 2: Unclosed configuration block
host "ctl1" {
  address = "127.0.0.1"
  port    = 22
