# want: 7: Invalid step "qos"
# detail: sacctmgr changes need -i
runbook "r" {}

step "command" "qos" {
  become = true
  argv   = ["/usr/bin/sacctmgr", "add", "qos", "moonlight"]
}
