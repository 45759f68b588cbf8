# want: 4: Invalid step "a"
runbook "r" {}

step "check" "a" {
  title = "forgot the command"
}
