# want: 4: Missing required argument
runbook "r" {}

step "assert" "a" {
  error_message = "no condition"
}
