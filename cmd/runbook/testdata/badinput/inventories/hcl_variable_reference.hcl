# want: 4: Variables not allowed
host "ctl1" {
  address = "127.0.0.1"
  user = var.user
}
