# want: 2: Missing name for host
host {
  address = "127.0.0.1"
}
