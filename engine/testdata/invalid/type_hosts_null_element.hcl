# want: 3: Invalid hosts
runbook "r" {
  hosts = ["login01", null]
}
