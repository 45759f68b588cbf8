# want: 6: Call to unknown function
# detail: Did you mean "shellquote"?
runbook "r" {}

step "check" "a" {
  command = "echo ${shellqoute("x")}"
}
