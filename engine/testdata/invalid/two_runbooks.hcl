# want: 4: Duplicate runbook block
runbook "one" {}

runbook "two" {}
