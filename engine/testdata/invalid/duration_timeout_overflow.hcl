# want: 6: Invalid timeout in step "a"
runbook "r" {}

step "check" "a" {
  command = "true"
  timeout = "99999999999h"
}
