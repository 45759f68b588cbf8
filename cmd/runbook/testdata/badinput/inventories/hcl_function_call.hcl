# want: 4: Function calls not allowed
host "ctl1" {
  address = "127.0.0.1"
  user = file("/etc/shadow")
}
