# want: 6: Invalid step "qos"
# detail: sacctmgr changes need -i
runbook "r" {}

step "command" "qos" {
  command = "sacctmgr modify qos normal set priority=10"
}
