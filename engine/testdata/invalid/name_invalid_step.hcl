# want: 4: Invalid step name
runbook "r" {}

step "check" "9lives" {
  command = "true"
}
