# want: 12: Cycle in group children
# detail: a -> b -> a
host "ctl1" {
  address = "127.0.0.1"
}

group "a" {
  children = ["b"]
}

group "b" {
  children = ["a"]
}
