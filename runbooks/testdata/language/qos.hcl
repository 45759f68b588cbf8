# e2e (issue 17): three QoS from one map with for_each, on the testbed's
# controller as koopark (sudo for /usr/bin/sacctmgr only, NOPASSWD: the
# create and modify kinds run sacctmgr as argv through `sudo -n`).
# runbooks/language_e2e_test.go drives it; the QoS are named rbtl-KEY.

runbook "lang_qos" {
  title = "QoS from a map (for_each)"
  hosts = "slurm_controller"
}

variable "qos" {
  type = map(object({ priority = number, max_wall = string }))
  default = {
    a = { priority = 11, max_wall = "1:00:00" }
    b = { priority = 22, max_wall = "2:00:00" }
    c = { priority = 33, max_wall = "3:00:00" }
  }
}

step "create" "qos" {
  for_each  = var.qos
  entity    = "qos"
  name      = "rbtl-${each.key}"
  become    = true
  checklist = "QoS rbtl-${each.key} exists"
}

step "modify" "limits" {
  for_each  = var.qos
  entity    = "qos"
  name      = step.qos[each.key].name
  set       = { Priority = each.value.priority, MaxWall = each.value.max_wall }
  become    = true
  checklist = "QoS rbtl-${each.key} has Priority ${each.value.priority} and MaxWall ${each.value.max_wall}"
}
