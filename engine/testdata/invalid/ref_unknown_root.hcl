# want: 5: Unknown reference
runbook "r" {}

step "check" "a" {
  command = "echo ${env.HOME}"
}
