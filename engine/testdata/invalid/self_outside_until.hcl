# want: 5: Invalid reference to self
runbook "r" {}

step "command" "a" {
  command = "echo ${self.stdout}"
}
