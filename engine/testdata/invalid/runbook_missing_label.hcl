# want: 2: Missing name for runbook
runbook {
  title = "no name"
}
