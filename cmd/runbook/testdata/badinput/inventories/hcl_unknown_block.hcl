# want: 2: Unsupported block type
hosts "ctl1" {
  address = "127.0.0.1"
}
