# want: 2: Unclosed configuration block
runbook "r" {
  title = "unclosed"

step "check" "a" {
  command = "true"
}
