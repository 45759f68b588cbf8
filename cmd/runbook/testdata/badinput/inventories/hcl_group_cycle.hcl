# want: 6: Group cycle
host "ctl1" {
  address = "127.0.0.1"
}

group "a" {
  children = ["b"]
}

group "b" {
  children = ["a"]
}
