# e2e (issue 17): a read-only runbook that shows its answer as an output.

runbook "lang_outputs" {
  title = "Which QoS exist"
  hosts = "slurm_controller"
}

step "check" "qos_list" {
  argv  = ["sacctmgr", "-P", "show", "qos", "format=Name,Priority"]
  parse = "parsable"
}

output "qos_names" {
  description = "the QoS sacctmgr lists"
  value       = [for r in step.qos_list.rows : r.Name]
}
