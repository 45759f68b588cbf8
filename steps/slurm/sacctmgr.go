package slurm

import (
	"errors"
	"fmt"
	"strings"
)

// Outcome classifies what a sacctmgr invocation did.
type Outcome int

const (
	// OutcomeOK: rc 0, no error text, no add/modify/delete marker (a show).
	OutcomeOK Outcome = iota
	// OutcomeAdded: " Adding QOS(s)" / " Adding Account(s)" / " Adding User(s)" / " Associations =".
	OutcomeAdded
	// OutcomeAlreadyExists: " Nothing new added." (rc 1). Success for an
	// idempotent add.
	OutcomeAlreadyExists
	// OutcomeModified: " Modified qos..." / " Modified user associations...".
	// sacctmgr does no change detection: it prints this even when every
	// value was already set.
	OutcomeModified
	// OutcomeNothingModified: " Nothing modified" (rc 1): the where clause
	// matched nothing (the QoS/account does not exist or has no users).
	OutcomeNothingModified
	// OutcomeDeleted: " Deleting QOS(s)...".
	OutcomeDeleted
	// OutcomeNothingDeleted: " Nothing deleted" (rc 1). Success for an
	// idempotent delete.
	OutcomeNothingDeleted
	// OutcomeDiscarded: " Changes Discarded" — the change was NOT
	// committed, even though rc is 0.
	OutcomeDiscarded
	// OutcomePromptLoop: "Y or N please" — run without -i with stdin at EOF.
	OutcomePromptLoop
	// OutcomePermissionDenied: not a Slurm administrator / not root.
	OutcomePermissionDenied
	// OutcomeUnknownTRES: a TRES the database does not know.
	OutcomeUnknownTRES
	// OutcomeInvalidArgument: sacctmgr rejected the command line (unknown
	// option/flag, bad time format, invalid value).
	OutcomeInvalidArgument
	// OutcomeDBDown: slurmdbd unreachable.
	OutcomeDBDown
	// OutcomeError: anything else that failed (rc != 0, or "error:" on
	// stderr even with rc 0).
	OutcomeError
)

var outcomeNames = [...]string{"ok", "added", "already-exists", "modified", "nothing-modified", "deleted",
	"nothing-deleted", "discarded", "prompt-loop", "permission-denied", "unknown-tres", "invalid-argument", "db-down", "error"}

func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Result is the classification of one sacctmgr run.
type Result struct {
	Outcome Outcome
	// Success: the state the command asked for now holds. True for OK,
	// Added, AlreadyExists, Modified, Deleted and NothingDeleted.
	Success bool
	// Changed: the command changed the database (Added, Modified, Deleted).
	Changed bool
	// Detail is the line of output the classification is based on.
	Detail string
	// Hint tells the admin what to do about a failure.
	Hint string
}

// Err returns nil when r.Success, otherwise an error carrying the outcome,
// the detail line and the hint.
func (r Result) Err() error {
	if r.Success {
		return nil
	}
	return &SacctmgrError{Result: r}
}

// SacctmgrError is the error form of a failed Result.
type SacctmgrError struct{ Result Result }

func (e *SacctmgrError) Error() string {
	s := "sacctmgr: " + e.Result.Outcome.String()
	if e.Result.Detail != "" {
		s += ": " + e.Result.Detail
	}
	if e.Result.Hint != "" {
		s += " (hint: " + e.Result.Hint + ")"
	}
	return s
}

// ErrSacctmgr lets callers test errors.Is(err, ErrSacctmgr).
var ErrSacctmgr = errors.New("sacctmgr failed")

// Is makes every *SacctmgrError match ErrSacctmgr.
func (e *SacctmgrError) Is(target error) bool { return target == ErrSacctmgr }

// Hints (from the seed guide's troubleshooting section and the facts note).
const (
	HintPermission = "run it as root (step option become = true, i.e. sudo -n) or make the runbook user a Slurm administrator: " +
		"sacctmgr -i add user NAME account=ACCOUNT adminlevel=Administrator"
	HintDBDown = "slurmdbd is not reachable (AccountingStorageHost/Port in slurm.conf): check that munged, the database and " +
		"slurmdbd run, in that order; `sacctmgr -n list cluster` is the readiness probe"
	HintPromptLoop = "sacctmgr ran without -i and its stdin was at EOF, so it loops forever printing \"Y or N please\" " +
		"(megabytes per second): kill it and always pass -i"
	HintDiscarded = "the change was NOT committed (\" Changes Discarded\", even with rc 0): sacctmgr ran without -i and the " +
		"commit prompt was answered 'n' or timed out after 30 s; rerun with -i"
	HintNothingModified = "the where clause matched nothing: check that the QoS/account exists (sacctmgr show qos NAME) " +
		"and, for user associations, that the account has users (sacctmgr show assoc where account=NAME)"
	HintTRESGPU   = "write gres/gpu=2, not gpu=2; and AccountingStorageTRES in slurm.conf must list gres/gpu"
	HintTRESColon = "TRES limits are TYPE=COUNT (gres/gpu=2); TYPE:COUNT is the sbatch --gres syntax. " +
		"Slurm 22.05 has no GPU-memory TRES: gres/gpu:20000 is not a memory limit and gres/gpu=20000 means 20000 GPUs"
	HintTRESGPUMem  = "Slurm 22.05 has no GPU-memory TRES; limit the number of GPUs (gres/gpu=N) instead"
	HintTRESUnknown = "the TRES is not in the accounting database: list it in AccountingStorageTRES (e.g. gres/gpu) and " +
		"restart slurmctld once against this slurmdbd so it registers the TRES"
	HintInvalidArg = "sacctmgr rejected the command line; check the field names and value formats " +
		"(MaxWall: [D-]HH:MM:SS or minutes; GraceTime: seconds)"
)

// ClassifySacctmgr classifies a sacctmgr run from its stdout, stderr and
// exit code. The order of the checks matters: a permission-denied add
// still prints " Adding QOS(s)" on stdout, and a discarded change exits 0.
func ClassifySacctmgr(stdout, stderr []byte, exitCode int) Result {
	out, errOut := string(stdout), string(stderr)
	all := errOut + "\n" + out
	fail := func(o Outcome, detail, hint string) Result {
		return Result{Outcome: o, Detail: detail, Hint: hint}
	}
	ok := func(o Outcome, changed bool, detail string) Result {
		return Result{Outcome: o, Success: true, Changed: changed, Detail: detail}
	}

	if l := findLine(all, "slurm_persist_conn_open_without_init", "_open_persist_conn", "Sending PersistInit msg",
		"Problem talking to the database"); l != "" {
		return fail(OutcomeDBDown, l, HintDBDown)
	}
	if l := findLine(all, "Access/permission denied", "doesn't have privilege", "sufficient privileges",
		"not running with sufficient"); l != "" {
		return fail(OutcomePermissionDenied, l, HintPermission)
	}
	if l := findLine(all, "no TRES known by type", "no TRES id found"); l != "" {
		return fail(OutcomeUnknownTRES, l, tresHint(l))
	}
	if l := findLine(out, "Y or N please"); l != "" {
		return fail(OutcomePromptLoop, l, HintPromptLoop)
	}
	if l := findLine(out, "Changes Discarded"); l != "" {
		return fail(OutcomeDiscarded, l, HintDiscarded)
	}
	if l := findLine(all, " Unknown option", " Unknown condition", "Unknown field", " Bad ", "Unknown QOS flag",
		"Invalid value for", "You didn't give me anything to set", "You gave me an empty", "Need name of",
		"Unknown preempt_mode", "Bad Preempt Mode"); l != "" {
		return fail(OutcomeInvalidArgument, l, HintInvalidArg)
	}
	if l := findLine(errOut, "error:", "fatal:", " Problem "); l != "" {
		return fail(OutcomeError, l, "")
	}
	if l := findLine(out, " Nothing new added."); l != "" {
		return ok(OutcomeAlreadyExists, false, l)
	}
	if l := findLine(out, " Nothing modified"); l != "" {
		return fail(OutcomeNothingModified, l, HintNothingModified)
	}
	if l := findLine(out, " Nothing deleted"); l != "" {
		return ok(OutcomeNothingDeleted, false, l)
	}
	if exitCode != 0 {
		l := firstLine(errOut)
		if l == "" {
			l = firstLine(out)
		}
		return fail(OutcomeError, fmt.Sprintf("exit code %d: %s", exitCode, l), "")
	}
	if l := findLine(out, " Adding ", " Associations ="); l != "" {
		return ok(OutcomeAdded, true, l)
	}
	if l := findLine(out, " Modified "); l != "" {
		return ok(OutcomeModified, true, l)
	}
	if l := findLine(out, " Deleting "); l != "" {
		return ok(OutcomeDeleted, true, l)
	}
	return ok(OutcomeOK, false, "")
}

func tresHint(line string) string {
	l := strings.ToLower(line)
	switch {
	case isGPUMemoryKey(l):
		return HintTRESGPUMem
	case strings.Contains(l, "no tres id found for") && strings.Contains(afterLast(l, "found for"), ":"):
		return HintTRESColon
	case strings.HasSuffix(strings.TrimSpace(l), "known by type gpu"):
		return HintTRESGPU
	}
	return HintTRESUnknown
}

func afterLast(s, sep string) string {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[i+len(sep):]
	}
	return s
}

// findLine returns the first line of s containing any of the needles,
// trimmed, or "".
func findLine(s string, needles ...string) string {
	for _, line := range strings.Split(s, "\n") {
		for _, n := range needles {
			if strings.Contains(line, n) {
				return strings.TrimSpace(line)
			}
		}
	}
	return ""
}

func firstLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(line); t != "" {
			return t
		}
	}
	return ""
}
