# want: 2: Empty name
host "" {
  address = "127.0.0.1"
}
