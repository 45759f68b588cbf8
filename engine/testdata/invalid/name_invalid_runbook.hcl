# want: 2: Invalid runbook name
runbook "phase 2" {}
