# want: 4: Invalid port
host "ctl1" {
  address = "127.0.0.1"
  port = 22.5
}
