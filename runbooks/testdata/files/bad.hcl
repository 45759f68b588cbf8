# e2e: each step has one mistake that validate reports with its line.
runbook "files_bad" {
  title = "Bad file steps"
}

step "copy" "relative" {
  dest    = "etc/motd"
  content = "x"
}

step "file" "state" {
  path  = "/tmp/x"
  state = "folder"
}

step "copy" "mode" {
  dest    = "/tmp/x"
  content = "x"
  mode    = 644
}

step "line" "regexp" {
  path   = "/tmp/x"
  line   = "x"
  regexp = "a(b"
}
