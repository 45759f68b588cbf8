# want: 6: Unsupported argument
runbook "r" {}

step "check" "a" {
  command = "true"
  comand  = "typo"
}
