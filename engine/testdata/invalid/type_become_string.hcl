# want: 6: Invalid become in step "a"
runbook "r" {}

step "command" "a" {
  command = "true"
  become  = "yes please"
}
