# want: 2: Reserved name
host "all" {
  address = "127.0.0.1"
}
