# want: 4: Unsupported argument
host "ctl1" {
  address = "127.0.0.1"
  identity_files = "~/.ssh/id_ed25519"
}
