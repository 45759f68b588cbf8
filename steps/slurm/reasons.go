package slurm

import (
	"fmt"
	"strings"
)

// ReasonKind groups job reasons by what a test step should do about them.
type ReasonKind int

const (
	// ReasonUnknown: not in the catalogue.
	ReasonUnknown ReasonKind = iota
	// ReasonWaiting: the job will start by itself (None, Priority,
	// Resources, BeginTime, ...). Keep polling.
	ReasonWaiting
	// ReasonLimit: a QoS/association limit holds the job until usage drops
	// (QOSMaxGRESPerUser, QOSMaxJobsPerUserLimit, ...). This is the limit
	// working: an enforcement test expects it.
	ReasonLimit
	// ReasonNeverStarts: the job asks for more than a limit allows
	// (QOSMaxWallDurationPerJobLimit, PartitionTimeLimit, ...). It will
	// pend forever; Flags=DenyOnLimit would have rejected it at submit.
	ReasonNeverStarts
	// ReasonConfig: the cluster configuration prevents the job from
	// running (InvalidQOS, QOSNotAllowed, PartitionConfig, ...).
	ReasonConfig
	// ReasonHeld: held by a user or admin.
	ReasonHeld
	// ReasonFailed: the reason a finished job failed (NonZeroExitCode,
	// JobLaunchFailure, TimeLimit, ...).
	ReasonFailed
)

func (k ReasonKind) String() string {
	names := [...]string{"unknown", "waiting", "limit", "never-starts", "config", "held", "failed"}
	if k < 0 || int(k) >= len(names) {
		return fmt.Sprintf("ReasonKind(%d)", int(k))
	}
	return names[k]
}

// ReasonInfo explains a job reason (scontrol Reason=, squeue %R).
type ReasonInfo struct {
	Reason  string
	Kind    ReasonKind
	Meaning string
	Action  string
}

var reasonCatalogue = map[string]ReasonInfo{}

func addReason(kind ReasonKind, meaning, action string, reasons ...string) {
	for _, r := range reasons {
		reasonCatalogue[strings.ToLower(r)] = ReasonInfo{Reason: r, Kind: kind, Meaning: meaning, Action: action}
	}
}

func init() {
	addReason(ReasonWaiting, "not evaluated by the scheduler yet (the main scheduler runs about once a second; batch_sched_delay adds more)",
		"keep polling for R or a QOS*/Assoc* reason; do not sleep a fixed time", "None")
	addReason(ReasonWaiting, "jobs with higher priority are ahead of this one",
		"wait; `sprio -j ID` shows the factors (QoS Priority only counts with PriorityWeightQOS > 0)", "Priority")
	addReason(ReasonWaiting, "the requested resources (CPUs, GPUs, memory) are in use",
		"wait or free resources; if it never starts, check the request fits a node: sinfo -N -o '%N %C %G'", "Resources")
	addReason(ReasonWaiting, "waiting for a dependency", "check `scontrol show job ID | grep Dependency`", "Dependency")
	addReason(ReasonWaiting, "the job's --begin time is in the future", "wait, or `scontrol update jobid=ID starttime=now`", "BeginTime")
	addReason(ReasonWaiting, "a node the job needs is down, drained or reserved (the reason lists UnavailableNodes)",
		"`sinfo -R`; if drained: scontrol update nodename=NODE state=resume (DRAIN survives slurmctld restarts)", "ReqNodeNotAvail", "NodeDown")
	addReason(ReasonWaiting, "the job waits for a reservation", "check `scontrol show reservation`", "Reservation")
	addReason(ReasonWaiting, "the partition is DOWN or INACTIVE", "scontrol update partitionname=NAME state=up", "PartitionDown", "PartitionInactive")

	addReason(ReasonLimit, "the user already uses the GRES the QoS allows per user (MaxTRESPerUser, e.g. gres/gpu=2 already in use)",
		"this is the limit working; end one of the user's jobs (scancel JOBID) and the job starts", "QOSMaxGRESPerUser")
	addReason(ReasonLimit, "the user already runs MaxJobsPerUser jobs in this QoS",
		"this is the limit working; the job starts when one of the user's jobs ends", "QOSMaxJobsPerUserLimit")
	addReason(ReasonLimit, "the user already has MaxSubmitJobsPerUser jobs queued in this QoS",
		"this is the limit working; wait for jobs to finish", "QOSMaxSubmitJobPerUserLimit")
	addReason(ReasonLimit, "all jobs of the QoS together use its GrpTRES GRES", "wait, or raise GrpTRES", "QOSGrpGRES")
	addReason(ReasonLimit, "all jobs of the QoS together hit a Grp limit", "wait, or raise the Grp limit",
		"QOSGrpCpuLimit", "QOSGrpJobsLimit", "QOSGrpMemLimit", "QOSGrpNodeLimit", "QOSGrpSubmitJobsLimit", "QOSGrpWallLimit")
	addReason(ReasonLimit, "the user hit a per-user QoS TRES limit (MaxTRESPerUser)", "this is the limit working; wait",
		"QOSMaxCpuPerUserLimit", "QOSMaxMemoryPerUser", "QOSMaxNodePerUserLimit")
	addReason(ReasonLimit, "the account hit a per-account QoS limit", "wait", "QOSMaxJobsPerAccountLimit", "QOSMaxGRESPerAccount")
	addReason(ReasonLimit, "the association (user/account) hit one of its own limits", "wait, or raise the association limit (sacctmgr show assoc)",
		"AssocMaxJobsLimit", "AssocGrpGRES", "AssocGrpCpuLimit", "AssocGrpJobsLimit", "AssocGrpMemLimit", "AssocGrpNodeLimit", "AssocMaxSubmitJobLimit")
	addReason(ReasonLimit, "the QoS usage threshold was reached", "wait for usage to decay", "QOSUsageThreshold")

	addReason(ReasonNeverStarts, "the job's --time is longer than the QoS MaxWall",
		"scancel it and resubmit with --time <= MaxWall; Flags=DenyOnLimit makes sbatch reject such jobs at submit", "QOSMaxWallDurationPerJobLimit")
	addReason(ReasonNeverStarts, "the job asks for more than the QoS allows per job (MaxTRESPerJob)",
		"scancel it and request less (gres/gpu=N limits the NUMBER of GPUs)", "QOSMaxGRESPerJob", "QOSMaxCpuPerJobLimit", "QOSMaxNodePerJobLimit", "QOSMaxMemoryPerJob")
	addReason(ReasonNeverStarts, "the job asks for less than the QoS MinTRESPerJob", "request more or lower MinTRESPerJob", "QOSMinGRES", "QOSMinCpuNotSatisfied")
	addReason(ReasonNeverStarts, "the job's --time is longer than the partition MaxTime", "resubmit with a shorter --time", "PartitionTimeLimit")
	addReason(ReasonNeverStarts, "the job asks for more nodes than the partition allows", "request fewer nodes", "PartitionNodeLimit")
	addReason(ReasonNeverStarts, "the association's MaxWall is shorter than the job's --time", "resubmit with a shorter --time", "AssocMaxWallDurationPerJobLimit")

	addReason(ReasonConfig, "the job's QoS does not exist or its association may not use it",
		"sacctmgr show qos NAME; sacctmgr show assoc where user=USER format=User,Account,QOS", "InvalidQOS")
	addReason(ReasonConfig, "the partition's AllowQos/DenyQos excludes the job's QoS",
		"add the QoS to AllowQos of the partition in slurm.conf (then scontrol reconfigure), or use another partition", "QOSNotAllowed")
	addReason(ReasonConfig, "the partition's configuration cannot satisfy the request (e.g. GRES the partition's nodes lack)",
		"scontrol show partition NAME; sinfo -N -o '%N %G'", "PartitionConfig")
	addReason(ReasonConfig, "the account may not use the partition (AllowAccounts/DenyAccounts)", "fix the partition in slurm.conf", "AccountNotAllowed")
	addReason(ReasonConfig, "the job's constraints cannot be satisfied by any node", "check --constraint/--gres against sinfo", "BadConstraints")

	addReason(ReasonHeld, "held by its user", "scontrol release ID", "JobHeldUser")
	addReason(ReasonHeld, "held by an administrator (or priority 0)", "scontrol release ID", "JobHeldAdmin")
	addReason(ReasonHeld, "the launch failed and the job was requeued in held state", "see slurmd log; scontrol release ID", "launch_failed_requeued_held")

	addReason(ReasonFailed, "the batch script exited non-zero (ExitCode 127:0 is 'command not found', e.g. nvidia-smi where there is none)",
		"read the job's output file", "NonZeroExitCode")
	addReason(ReasonFailed, "the job could not be launched; most often the --output path is not writable by the job user",
		"slurmd log: `Could not open stdout file`; write output under /tmp or the user's home", "JobLaunchFailure")
	addReason(ReasonFailed, "the job hit its time limit", "request more --time (within MaxWall)", "TimeLimit")
	addReason(ReasonFailed, "the job ran out of memory", "request more --mem", "OutOfMemory")
	addReason(ReasonFailed, "the job passed its --deadline", "", "DeadLine")
	addReason(ReasonFailed, "the job was killed by a signal", "see ExitCode signal part", "RaisedSignal")
	addReason(ReasonFailed, "a node failed or the system failed under the job", "check sinfo -R and slurmctld log", "NodeFail", "SystemFailure")
	addReason(ReasonFailed, "srun/salloc inactivity limit reached", "", "InactiveLimit")
}

// LookupReason explains a job reason. scontrol replaces spaces with '_'
// and may append details (`ReqNodeNotAvail,_UnavailableNodes:vm`,
// `RaisedSignal:9(Killed)`), so only the leading word is matched.
// Unlisted QOS*/Assoc* reasons get a generic limit explanation.
func LookupReason(reason string) ReasonInfo {
	base := strings.TrimSpace(strings.Trim(strings.TrimSpace(reason), "()"))
	if i := strings.IndexAny(base, ",: "); i > 0 {
		base = base[:i]
	}
	if ri, ok := reasonCatalogue[strings.ToLower(base)]; ok {
		ri.Reason = reason
		return ri
	}
	l := strings.ToLower(base)
	switch {
	case strings.HasPrefix(l, "qosmax") && strings.Contains(l, "perjob"), strings.HasPrefix(l, "qosmin"):
		return ReasonInfo{Reason: reason, Kind: ReasonNeverStarts, Meaning: "the job's request is outside a per-job QoS limit", Action: "request less (or more for Min*) and resubmit"}
	case strings.HasPrefix(l, "qos"):
		return ReasonInfo{Reason: reason, Kind: ReasonLimit, Meaning: "a QoS limit holds the job", Action: "wait, or check the QoS limits: sacctmgr show qos NAME"}
	case strings.HasPrefix(l, "assoc"):
		return ReasonInfo{Reason: reason, Kind: ReasonLimit, Meaning: "an association limit holds the job", Action: "sacctmgr show assoc where user=USER"}
	}
	return ReasonInfo{Reason: reason, Kind: ReasonUnknown, Meaning: "not in runbook's catalogue", Action: "see the Slurm squeue man page, JOB REASON CODES"}
}

// SubmitErrorKind classifies why sbatch/srun refused a job.
type SubmitErrorKind int

const (
	SubmitUnknown SubmitErrorKind = iota
	SubmitInvalidQoS
	SubmitQoSPolicy
	SubmitNodeConfig
	SubmitInvalidPartition
	SubmitInvalidAccount
	SubmitTimeLimit
	SubmitInvalidGRES
	SubmitPermission
	SubmitControllerDown
)

func (k SubmitErrorKind) String() string {
	names := [...]string{"unknown", "invalid-qos", "qos-policy", "node-config", "invalid-partition", "invalid-account",
		"time-limit", "invalid-gres", "permission", "controller-down"}
	if k < 0 || int(k) >= len(names) {
		return fmt.Sprintf("SubmitErrorKind(%d)", int(k))
	}
	return names[k]
}

// SubmitError is a classified sbatch/srun rejection.
type SubmitError struct {
	Kind SubmitErrorKind
	// Message is the "Batch job submission failed: ..." (or "Unable to
	// allocate resources: ...") text.
	Message string
	// Reason is the limit sbatch named on a preceding line, e.g.
	// QOSMaxWallDurationPerJobLimit for a Flags=DenyOnLimit rejection.
	Reason string
	Hint   string
}

func (e *SubmitError) Error() string {
	s := "job submission refused (" + e.Kind.String() + "): " + e.Message
	if e.Reason != "" {
		s += " [" + e.Reason + "]"
	}
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

var submitPatterns = []struct {
	needle string
	kind   SubmitErrorKind
	hint   string
}{
	{"Invalid qos specification", SubmitInvalidQoS,
		"either the QoS does not exist (sacctmgr show qos NAME) or the user's association does not list it " +
			"(sacctmgr show assoc where user=USER format=User,Account,QOS; `sacctmgr show user` needs withassoc to show it); grant it with qos+=NAME"},
	{"violates accounting/QOS policy", SubmitQoSPolicy,
		"a QoS/association limit with Flags=DenyOnLimit rejected the job at submit time; the reason line names the limit"},
	{"Requested node configuration is not available", SubmitNodeConfig,
		"no node of the partition can ever satisfy the request (e.g. --gres=gpu:3 on 2-GPU nodes, or GPUs missing from gres.conf leaving the node INVAL); " +
			"such a rejection can still burn a job id and leave a FAILED row in sacct"},
	{"Invalid partition name specified", SubmitInvalidPartition, "the partition does not exist: check `scontrol show partition` / slurm.conf"},
	{"invalid partition specified", SubmitInvalidPartition, "the partition does not exist: check `scontrol show partition` / slurm.conf"},
	{"Invalid account or account/partition combination specified", SubmitInvalidAccount,
		"the user has no Slurm association (sacctmgr -i add user NAME account=ACCOUNT), or none for that account/partition"},
	{"Requested time limit is invalid", SubmitTimeLimit, "--time exceeds the partition MaxTime"},
	{"Invalid generic resource (gres) specification", SubmitInvalidGRES, "the GRES is not configured (GresTypes, gres.conf, node Gres=)"},
	{"Invalid Trackable RESource (TRES) specification", SubmitInvalidGRES, "the GRES/TRES is not configured on this cluster"},
	{"Access/permission denied", SubmitPermission, "the user may not use this partition (AllowGroups/AllowAccounts) or account"},
	{"not permitted to use this partition", SubmitPermission, "the partition's AllowGroups/AllowAccounts excludes the user"},
	{"Unable to contact slurm controller", SubmitControllerDown, "slurmctld is down or unreachable: scontrol ping"},
	{"Slurm controller not responding", SubmitControllerDown, "slurmctld is down or unreachable: scontrol ping"},
	{"Socket timed out", SubmitControllerDown, "slurmctld did not answer in time: scontrol ping"},
}

// ClassifySubmit returns nil when sbatch accepted the job (rc 0), else a
// *SubmitError. It understands both sbatch ("Batch job submission failed:")
// and srun/salloc ("Unable to allocate resources:") wording.
func ClassifySubmit(stdout, stderr []byte, exitCode int) *SubmitError {
	errText := string(stderr)
	if exitCode == 0 && !strings.Contains(errText, "submission failed") && !strings.Contains(errText, "Unable to allocate resources") {
		return nil
	}
	msg := ""
	reason := ""
	for _, l := range strings.Split(errText, "\n") {
		l = strings.TrimSpace(l)
		for _, marker := range []string{"Batch job submission failed: ", "Unable to allocate resources: "} {
			if i := strings.Index(l, marker); i >= 0 {
				msg = l[i+len(marker):]
			}
		}
		// "sbatch: error: QOSMaxWallDurationPerJobLimit" names the limit.
		if _, after, ok := strings.Cut(l, "error: "); ok && !strings.Contains(after, " ") && after != "" {
			reason = after
		}
	}
	if msg == "" {
		msg = firstLine(errText)
		if msg == "" {
			msg = fmt.Sprintf("exit code %d, no error text", exitCode)
		}
	}
	for _, p := range submitPatterns {
		if strings.Contains(errText, p.needle) {
			hint := p.hint
			if reason != "" {
				ri := LookupReason(reason)
				hint += "; " + reason + ": " + ri.Meaning
			}
			return &SubmitError{Kind: p.kind, Message: msg, Reason: reason, Hint: hint}
		}
	}
	return &SubmitError{Kind: SubmitUnknown, Message: msg, Reason: reason}
}
