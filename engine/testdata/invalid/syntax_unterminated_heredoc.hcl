# want: 9: Unterminated template string
runbook "r" {}

step "command" "a" {
  command = <<-SH
    echo one
    echo two
}
