# Troubleshooting the Moonlight QoS for one user: the guide's
# "Troubleshooting" section, and the traps runbook knows, as a read-only
# runbook. It changes nothing (only check and assert steps: sacctmgr show,
# scontrol show, squeue, sacct), so it is safe any time, also as `plan`.
#
#   runbook checklist runbooks/troubleshoot.hcl
#   runbook apply runbooks/troubleshoot.hcl -i inventory.hcl --keep-going --var user=koopark
#   runbook plan  runbooks/troubleshoot.hcl -i inventory.hcl --keep-going --var user=koopark --var job_id=42
#
# The answers are the outputs, printed after the run (and kept in
# report.json, hosts[].outputs): the QoS's limits, whether Slurm enforces
# them, the user's associations, each pending job with its Reason in words
# and what to do, the user's GPUs against the cap. Each names the command
# that read it. The reads all run first; the outputs read only them, so
# every answer is shown whatever the verdicts.
#
# The verdicts are the assert steps at the end, one per finding, each with
# its checklist line: exit 0 when every one holds, 1 when one fails, with
# the explanation and the fix as its error. Without --keep-going the first
# failing assert stops the ones after it (their lines stay unticked, "not
# run"); with it every line is decided. Run it with --keep-going.
#
# The guide's cases:
#   1. "You are not running with sufficient privileges" when creating the
#      QoS: a change, so not this runbook's (phase2.hcl makes every
#      sacctmgr change through sudo, become = true). This one needs no
#      privilege at all.
#   2. "Invalid qos specification": cause 1 is the assert qos_exists,
#      cause 2 the assert user_granted.
#   3. A job pending with QOSMaxGRESPerUser: the assert no_stuck_jobs,
#      naming the jobs that hold the user's GPUs and the scancel to run.
#
# Where the guide is wrong for Slurm 22.05 (marked "GUIDE:"):
#   - `sacctmgr show user format=User,QOS | grep $USER` prints a blank QOS
#     column without withassoc: the associations are read with
#     `sacctmgr -P show assoc where user=NAME`.
#   - Its limit is written gpu=2; sacctmgr shows (and needs) gres/gpu=2.
#   - sacct's AllocGRES is gone: this runbook reads AllocTRES.

runbook "troubleshoot" {
  title       = "Troubleshoot the Moonlight QoS for one user"
  description = "Read-only: does the QoS exist with its limits, does Slurm enforce them, may the user use it, why do the user's jobs pend and what to do."
  hosts       = "slurm_controller"
}

# ---------------------------------------------------------------- variables

variable "user" {
  type        = string
  default     = "" # so validate and the blank checklist need none; the run fails at user_given without it
  description = "The user whose jobs or access to the QoS are in question (a login name). Needed: without it only the QoS and the configuration are checked, and the run fails at user_given."
  validation {
    condition     = can(regex("^([a-z_][a-z0-9_.-]{0,31})?$", var.user))
    error_message = "user must be a login name: lower-case letters, digits, '.', '_' or '-', starting with a letter or '_'."
  }
}

variable "job_id" {
  type        = string
  default     = ""
  description = "Optional: one job to explain, whatever its QoS or user (a job id, or ARRAYID_TASK)."
  validation {
    condition     = can(regex("^([0-9]{1,10}(_[0-9]{1,10})?)?$", var.job_id))
    error_message = "job_id must be a Slurm job id (digits, or ARRAYID_TASK such as 42_3), or empty."
  }
}

variable "qos" {
  type        = string
  default     = "moonlight"
  description = "The QoS in question."
  validation {
    condition     = can(regex("^[a-z][a-z0-9_.-]{0,63}$", var.qos))
    error_message = "qos must be lower-case letters, digits, '.', '_' or '-', starting with a letter (Slurm keeps QoS names in lower case)."
  }
}

# The expected limits, as sacctmgr prints them (phase2.hcl's defaults).
# After tuning.hcl: --var priority=50.
variable "grace_time" {
  type        = string
  default     = "00:01:00"
  description = "Expected GraceTime as sacctmgr prints it (phase2's 60 seconds is 00:01:00)."
  validation {
    condition     = can(regex("^([0-9]+-)?[0-9]{2}:[0-9]{2}:[0-9]{2}$", var.grace_time))
    error_message = "grace_time must be written as sacctmgr prints it: HH:MM:SS or D-HH:MM:SS (00:01:00)."
  }
}

variable "max_wall" {
  type        = string
  default     = "08:00:00"
  description = "Expected MaxWall as sacctmgr prints it (phase2's 8:00:00 is 08:00:00)."
  validation {
    condition     = can(regex("^([0-9]+-)?[0-9]{2}:[0-9]{2}:[0-9]{2}$", var.max_wall))
    error_message = "max_wall must be written as sacctmgr prints it: HH:MM:SS or D-HH:MM:SS (08:00:00)."
  }
}

variable "max_gpus_per_user" {
  type        = number
  default     = 2
  description = "Expected MaxTRESPerUser gres/gpu=N."
  validation {
    condition     = var.max_gpus_per_user >= 1 && floor(var.max_gpus_per_user) == var.max_gpus_per_user
    error_message = "max_gpus_per_user must be a whole number, 1 or more."
  }
}

variable "priority" {
  type        = number
  default     = 100
  description = "Expected QoS Priority (50 after tuning.hcl)."
  validation {
    condition     = var.priority >= 0 && floor(var.priority) == var.priority
    error_message = "priority must be a whole number, 0 or more."
  }
}

locals {
  # The user in checklist lines: the blank checklist has no user yet.
  who = var.user == "" ? "USER" : var.user

  # Keys are the column headers of `sacctmgr -P show qos` (MaxTRESPerUser
  # prints as MaxTRESPU). GUIDE: gpu=2 is gres/gpu=2.
  expected = {
    GraceTime = var.grace_time
    MaxWall   = var.max_wall
    MaxTRESPU = "gres/gpu=${var.max_gpus_per_user}"
    Priority  = tostring(var.priority)
  }

  # The commands, as the answers and the checklist quote them.
  qos_format   = "format=Name,GraceTime,MaxWall,MaxTRESPerUser,Priority,MaxJobsPerUser,Flags"
  show_qos     = "sacctmgr -P show qos ${var.qos} ${local.qos_format}"
  show_config  = "scontrol show config"
  assoc_format = "format=Cluster,Account,User,Partition,QOS,DefaultQOS"
  show_assoc   = "sacctmgr -P show assoc where user=${local.who} ${local.assoc_format}"
  # squeue -O, each field ending in '|' (the parsable form with a trailing
  # '|'): fixed-width %-formats cut long values. On 22.05 tres-per-node is
  # the request (gres:gpu:1), tres-alloc what a running job holds
  # (cpu=1,node=1,billing=1,gres/gpu=1).
  job_fields  = "JobID:|,UserName:|,QOS:|,Account:|,Partition:|,StateCompact:|,Reason:|,TimeLimit:|,tres-per-node:|,tres-alloc:|"
  show_jobs   = "squeue -a -u ${local.who} -t PD,R -O ${local.job_fields}"
  show_job    = "squeue -a -j ${var.job_id} -t all -O ${local.job_fields}"
  sacct_job   = "sacct -X -P -j ${var.job_id} --format=JobID,User,QOS,Partition,State,Reason,ExitCode,AllocTRES"
  grant_fix   = "sudo sacctmgr -i modify user where name=${local.who} set qos+=${var.qos}"
  reasons_doc = "https://slurm.schedmd.com/job_reason_codes.html"

  # Pending reasons in words: why, and what to do. waits = true: the job
  # starts by itself, nothing to do; false: a finding. In the texts {id}
  # is the job; {gpu_cancel} becomes "`scancel 26` or `scancel 27`" for
  # the user's running jobs under the QoS that hold GPUs, {run_cancel} the
  # same for all their running jobs under the QoS.
  reasons = {
    None            = { waits = true, text = "the scheduler has not looked at it yet (it does within seconds of submission); nothing to do." }
    Priority        = { waits = true, text = "jobs of higher priority are ahead of it; nothing to do: it starts in its turn." }
    Resources       = { waits = true, text = "the nodes lack free CPUs, memory or GPUs for it right now; nothing to do: it starts when they free up (sinfo -N -o '%N %T %C %G')." }
    Dependency      = { waits = true, text = "it waits for the jobs it depends on (scontrol show job {id} | grep Dependency); nothing to do." }
    BeginTime       = { waits = true, text = "its start time (--begin) has not come yet; nothing to do." }
    QOSGrpGRES      = { waits = true, text = "the whole QoS ${var.qos} has its GrpTRES GPUs in use (all users together); it starts when other jobs under the QoS end." }
    QOSGrpJobs      = { waits = true, text = "the whole QoS ${var.qos} runs its GrpJobs jobs (all users together); it starts when other jobs under the QoS end." }
    ReqNodeNotAvail = { waits = false, text = "the nodes it asks for are down, drained or reserved: see `sinfo -R` and bring them back (scontrol update nodename=NODE state=resume, as admin)." }
    QOSMaxGRESPerUser = {
      waits = false
      text  = "${local.who} already holds the GPUs the QoS's MaxTRESPerUser allows under ${var.qos}. It starts when one of the jobs holding them ends; to start it now, end one of them: {gpu_cancel}."
    }
    QOSMaxJobsPerUserLimit = {
      waits = false
      text  = "${local.who} already runs the jobs the QoS's MaxJobsPerUser allows under ${var.qos}. It starts when one of them ends; to start it now, end one of them: {run_cancel}."
    }
    QOSMaxWallDurationPerJobLimit = {
      waits = false
      text  = "its time limit is longer than the QoS's MaxWall; it will never start. End it (scancel {id}) and submit again with --time at most MaxWall, or, as admin, shorten it: scontrol update JobId={id} TimeLimit=${var.max_wall}."
    }
    QOSNotAllowed = {
      waits = false
      text  = "the QoS ${var.qos} is not allowed for it: not in ${local.who}'s association, or the partition's AllowQos/DenyQos exclude it. Grant it (${local.grant_fix}) or check `scontrol show partition`."
    }
    InvalidQOS = {
      waits = false
      text  = "its QoS no longer exists or was taken from ${local.who}'s association after it was submitted. Grant it again (${local.grant_fix}), or end it (scancel {id}) and submit under a QoS the user has."
    }
    PartitionTimeLimit = { waits = false, text = "its time limit is longer than the partition's MaxTime; it will never start. End it (scancel {id}) and submit again with a shorter --time." }
    JobHeldUser        = { waits = false, text = "the user held it: release it with scontrol release {id}." }
    JobHeldAdmin       = { waits = false, text = "an admin held it: an admin releases it with scontrol release {id}." }
  }
  reason_unknown = { waits = false, text = "see `scontrol show job {id}` and the Reason in Slurm's list (${local.reasons_doc})." }
}

# ------------------------------------------------------------------- reads
# Every step here only reads; none needs privilege.

# Guide case 2, cause 1 ("sacctmgr show qos moonlight"), with -P: the
# fixed-width output cuts long values with '+'.
step "check" "qos" {
  title = "Read the ${var.qos} QoS and its limits"
  argv  = ["sacctmgr", "-P", "show", "qos", var.qos, local.qos_format]
  parse = "parsable"
}

step "check" "config" {
  title = "Read the controller's configuration (AccountingStorageEnforce)"
  argv  = ["scontrol", "show", "config"]
  parse = "kv"
}

# Guide case 2, cause 2. GUIDE: `sacctmgr show user format=User,QOS | grep`
# shows no QoS at all without withassoc (and grep matches any user whose
# name contains this one); the associations are what Slurm checks.
step "check" "assoc" {
  title = "Read ${var.user}'s associations and their QoS"
  when  = var.user != ""
  argv  = ["sacctmgr", "-P", "show", "assoc", "where", "user=${var.user}", local.assoc_format]
  parse = "parsable"
}

# The user's running and pending jobs, under any QoS (filtered below).
step "check" "jobs" {
  title = "Read ${var.user}'s running and pending jobs"
  when  = var.user != ""
  argv  = ["squeue", "-a", "-u", var.user, "-t", "PD,R", "-O", local.job_fields]
  parse = "parsable"
}

# Guide case 3's `scontrol show job <JOBID> | grep Reason`, for one job.
# squeue exits 1 for a job it no longer knows (finished more than
# MinJobAge ago): sacct below has it then.
step "check" "job" {
  title         = "Read job ${var.job_id}"
  when          = var.job_id != ""
  argv          = ["squeue", "-a", "-j", var.job_id, "-t", "all", "-O", local.job_fields]
  parse         = "rows"
  ok_exit_codes = [0, 1]
}

# GUIDE: the guide's sacct columns include AllocGRES, which Slurm 22.05
# refuses ("AllocGRES has been removed"): AllocTRES holds gres/gpu=N.
step "check" "job_accounting" {
  title = "Read job ${var.job_id} in accounting"
  when  = var.job_id != ""
  argv  = ["sacct", "-X", "-P", "-j", var.job_id, "--format=JobID,User,QOS,Partition,State,Reason,ExitCode,AllocTRES"]
  parse = "rows"
}

# ------------------------------------------------------------------- outputs
# The answers. They read only the steps above, so all of them are shown
# whatever the findings below say.

output "qos_limits" {
  description = "the QoS's limits as sacctmgr shows them, with the command that read them"
  value = length(step.qos.rows) == 0 ? "qos ${var.qos} does not exist (`${local.show_qos}` prints no row)" : format("%s (`%s`)",
    join(" ", [for k in ["GraceTime", "MaxWall", "MaxTRESPU", "Priority", "MaxJobsPU", "Flags"] : "${k}=${step.qos.rows[0][k] == "" ? "(unset)" : step.qos.rows[0][k]}"]),
    local.show_qos,
  )
}

output "enforcement" {
  description = "what Slurm enforces (limits and qos are needed) and whether the QoS Priority counts"
  value       = "AccountingStorageEnforce=${lookup(step.config.kv, "AccountingStorageEnforce", "")} PriorityType=${lookup(step.config.kv, "PriorityType", "")} PriorityWeightQOS=${lookup(step.config.kv, "PriorityWeightQOS", "")} (`${local.show_config}`)"
}

output "associations" {
  description = "the user's associations and the QoS each lists"
  value = var.user == "" ? ["(no --var user given)"] : length(step.assoc.rows) == 0 ? ["${var.user} has no association in Slurm (`${local.show_assoc}` prints no row)"] : [
    for a in step.assoc.rows : "account ${a.Account}${a.Partition == "" ? "" : " partition ${a.Partition}"}: QOS=${a.QOS}${a["Def QOS"] == "" ? "" : " (default ${a["Def QOS"]})"} (`${local.show_assoc}`)"
  ]
}

output "pending_jobs" {
  description = "the user's pending jobs under the QoS, each Reason in words with what to do"
  value = var.user == "" ? [] : [
    for j in step.jobs.rows : "job ${j.JOBID} pending (${j.REASON}): ${replace(replace(replace(
      lookup(local.reasons, j.REASON, local.reason_unknown).text, "{id}", j.JOBID),
      "{gpu_cancel}", join(" or ", formatlist("`scancel %s`", [for r in step.jobs.rows : r.JOBID if r.QOS == var.qos && r.ST == "R" && can(regex("gres/gpu=[1-9]", r.TRES_ALLOC))]))),
    "{run_cancel}", join(" or ", formatlist("`scancel %s`", [for r in step.jobs.rows : r.JOBID if r.QOS == var.qos && r.ST == "R"])))} (`${local.show_jobs}`)"
    if j.QOS == var.qos && j.ST == "PD"
  ]
}

output "gpu_jobs" {
  description = "the user's running jobs under the QoS that hold GPUs: job id => GPUs (squeue tres-alloc gres/gpu)"
  value = var.user == "" ? {} : {
    for r in step.jobs.rows : r.JOBID => tonumber(regex("gres/gpu=([0-9]+)", r.TRES_ALLOC)[0])
    if r.QOS == var.qos && r.ST == "R" && can(regex("gres/gpu=[1-9]", r.TRES_ALLOC))
  }
}

output "gpu_use" {
  description = "the user's GPUs in use under the QoS against its MaxTRESPerUser"
  # There is no sum(): one list element per GPU, counted.
  value = var.user == "" ? "(no --var user given)" : format("%d GPU(s) in use by %s under %s; the QoS allows %s (`%s`; the cap from `%s`)",
    length(flatten([for r in step.jobs.rows : range(tonumber(regex("gres/gpu=([0-9]+)", r.TRES_ALLOC)[0])) if r.QOS == var.qos && r.ST == "R" && can(regex("gres/gpu=[0-9]", r.TRES_ALLOC))])),
    var.user, var.qos,
    try(regex("gres/gpu=[0-9]+", step.qos.rows[0].MaxTRESPU), "any number (no MaxTRESPerUser gres/gpu)"),
    local.show_jobs, local.show_qos,
  )
}

output "job" {
  description = "the job given with --var job_id, explained"
  # squeue while the job is active; accounting once it ended (squeue keeps
  # an ended job for MinJobAge, with an empty QOS column).
  value = var.job_id == "" ? "(no --var job_id given)" : length([for r in try(step.job.rows, []) : r if contains(["PD", "R", "CG", "S"], r.ST)]) > 0 ? format("job %s of %s under QoS %s, state %s%s (`%s`)",
    step.job.rows[0].JOBID, step.job.rows[0].USER, step.job.rows[0].QOS, step.job.rows[0].ST,
    step.job.rows[0].ST != "PD" ? "" : ", pending (${step.job.rows[0].REASON}): ${replace(replace(replace(
      lookup(local.reasons, step.job.rows[0].REASON, local.reason_unknown).text, "{id}", var.job_id),
      "{gpu_cancel}", "`scancel JOBID` for one of ${step.job.rows[0].USER}'s running GPU jobs under ${step.job.rows[0].QOS}"),
    "{run_cancel}", "`scancel JOBID` for one of ${step.job.rows[0].USER}'s running jobs under ${step.job.rows[0].QOS}")}",
    local.show_job,
    ) : length(try(step.job_accounting.rows, [])) > 0 ? format("job %s is no longer running or pending; accounting has it: user %s, QoS %s, state %s, exit code %s (`%s`)",
    var.job_id, step.job_accounting.rows[0].User, step.job_accounting.rows[0].QOS, step.job_accounting.rows[0].State, step.job_accounting.rows[0].ExitCode, local.sacct_job,
  ) : "job ${var.job_id} is unknown to squeue and sacct (`${local.show_job}`, `${local.sacct_job}`)"
}

# ------------------------------------------------------------------- findings
# One assert per finding, each with its checklist line: it fails with what
# is wrong, the command that shows it, and the fix. Run with --keep-going
# so that every one is decided (see the top of the file).

step "assert" "user_given" {
  title         = "A user is given"
  checklist     = "the user in question is given (--var user=NAME)"
  condition     = var.user != ""
  error_message = "no user given: run again with --var user=NAME (the user whose jobs pend or are refused). Without it only the QoS and the configuration were checked."
}

step "assert" "qos_exists" {
  title         = "The ${var.qos} QoS exists"
  checklist     = "the QoS ${var.qos} exists (`${local.show_qos}`)"
  condition     = length(step.qos.rows) == 1
  error_message = "qos ${var.qos} does not exist: `${local.show_qos}` prints no row. Jobs asking for it get \"Invalid qos specification\" (the guide's case 2, cause 1). Run Phase 2 (runbooks/phase2.hcl) to create it."
}

step "assert" "qos_limits" {
  title         = "The ${var.qos} QoS has the expected limits"
  checklist     = "${var.qos} has GraceTime=${var.grace_time} MaxWall=${var.max_wall} MaxTRESPerUser=${local.expected.MaxTRESPU} Priority=${var.priority} (`${local.show_qos}`)"
  condition     = length(step.qos.rows) == 1 && length([for k, v in local.expected : k if step.qos.rows[0][k] != v]) == 0
  error_message = length(step.qos.rows) == 0 ? "qos ${var.qos} does not exist, so it has none of its limits (`${local.show_qos}`)." : "qos ${var.qos} differs from the expected limits: ${join(", ", [for k, v in local.expected : "${k} is ${step.qos.rows[0][k] == "" ? "(unset)" : step.qos.rows[0][k]}, expected ${v}" if step.qos.rows[0][k] != v])} (`${local.show_qos}`). Run Phase 2 (runbooks/phase2.hcl) to set them, or give the values this cluster means with --var (after tuning.hcl: --var priority=50)."
}

step "assert" "limits_enforced" {
  title         = "Slurm enforces QoS limits and access"
  checklist     = "AccountingStorageEnforce includes limits and qos (`${local.show_config}`)"
  condition     = length([for w in ["limits", "qos"] : w if !contains(split(",", lookup(step.config.kv, "AccountingStorageEnforce", "")), w)]) == 0
  error_message = "AccountingStorageEnforce is \"${lookup(step.config.kv, "AccountingStorageEnforce", "")}\" (`${local.show_config}`): without limits, MaxTRESPerUser and MaxWall are not enforced; without qos, any user may use any QoS. Set AccountingStorageEnforce=associations,limits,qos in slurm.conf and restart slurmctld."
}

step "assert" "priority_counts" {
  title         = "The QoS Priority has an effect"
  checklist     = "the QoS Priority counts: PriorityType=priority/multifactor and PriorityWeightQOS > 0 (`${local.show_config}`)"
  condition     = var.priority == 0 || (lookup(step.config.kv, "PriorityType", "") == "priority/multifactor" && try(tonumber(lookup(step.config.kv, "PriorityWeightQOS", "0")), 0) > 0)
  error_message = "the QoS Priority does nothing: PriorityType is ${lookup(step.config.kv, "PriorityType", "(unset)")} and PriorityWeightQOS is ${lookup(step.config.kv, "PriorityWeightQOS", "(unset)")} (`${local.show_config}`). Set PriorityType=priority/multifactor and PriorityWeightQOS (e.g. 10000) in slurm.conf."
}

step "assert" "user_granted" {
  title         = "${local.who} may use ${var.qos}"
  when          = var.user != ""
  checklist     = "every association of ${local.who} lists ${var.qos} (`${local.show_assoc}`)"
  condition     = length(step.assoc.rows) > 0 && length([for a in step.assoc.rows : a if !contains(split(",", a.QOS), var.qos)]) == 0
  error_message = length(step.assoc.rows) == 0 ? "${var.user} has no association in Slurm (`${local.show_assoc}` prints no row): every job of theirs is refused (\"Invalid account or account/partition combination specified\"). Add the user to an account, then grant the QoS: sudo sacctmgr -i add user ${var.user} account=ACCOUNT; ${local.grant_fix}." : "${var.user}'s association(s) in account(s) ${join(", ", [for a in step.assoc.rows : a.Account if !contains(split(",", a.QOS), var.qos)])} do not list ${var.qos} (`${local.show_assoc}`): jobs there asking for it get \"Invalid qos specification\" (the guide's case 2, cause 2). Grant it: ${local.grant_fix} (or phase2.hcl with --var account=ACCOUNT)."
}

step "assert" "gpus_within_cap" {
  title     = "${local.who}'s GPUs under ${var.qos} are within MaxTRESPerUser"
  when      = var.user != ""
  checklist = "${local.who}'s running jobs under ${var.qos} hold at most MaxTRESPerUser GPUs (`${local.show_jobs}`)"
  # HCL's || evaluates both sides: try() holds when the QoS has no GPU cap
  # (or does not exist, which qos_exists reports).
  condition     = try(length(flatten([for r in step.jobs.rows : range(tonumber(regex("gres/gpu=([0-9]+)", r.TRES_ALLOC)[0])) if r.QOS == var.qos && r.ST == "R" && can(regex("gres/gpu=[0-9]", r.TRES_ALLOC))])) <= tonumber(regex("gres/gpu=([0-9]+)", step.qos.rows[0].MaxTRESPU)[0]), true)
  error_message = "${var.user} holds more GPUs under ${var.qos} than its MaxTRESPerUser (${try(step.qos.rows[0].MaxTRESPU, "")}) allows (`${local.show_jobs}`): the cap was lowered while the jobs ran, and running jobs keep what they hold. New GPU jobs pend with QOSMaxGRESPerUser until enough of these end."
}

step "assert" "no_stuck_jobs" {
  title     = "No pending job of ${local.who} under ${var.qos} needs action"
  when      = var.user != ""
  checklist = "every pending job of ${local.who} under ${var.qos} waits only for its turn or for resources (`${local.show_jobs}`)"
  condition = length([for j in step.jobs.rows : j if j.QOS == var.qos && j.ST == "PD" && !lookup(local.reasons, j.REASON, local.reason_unknown).waits]) == 0
  # The same words as the output pending_jobs, for the jobs that need action.
  error_message = join(" ", [
    for j in step.jobs.rows : "job ${j.JOBID} pending (${j.REASON}): ${replace(replace(replace(
      lookup(local.reasons, j.REASON, local.reason_unknown).text, "{id}", j.JOBID),
      "{gpu_cancel}", join(" or ", formatlist("`scancel %s`", [for r in step.jobs.rows : r.JOBID if r.QOS == var.qos && r.ST == "R" && can(regex("gres/gpu=[1-9]", r.TRES_ALLOC))]))),
    "{run_cancel}", join(" or ", formatlist("`scancel %s`", [for r in step.jobs.rows : r.JOBID if r.QOS == var.qos && r.ST == "R"])))}"
    if j.QOS == var.qos && j.ST == "PD" && !lookup(local.reasons, j.REASON, local.reason_unknown).waits
  ])
}
