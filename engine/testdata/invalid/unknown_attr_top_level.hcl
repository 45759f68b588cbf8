# want: 4: Unsupported argument
runbook "r" {}

hosts = "all"
