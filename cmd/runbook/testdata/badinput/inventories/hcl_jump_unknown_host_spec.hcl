# want: 2: Invalid jump
host "a" {
  address = "10.0.0.1"
  jump    = ["bad host:99999"]
}
