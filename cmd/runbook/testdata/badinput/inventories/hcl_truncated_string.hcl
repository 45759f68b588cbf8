# want: 3: Unterminated template string
host "ctl1" {
  address = "127.0.