# Tuning the Moonlight QoS: the guide's "Tuning (when needed)" section as a
# change to the QoS Phase 2 made. It changes two fields and nothing else:
# no QoS is created, no account granted, no test job submitted.
#
#   runbook checklist runbooks/tuning.hcl
#   runbook plan      runbooks/tuning.hcl -i inventory.hcl   # MaxJobsPerUser: (unset) → 2, Priority: 100 → 50
#   runbook apply     runbooks/tuning.hcl -i inventory.hcl
#
# Re-running phase2.hcl afterwards with its defaults would set Priority
# back to 100 (phase2 owns the QoS's fields): give it the tuned values
# (--var priority=50 --var max_jobs_per_user=2) to keep them.
#
# Where the guide is wrong for Slurm 22.05 (marked "GUIDE:"):
#   - Tuning 3, the "GPU memory limit" MaxTRESPerJob=gres/gpu:20000, is
#     refused: Slurm has no GPU-memory TRES (same explanation as phase2.hcl).
#   - Every sacctmgr change runs with -i and is read back (modify kind).

runbook "tuning" {
  title       = "Tuning the Moonlight QoS"
  description = "Limit running jobs per user and lower the QoS priority below VNC, on the QoS Phase 2 created."
  hosts       = "slurm_controller"
}

# ---------------------------------------------------------------- variables

variable "qos_name" {
  type        = string
  default     = "moonlight"
  description = "The QoS to tune; Phase 2 (phase2.hcl) must have created it."
  validation {
    condition     = can(regex("^[a-z][a-z0-9_.-]{0,63}$", var.qos_name))
    error_message = "qos_name must be lower-case letters, digits, '.', '_' or '-', starting with a letter (Slurm keeps QoS names in lower case)."
  }
}

variable "max_jobs_per_user" {
  type        = number
  default     = 2
  description = "Guide's tuning 1: jobs one user may run at once under the QoS (MaxJobsPerUser). -1 clears the limit."
  validation {
    condition     = var.max_jobs_per_user == -1 || (var.max_jobs_per_user >= 1 && floor(var.max_jobs_per_user) == var.max_jobs_per_user)
    error_message = "max_jobs_per_user must be a whole number, 1 or more (or -1 to clear the limit)."
  }
}

variable "priority" {
  type        = number
  default     = 50
  description = "Guide's tuning 2: the QoS Priority, e.g. 50 to rank Moonlight below VNC."
  validation {
    condition     = var.priority >= 0 && floor(var.priority) == var.priority
    error_message = "priority must be a whole number, 0 or more."
  }
}

# GUIDE: tuning 3. Kept only to refuse it, with phase2.hcl's explanation.
variable "gpu_memory_limit" {
  type        = string
  default     = null
  description = "Not supported: the guide's 'GPU memory limit' (MaxTRESPerJob=gres/gpu:20000)."
  validation {
    condition     = var.gpu_memory_limit == null
    error_message = "Slurm 22.05 has no GPU-memory TRES: 'gres/gpu:20000' is rejected (no TRES id found), 'gres/gpumem' does not exist, and 'gres/gpu=20000' would mean 20000 GPUs per job. Limit GPUs with max_gpus_per_user instead, or enforce memory per GPU with --mem-per-gpu in job submission policy."
  }
}

variable "become" {
  type        = bool
  default     = true
  description = "Run the sacctmgr change through sudo (the guide: 'sudo sacctmgr'). false when the login user is a Slurm Administrator."
}

locals {
  tuned = {
    MaxJobsPerUser = var.max_jobs_per_user
    Priority       = var.priority
  }
}

# ------------------------------------------------------------------- steps

# Tuning changes an existing QoS. Without it, stop here, before any
# change, and say what to do (modify's own "does not exist" would suggest
# a create step, which this runbook deliberately has not).
step "check" "qos_present" {
  title = "Read the ${var.qos_name} QoS"
  argv  = ["sacctmgr", "-n", "-P", "show", "qos", var.qos_name, "format=Name"]
}

step "assert" "phase2_done" {
  title         = "The ${var.qos_name} QoS exists (Phase 2 ran)"
  condition     = contains(step.qos_present.lines, var.qos_name)
  error_message = "qos ${var.qos_name} does not exist on this cluster: run Phase 2 first (runbook apply runbooks/phase2.hcl -i INVENTORY --var account=ACCOUNT), then tuning. Tuning changes an existing QoS and creates none."
}

# Guide tuning 1 and 2: one sacctmgr call with only the fields that differ.
step "modify" "tuning" {
  title = "Set MaxJobsPerUser and Priority"
  checklist = {
    en = [
      "at most ${var.max_jobs_per_user} running jobs per user (`sudo sacctmgr modify qos ${var.qos_name} set MaxJobsPerUser=${var.max_jobs_per_user}`)",
      "priority ${var.priority} (`sudo sacctmgr modify qos ${var.qos_name} set Priority=${var.priority}`)",
    ]
    ko = [
      "사용자당 최대 동시 실행 Job 수 제한 (sudo sacctmgr modify qos ${var.qos_name} set MaxJobsPerUser=${var.max_jobs_per_user})",
      "VNC보다 우선순위 낮추기 (sudo sacctmgr modify qos ${var.qos_name} set Priority=${var.priority})",
    ]
  }
  entity     = "qos"
  name       = var.qos_name
  set        = local.tuned
  become     = var.become
  depends_on = [step.phase2_done]
}

# The guide's two `sacctmgr show qos … format=Name,MaxJobsPerUser|Priority`.
step "verify" "tuned" {
  title = "Read the tuned fields back"
  checklist = {
    en = "run `sacctmgr show qos ${var.qos_name} format=Name,MaxJobsPerUser,Priority` to confirm"
    ko = "확인: sacctmgr show qos ${var.qos_name} format=Name,MaxJobsPerUser,Priority"
  }
  entity     = "qos"
  name       = var.qos_name
  expect     = local.tuned
  depends_on = [step.tuning]
}
