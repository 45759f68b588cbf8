# want: 7: Invalid step "a"
# detail: set command or argv, not both
runbook "r" {}

step "check" "a" {
  command = "uname -r"
  argv    = ["uname", "-r"]
}
