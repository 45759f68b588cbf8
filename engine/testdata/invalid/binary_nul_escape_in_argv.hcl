# want: 6: Invalid step "a"
# detail: NUL byte
runbook "r" {}

step "command" "a" {
  argv = ["echo", "a\u0000b"]
}
