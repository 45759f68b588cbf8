# want: 6: Invalid title in step "a"
runbook "r" {}

step "check" "a" {
  command = "true"
  title   = ["not", "a", "string"]
}
