package slurm

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Severity of a preflight Finding.
type Severity int

const (
	SeverityInfo Severity = iota
	SeverityWarning
	// SeverityError: the runbook's QoS would not work as written.
	SeverityError
)

func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Finding is one preflight result.
type Finding struct {
	Severity Severity
	Check    string // stable identifier, e.g. "enforce-limits"
	Message  string
	Hint     string
}

// PreflightInput is what Preflight looks at.
type PreflightInput struct {
	// Config is ParseScontrolConfig(`scontrol show config`).
	Config Record
	// PartitionName is the partition the QoS is meant for ("" skips the
	// partition checks).
	PartitionName string
	// Partition is ParsePartition(`scontrol show partition NAME`), nil when
	// scontrol answered "Partition NAME not found".
	Partition *Partition
	// QoS is the QoS name.
	QoS string
	// Desired are the desired QoS field values (as given to Diff).
	Desired map[string]string
	// Job, when set, checks that the run's jobs may use the QoS.
	Job *JobAccess
}

// JobAccess is what Preflight needs to tell whether a job submitted in
// this run may use the QoS: with AccountingStorageEnforce=qos, sbatch
// refuses ("Invalid qos specification") a QoS that the association the
// job runs under does not list, so a runbook that creates a QoS and then
// tests it needs the QoS granted first.
type JobAccess struct {
	// User submits the job.
	User string
	// GrantAccount is the account whose users a grant step of this run
	// gives the QoS to; "" when none runs.
	GrantAccount string
	// Assocs is ParseUserWithAssoc of ShowUserWithAssocArgv(User). It is
	// needed (NeedsAssocs) only when Slurm enforces qos and no grant runs.
	Assocs []UserAssoc
}

// Enforces reports whether AccountingStorageEnforce includes flag
// ("limits", "qos", ...).
func Enforces(cfg Record, flag string) bool {
	for _, e := range strings.Split(strings.ToLower(cfg.Str("AccountingStorageEnforce")), ",") {
		if strings.TrimSpace(e) == flag {
			return true
		}
	}
	return false
}

// NeedsAssocs reports whether Preflight will look at the job user's
// associations, so a caller reads them only then (one sacctmgr call).
func (in PreflightInput) NeedsAssocs() bool {
	return in.Job != nil && in.QoS != "" && in.Job.GrantAccount == "" && Enforces(in.Config, "qos")
}

// Preflight checks that the cluster configuration lets the desired QoS
// work. It never fails: unreadable values become findings.
func Preflight(in PreflightInput) []Finding {
	var fs []Finding
	add := func(sev Severity, check, msg, hint string) {
		fs = append(fs, Finding{Severity: sev, Check: check, Message: msg, Hint: hint})
	}
	cfg := in.Config
	if cfg == nil {
		cfg = Record{}
	}

	if st := cfg.Str("AccountingStorageType"); st != "accounting_storage/slurmdbd" {
		add(SeverityError, "accounting-storage", fmt.Sprintf("AccountingStorageType = %q: QoS live in the slurmdbd database", st),
			"set AccountingStorageType=accounting_storage/slurmdbd and run slurmdbd")
	}

	enforce := map[string]bool{}
	for _, flag := range []string{"limits", "safe", "qos"} {
		enforce[flag] = Enforces(cfg, flag)
	}
	const enforceHint = "set AccountingStorageEnforce=associations,limits,qos in slurm.conf and restart slurmctld"
	if !enforce["limits"] && !enforce["safe"] { // safe implies limits
		add(SeverityError, "enforce-limits",
			fmt.Sprintf("AccountingStorageEnforce = %q lacks limits: QoS limits (MaxWall, MaxTRESPerUser, ...) will not be enforced", cfg.Str("AccountingStorageEnforce")),
			enforceHint)
	}
	if !enforce["qos"] {
		add(SeverityWarning, "enforce-qos",
			fmt.Sprintf("AccountingStorageEnforce = %q lacks qos: users can run jobs in QoS their association does not list, so granting the QoS restricts nothing", cfg.Str("AccountingStorageEnforce")),
			enforceHint)
	}

	// TRES the desired limits use must be tracked.
	tracked := map[string]bool{}
	for _, t := range strings.Split(strings.ToLower(cfg.Str("AccountingStorageTRES")), ",") {
		tracked[strings.TrimSpace(t)] = true
	}
	gresTypes := map[string]bool{}
	for _, g := range strings.Split(strings.ToLower(cfg.Str("GresTypes")), ",") {
		gresTypes[strings.TrimSpace(g)] = true
	}
	var maxWall Duration
	prioritySet := false
	for _, k := range sortedKeys(in.Desired) {
		f, ok := LookupField(k)
		if !ok {
			continue
		}
		v, err := f.parse(in.Desired[k])
		if err != nil {
			add(SeverityError, "desired-value", err.Error(), "")
			continue
		}
		switch {
		case f.Type == TypeTRES:
			for _, key := range v.t.Keys() {
				builtin := tresOrder[key] > 0
				if !builtin && !tracked[key] {
					add(SeverityError, "tres-tracked",
						fmt.Sprintf("%s limits %s but AccountingStorageTRES (%s) does not list it: the limit cannot be set (no TRES known) or enforced",
							f.Name, key, cfg.Str("AccountingStorageTRES")),
						fmt.Sprintf("add %s to AccountingStorageTRES in slurm.conf and restart slurmctld (it registers the TRES in slurmdbd on start)", key))
				}
				if strings.HasPrefix(key, "gres/") {
					name := strings.SplitN(strings.TrimPrefix(key, "gres/"), ":", 2)[0]
					if !gresTypes[name] {
						add(SeverityWarning, "gres-types", fmt.Sprintf("%s limits %s but GresTypes (%q) does not list %s", f.Name, key, cfg.Str("GresTypes"), name),
							fmt.Sprintf("add %s to GresTypes and configure it in gres.conf and the node's Gres=", name))
					}
				}
			}
		case f.Name == "MaxWall" && !v.unset:
			maxWall = v.d
		case f.Name == "Priority" && !v.unset:
			prioritySet = true
		}
	}

	if prioritySet {
		pt := cfg.Str("PriorityType")
		w, hasW := cfg.Get("PriorityWeightQOS")
		n, err := strconv.ParseInt(strings.TrimSpace(w), 10, 64)
		switch {
		case pt != "" && pt != "priority/multifactor":
			add(SeverityWarning, "priority-type", fmt.Sprintf("PriorityType = %q: the QoS Priority has no effect", pt),
				"set PriorityType=priority/multifactor and PriorityWeightQOS (e.g. 10000) in slurm.conf")
		case !hasW || err != nil || n == 0:
			add(SeverityWarning, "priority-weight-qos", fmt.Sprintf("PriorityWeightQOS = %q: the QoS Priority has no effect (jobs keep Priority=1)", w),
				"set PriorityWeightQOS (e.g. 10000) in slurm.conf and run scontrol reconfigure")
		}
	}

	if in.Job != nil && in.QoS != "" && enforce["qos"] {
		jobAccess(in, add)
	}

	if in.PartitionName != "" {
		p := in.Partition
		switch {
		case p == nil:
			add(SeverityError, "partition-exists", fmt.Sprintf("partition %q does not exist", in.PartitionName),
				"check PartitionName= lines in slurm.conf (`scontrol show partition`)")
		default:
			if p.State != "UP" {
				add(SeverityError, "partition-up", fmt.Sprintf("partition %s is %s: jobs will not start", p.Name, p.State),
					fmt.Sprintf("scontrol update partitionname=%s state=up", p.Name))
			}
			if in.QoS != "" && !p.AllowsQoS(in.QoS) {
				add(SeverityError, "partition-allowqos",
					fmt.Sprintf("partition %s does not allow QoS %s (AllowQos=%s DenyQos=%s)", p.Name, in.QoS, p.Fields.Str("AllowQos"), p.Fields.Str("DenyQos")),
					"add the QoS to AllowQos (or use AllowQos=ALL) for the partition in slurm.conf, then scontrol reconfigure")
			}
			if maxWall.IsLimit() && p.MaxTime.IsLimit() && p.MaxTime.Seconds < maxWall.Seconds {
				add(SeverityInfo, "partition-maxtime",
					fmt.Sprintf("partition %s MaxTime %s is shorter than the QoS MaxWall %s: the partition limit applies first", p.Name, p.MaxTime, maxWall),
					"raise the partition MaxTime, or give the QoS Flags=PartitionTimeLimit to let it override")
			}
		}
	}
	return fs
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jobAccess adds the "qos-access" finding: whether the job user's jobs may
// use the QoS, Slurm enforcing qos. A job without --account runs under
// its user's default account, so that association is the one that counts.
func jobAccess(in PreflightInput, add func(Severity, string, string, string)) {
	j := in.Job
	if j.GrantAccount != "" {
		add(SeverityInfo, "qos-access", fmt.Sprintf("AccountingStorageEnforce includes qos: a grant step gives %s to the users of account %s", in.QoS, j.GrantAccount), "")
		return
	}
	var def string
	var defQoS []string
	var elsewhere []string
	for _, a := range j.Assocs {
		def = a.DefaultAccount
		if a.Account == a.DefaultAccount {
			defQoS = a.QOS
		} else if a.HasQoS(in.QoS) {
			elsewhere = append(elsewhere, a.Account)
		}
	}
	if len(j.Assocs) == 0 {
		add(SeverityError, "qos-access",
			fmt.Sprintf("job user %s has no Slurm association: sbatch refuses their jobs (\"Invalid account or account/partition combination specified\")", j.User),
			fmt.Sprintf("add the user to an account: sudo sacctmgr -i add user %s account=ACCOUNT", j.User))
		return
	}
	if hasQoS(defQoS, in.QoS) {
		add(SeverityInfo, "qos-access", fmt.Sprintf("job user %s may use %s (the association of their default account %s lists it)", j.User, in.QoS, def), "")
		return
	}
	has := strings.Join(defQoS, ",")
	if has == "" {
		has = "no QoS"
	}
	msg := fmt.Sprintf("AccountingStorageEnforce includes qos and no grant step runs, but the association of job user %s (default account %s) lists %s, not %s: "+
		"their job under %s would be refused (\"Invalid qos specification\")", j.User, def, has, in.QoS, in.QoS)
	if len(elsewhere) > 0 {
		msg += fmt.Sprintf("; their association in %s lists it, but a job runs under the default account unless it asks for --account", strings.Join(elsewhere, ", "))
	}
	add(SeverityError, "qos-access", msg,
		fmt.Sprintf("grant it to the users of %s before the job runs (a grant step, or once the QoS exists: sudo sacctmgr -i modify user where account=%s set qos+=%s)", def, def, in.QoS))
}
