# want: 3: Invalid hosts
runbook "r" {
  hosts = 5
}
