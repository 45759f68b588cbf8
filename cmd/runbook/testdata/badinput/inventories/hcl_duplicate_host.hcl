# want: 6: Duplicate host
host "ctl1" {
  address = "127.0.0.1"
}

host "ctl1" {
  address = "127.0.0.1"
}
