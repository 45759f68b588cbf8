# want: 6: Invalid checklist in step "a"
runbook "r" {}

step "check" "a" {
  command   = "true"
  checklist = { en = [["nested"]] }
}
