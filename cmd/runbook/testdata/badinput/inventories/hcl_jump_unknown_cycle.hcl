# want: 2: Invalid jump
host "a" {
  address = "10.0.0.1"
  jump    = ["b"]
}

host "b" {
  address = "10.0.0.2"
  jump    = ["a"]
}
