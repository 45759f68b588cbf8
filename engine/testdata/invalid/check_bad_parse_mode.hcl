# want: 7: Invalid step "a"
# detail: "yaml"
runbook "r" {}

step "check" "a" {
  command = "cat /etc/os-release"
  parse   = "yaml"
}
