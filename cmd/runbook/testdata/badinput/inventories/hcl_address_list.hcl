# want: 3: Invalid value
host "ctl1" {
  address = ["a", "b"]
}
