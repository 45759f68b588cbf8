# Phase 2 of the Moonlight/Sunshine bring-up: a dedicated Slurm QoS on the
# shared `viz` partition, proven with a GPU test job and an accounting check.
#
# This is the hand-run guide "Slurm QoS setup guide – Moonlight/Sunshine"
# (phase2-qos-guide) as a runbook. Steps keep the guide's order and each one
# carries the guide's checklist line, so `runbook apply` ticks the guide's
# completion checklist only on evidence gathered in that run.
#
#   runbook checklist runbooks/phase2.hcl            # the blank checklist
#   runbook plan      runbooks/phase2.hcl -i inventory.hcl
#   runbook apply     runbooks/phase2.hcl -i inventory.hcl --var account=hpc-users
#
# Where the guide is wrong for Slurm 22.05, this runbook differs on purpose
# (each place is marked "GUIDE:"):
#   - MaxTRESPerUser=gpu=2 is rejected ("no TRES known by type gpu"): it is gres/gpu=2.
#   - sacct's AllocGRES column is gone: AllocTRES is used.
#   - "sacctmgr show user" shows no Account/QOS without "withassoc".
#   - Slurm has no GPU-memory TRES; the guide's "GPU memory limit" is refused.
#   - "By default every user may use it" (step 5) holds only without
#     AccountingStorageEnforce=qos; with it (the guide's limits need it) the
#     test job is refused ("Invalid qos specification") until the QoS is
#     granted: set account = "hpc-users". The preflight checks this first,
#     so a run without it fails before changing anything.
#   - Every sacctmgr change runs with -i: without it, and with nobody to
#     answer "(N/y)", sacctmgr discards the change or loops forever.

runbook "phase2" {
  title       = "Phase 2: Slurm QoS for Moonlight/Sunshine"
  description = "Create the moonlight QoS on the viz partition, set its limits, prove it with a GPU test job and confirm the usage in accounting."
  hosts       = "slurm_controller"
}

# ---------------------------------------------------------------- variables

variable "qos_name" {
  type        = string
  default     = "moonlight"
  description = "Name of the QoS to create."
  validation {
    # Slurm stores QoS names in lower case; quotes, spaces, commas or = would
    # break the sacctmgr command line.
    condition     = can(regex("^[a-z][a-z0-9_.-]{0,63}$", var.qos_name))
    error_message = "qos_name must be lower-case letters, digits, '.', '_' or '-', starting with a letter (Slurm keeps QoS names in lower case)."
  }
}

variable "partition" {
  type        = string
  default     = "viz"
  description = "The shared partition Moonlight jobs run in."
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.partition))
    error_message = "partition must be letters, digits, '.', '_' or '-'."
  }
}

variable "grace_time" {
  type        = string
  default     = "60"
  description = "GraceTime: seconds between SIGTERM and SIGKILL when a job is cancelled or preempted (60 = 00:01:00)."
}

variable "max_wall" {
  type        = string
  default     = "8:00:00"
  description = "MaxWall: longest run time of one job ([D-]HH:MM:SS)."
}

variable "max_gpus_per_user" {
  type        = number
  default     = 2
  description = "GPUs one user may hold at once under this QoS (MaxTRESPerUser=gres/gpu=N)."
  validation {
    condition     = var.max_gpus_per_user >= 1 && floor(var.max_gpus_per_user) == var.max_gpus_per_user
    error_message = "max_gpus_per_user must be a whole number, 1 or more."
  }
}

variable "priority" {
  type        = number
  default     = 100
  description = "QoS Priority. The guide's tuning section lowers it (e.g. 50) to rank Moonlight below VNC."
  validation {
    condition     = var.priority >= 0 && floor(var.priority) == var.priority
    error_message = "priority must be a whole number, 0 or more."
  }
}

variable "max_jobs_per_user" {
  type        = number
  default     = null
  description = "Optional (guide's tuning 1): running jobs per user (MaxJobsPerUser). Unset leaves it alone."
}

variable "gpu_memory_limit" {
  type        = string
  default     = null
  description = "Not supported: the guide's 'GPU memory limit' (MaxTRESPerJob=gres/gpu:20000)."
  validation {
    condition     = var.gpu_memory_limit == null
    error_message = "Slurm 22.05 has no GPU-memory TRES: 'gres/gpu:20000' is rejected (no TRES id found), 'gres/gpumem' does not exist, and 'gres/gpu=20000' would mean 20000 GPUs per job. Limit GPUs with max_gpus_per_user instead, or enforce memory per GPU with --mem-per-gpu in job submission policy."
  }
}

variable "account" {
  type        = string
  default     = ""
  description = "Optional (guide step 5): grant the QoS to every user of this account (qos+=). Empty: no grant, every association keeps its QoS list."
  validation {
    condition     = var.account == "" || can(regex("^[a-z0-9][a-z0-9_.-]{0,63}$", var.account))
    error_message = "account must be a Slurm account name: lower-case letters, digits, '.', '_' or '-'."
  }
}

variable "job_user" {
  type        = string
  default     = ""
  description = "User who submits the test job. Empty: the user runbook logs in as (the guide: koopark)."
  validation {
    # It is the sudo -u user of the submission and the preflight's checks.
    condition     = var.job_user == "" || can(regex("^[a-z_][a-z0-9_.-]{0,31}$", var.job_user))
    error_message = "job_user must be a login name: lower-case letters, digits, '.', '_' or '-', starting with a letter or '_' (or empty: the user runbook logs in as)."
  }
}

# job_gres and job_time are written into the test job's batch script
# (#SBATCH lines, which bash runs): anything beyond the shapes below, such
# as a newline, would become a command the job runs.
variable "job_gres" {
  type        = string
  default     = "gpu:1"
  description = "GRES the test job asks for (sbatch --gres): gpu:N or gpu:TYPE:N."
  validation {
    condition     = can(regex("^gpu(:[A-Za-z0-9_.-]{1,64})?:[1-9][0-9]{0,3}$", var.job_gres))
    error_message = "job_gres must look like gpu:N or gpu:TYPE:N (e.g. gpu:1, gpu:a100:2): a GPU count of 1 or more, with an optional GPU type of letters, digits, '.', '_' or '-'."
  }
}

variable "job_time" {
  type        = string
  default     = "00:05:00"
  description = "Time limit of the test job (sbatch --time): MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS."
  validation {
    condition     = can(regex("^([0-9]{1,6}(:[0-9]{1,2}){0,2}|[0-9]{1,4}-[0-9]{1,2}(:[0-9]{1,2}){0,2})$", var.job_time))
    error_message = "job_time must be a Slurm time limit: minutes (5), MM:SS, HH:MM:SS (00:05:00), D-HH, D-HH:MM or D-HH:MM:SS (1-00:00:00)."
  }
}

variable "prove_limits" {
  type        = bool
  default     = false
  description = "Beyond the guide: submit one gpu:1 job more than max_gpus_per_user allows and prove the extra one pends with QOSMaxGRESPerUser, then cancel them."
}

variable "become" {
  type        = bool
  default     = true
  description = "Run sacctmgr changes through sudo (the guide: 'needs sudo'). false when the login user is a Slurm Administrator."
}

locals {
  # The QoS as the guide specifies it. Keys are sacctmgr's own field names.
  qos_limits = {
    GraceTime = var.grace_time
    MaxWall   = var.max_wall
    # GUIDE: the guide writes MaxTRESPerUser=gpu=2; Slurm wants gres/gpu=2.
    MaxTRESPerUser = "gres/gpu=${var.max_gpus_per_user}"
    Priority       = var.priority
    MaxJobsPerUser = var.max_jobs_per_user
  }
  # Relative: in the new private directory the test job runs in.
  job_output = "test-moonlight-qos-%j.out"
}

# ------------------------------------------------------------------- steps

step "preflight" "cluster" {
  title     = "Check that Slurm will enforce the QoS"
  partition = var.partition
  qos       = var.qos_name
  limits    = local.qos_limits
  # With AccountingStorageEnforce=qos, sbatch refuses the test job unless
  # its user's association lists the QoS. The preflight fails, before
  # anything changes, when the user lacks it and no grant step will run.
  job_user      = var.job_user # "" = the user runbook logs in as
  grant_account = var.account  # "" = the grant step does not run
  grant_hint    = "run with --var account=NAME (an account of the job user): step grant_qos then gives ${var.qos_name} to its users"
}

# Guide step 1.
step "check" "qos_list" {
  title = "List the current QoS"
  checklist = {
    en = "run `sacctmgr show qos` to check the current QoS list"
    ko = "sacctmgr show qos로 현재 QoS 목록 확인"
  }
  # -P: the guide's fixed-width output truncates long values with '+'.
  argv       = ["sacctmgr", "-P", "show", "qos", "format=Name,Priority,MaxWall,MaxTRESPerUser"]
  parse      = "parsable"
  depends_on = [step.cluster]
}

# Guide step 2.
step "create" "qos" {
  title = "Create the ${var.qos_name} QoS"
  checklist = {
    en = "run `sudo sacctmgr add qos ${var.qos_name}`"
    ko = "sudo sacctmgr add qos ${var.qos_name} 실행"
  }
  entity     = "qos"
  name       = var.qos_name
  become     = var.become
  depends_on = [step.qos_list]
}

# Guide step 3.
step "modify" "qos_limits" {
  title = "Set GraceTime, MaxWall, MaxTRESPerUser and Priority"
  checklist = {
    en = "set the QoS parameters (GraceTime, MaxWall, MaxTRESPerUser)"
    ko = "QoS 파라미터 설정 (GraceTime, MaxWall, MaxTRESPerUser)"
  }
  entity = "qos"
  name   = step.qos.name
  set    = local.qos_limits
  become = var.become
}

# Guide step 4.
step "verify" "qos_settings" {
  title = "Read the QoS back and compare"
  checklist = {
    en = "run `sacctmgr show qos ${var.qos_name}` to confirm the settings"
    ko = "sacctmgr show qos ${var.qos_name}로 설정 확인"
  }
  entity     = "qos"
  name       = step.qos.name
  expect     = local.qos_limits
  depends_on = [step.qos_limits]
}

# Guide step 5 (optional): only with --var account=NAME.
step "grant" "grant_qos" {
  title      = "Grant ${var.qos_name} to the users of account ${var.account}"
  when       = var.account != ""
  account    = var.account
  qos        = step.qos.name
  become     = var.become
  depends_on = [step.qos_settings]
}

step "verify" "check_grant" {
  title = "Confirm the account's users may use ${var.qos_name}"
  when  = var.account != ""
  # GUIDE: `sacctmgr show user format=User,Account,QOS` prints blank columns
  # without withassoc; associations are read with `show assoc -P`.
  entity       = "association"
  account      = var.account
  qos_includes = [step.qos.name]
  depends_on   = [step.grant_qos]
}

# Testing the QoS: the guide's test job, submitted as the job user.
step "test_job" "gpu_test" {
  title = "Submit the test job and wait for it"
  checklist = {
    en = [
      "submit the test job (`sbatch /tmp/test_moonlight_qos.sh`)",
      "confirm the job's QoS (`scontrol show job <JOBID> | grep QOS`)",
      "check the job log (it prints QoS=${var.qos_name})",
    ]
    ko = [
      "테스트 작업 제출 (sbatch /tmp/test_moonlight_qos.sh)",
      "작업 QoS 확인 (scontrol show job <JOBID> | grep QOS)",
      "작업 로그 확인 (QoS=${var.qos_name} 출력)",
    ]
  }
  script_path = "/tmp/test_moonlight_qos.sh"
  script = templatefile("phase2/test_moonlight_qos.sh.tftpl", {
    qos       = var.qos_name
    partition = var.partition
    gres      = var.job_gres
    time      = var.job_time
    output    = local.job_output
    # The testbed's GPUs are fake; its inventory sets has_nvidia_smi = false.
    nvidia_smi = try(host.vars.has_nvidia_smi, true)
  })
  user          = var.job_user
  qos           = var.qos_name
  partition     = var.partition
  expect_output = ["QoS: ${var.qos_name}", "Test completed successfully!"]
  timeout       = "10m"
  depends_on    = [step.qos_settings, step.check_grant]
}

# Monitoring: the job must show up in the per-QoS accounting statistics.
step "sacct_check" "accounting" {
  title = "Confirm the job in accounting"
  checklist = {
    en = "run `sacct --qos=${var.qos_name}` to check the statistics"
    ko = "sacct --qos=${var.qos_name}로 통계 확인"
  }
  # GUIDE: AllocGRES was removed from sacct; AllocTRES holds gres/gpu=1.
  job_id              = step.gpu_test.job_id
  qos                 = var.qos_name
  user                = step.gpu_test.user
  expect              = { QOS = var.qos_name, Partition = var.partition, State = "COMPLETED" }
  alloc_tres_contains = { "gres/gpu" = 1 }
  timeout             = "60s"
}

# Beyond the guide: prove the per-user GPU cap is enforced.
step "prove_limit" "gpu_cap" {
  title = "Prove the per-user GPU cap (${var.max_gpus_per_user} GPUs)"
  when  = var.prove_limits
  checklist = var.prove_limits ? [
    "prove MaxTRESPerUser: job ${var.max_gpus_per_user + 1} of ${var.max_gpus_per_user + 1} gpu:1 jobs pends with QOSMaxGRESPerUser",
  ] : []
  user          = var.job_user
  qos           = var.qos_name
  partition     = var.partition
  jobs          = var.max_gpus_per_user + 1
  gres          = "gpu:1"
  expect_reason = "QOSMaxGRESPerUser"
  timeout       = "2m"
  depends_on    = [step.accounting]
}
