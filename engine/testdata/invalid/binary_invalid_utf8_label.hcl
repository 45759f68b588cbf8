# want: 4: Invalid character encoding
runbook "r" {}

step "check" "aÿþ" {
  command = "true"
}
