# want: 3: Invalid local
host "ctl1" {
  local = "yes"
}
