package slurm

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultSacctFields is the format= list SacctArgv uses when none is given.
var DefaultSacctFields = []string{"JobID", "User", "QOS", "Partition", "AllocTRES", "State", "Elapsed", "ExitCode"}

// DefaultSacctStart is the --starttime used when neither JobIDs nor Start
// is given. sacct's own default is midnight today, which silently drops a
// job submitted at 23:59 and checked at 00:00:05.
const DefaultSacctStart = "now-1days"

// SacctFilter selects accounting records.
type SacctFilter struct {
	JobIDs     []string // numeric ids, optionally with an array index (12_3)
	QOS        []string
	Users      []string // empty: --allusers (a non-root caller otherwise sees only its own jobs)
	Accounts   []string
	Partitions []string
	// Start and End are passed to --starttime/--endtime: YYYY-MM-DD[THH:MM[:SS]],
	// HH:MM[:SS], now[-N{seconds,minutes,hours,days,weeks}], or MMDD[YY].
	Start, End string
	Fields     []string // default DefaultSacctFields
}

// removedSacctFields are format fields sacct 22.05 rejects with a fatal
// error.
var removedSacctFields = map[string]string{
	"allocgres": "AllocGRES was removed in Slurm 22.05; use AllocTRES (e.g. gres/gpu=1 appears in AllocTRES)",
	"reqgres":   "ReqGRES was removed in Slurm 22.05; use ReqTRES",
}

// SacctArgv builds `sacct -X -P -n [filters] --format=...`.
//
//   - -X: allocations only, so the N.batch / N.extern step rows do not
//     appear (they have an empty User/QOS and a different AllocTRES).
//   - -P -n: '|'-separated without header; fixed-width output truncates
//     (`billing=1+`, `CANCELLED+`).
//   - --allusers when no user filter is given.
//   - --starttime DefaultSacctStart when neither job ids nor a start time
//     are given (with -j sacct searches from the epoch by itself).
func SacctArgv(f SacctFilter) ([]string, error) {
	fields := f.Fields
	if len(fields) == 0 {
		fields = DefaultSacctFields
	}
	for _, fl := range fields {
		if msg, bad := removedSacctFields[strings.ToLower(fl)]; bad {
			return nil, errors.New(msg)
		}
		if strings.Contains(fl, "%") {
			return nil, fmt.Errorf("sacct field %q: a %%width is pointless with -P (values are never truncated)", fl)
		}
		if !isFieldName(fl) {
			return nil, fmt.Errorf("sacct field %q: not a field name", fl)
		}
	}
	argv := []string{"sacct", "-X", "-P", "-n"}
	if len(f.JobIDs) > 0 {
		for _, id := range f.JobIDs {
			if !validJobID(id) {
				return nil, fmt.Errorf("job id %q: want digits, optionally _INDEX or +OFFSET", id)
			}
		}
		argv = append(argv, "--jobs="+strings.Join(f.JobIDs, ","))
	}
	if len(f.QOS) > 0 {
		if err := validateAll(KindQoS, f.QOS); err != nil {
			return nil, err
		}
		argv = append(argv, "--qos="+strings.Join(f.QOS, ","))
	}
	if len(f.Users) > 0 {
		if err := validateAll(KindUser, f.Users); err != nil {
			return nil, err
		}
		argv = append(argv, "--user="+strings.Join(f.Users, ","))
	} else {
		argv = append(argv, "--allusers")
	}
	if len(f.Accounts) > 0 {
		if err := validateAll(KindAccount, f.Accounts); err != nil {
			return nil, err
		}
		argv = append(argv, "--accounts="+strings.Join(f.Accounts, ","))
	}
	if len(f.Partitions) > 0 {
		if err := validateAll(KindPartition, f.Partitions); err != nil {
			return nil, err
		}
		argv = append(argv, "--partition="+strings.Join(f.Partitions, ","))
	}
	start := f.Start
	if start == "" && len(f.JobIDs) == 0 {
		start = DefaultSacctStart
	}
	if start != "" {
		if !validSacctTime(start) {
			return nil, fmt.Errorf("start time %q: want YYYY-MM-DD[THH:MM[:SS]], HH:MM[:SS] or now[-N(seconds|minutes|hours|days|weeks)]", start)
		}
		argv = append(argv, "--starttime="+start)
	}
	if f.End != "" {
		if !validSacctTime(f.End) {
			return nil, fmt.Errorf("end time %q: want YYYY-MM-DD[THH:MM[:SS]], HH:MM[:SS] or now[-N(seconds|minutes|hours|days|weeks)]", f.End)
		}
		argv = append(argv, "--endtime="+f.End)
	}
	return append(argv, "--format="+strings.Join(fields, ",")), nil
}

func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func validJobID(s string) bool {
	id, idx, hasIdx := strings.Cut(s, "_")
	if !hasIdx {
		id, idx, hasIdx = strings.Cut(s, "+")
	}
	if !isDigits(id) || len(id) > 12 {
		return false
	}
	return !hasIdx || (isDigits(idx) && len(idx) <= 9)
}

// validSacctTime accepts the time forms sacct documents, with a strict
// character set so the value cannot smuggle anything into argv.
func validSacctTime(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	l := strings.ToLower(s)
	if strings.HasPrefix(l, "now") {
		rest := l[3:]
		if rest == "" {
			return true
		}
		if rest[0] != '-' && rest[0] != '+' {
			return false
		}
		rest = rest[1:]
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return false
		}
		switch rest[i:] {
		case "", "seconds", "minutes", "hours", "days", "weeks":
			return true
		}
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r == '-' || r == ':' || r == 'T') {
			return false
		}
	}
	return true
}

// SacctRecord is one allocation row.
type SacctRecord struct {
	JobID     string
	User      string
	QOS       string
	Partition string
	State     string // normalised: CANCELLED, not "CANCELLED by 1002"
	RawState  string
	AllocTRES TRES
	ExitCode  int
	Signal    int
	// Fields holds every requested column as printed, keyed by the field
	// name passed to SacctArgv.
	Fields Record
}

// ParseSacct parses the output of SacctArgv(f) given the same field list
// (nil for DefaultSacctFields). Unparsable AllocTRES/ExitCode values are
// errors; they indicate the wrong column order.
func ParseSacct(out []byte, fields []string) ([]SacctRecord, error) {
	if len(fields) == 0 {
		fields = DefaultSacctFields
	}
	t, err := ParseParsableNoHeader(out, fields)
	if err != nil {
		return nil, err
	}
	recs := make([]SacctRecord, 0, len(t.Rows))
	for i, m := range t.Maps() {
		r := SacctRecord{
			JobID: m.Str("JobID"), User: m.Str("User"), QOS: m.Str("QOS"), Partition: m.Str("Partition"),
			RawState: m.Str("State"), State: NormalizeState(m.Str("State")), Fields: m,
		}
		if v, ok := m.Get("AllocTRES"); ok {
			if r.AllocTRES, err = ParseTRES(v); err != nil {
				return nil, fmt.Errorf("sacct row %d: AllocTRES: %w", i+1, err)
			}
		}
		if v, ok := m.Get("ExitCode"); ok && v != "" {
			if r.ExitCode, r.Signal, err = ParseExitCode(v); err != nil {
				return nil, fmt.Errorf("sacct row %d: %w", i+1, err)
			}
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// RecordComplete reports whether an accounting row is complete enough to
// judge. For ~1-5 s after a job ends, `sacct -j ID` already shows the final
// State but QOS=Unknown and an empty Partition (facts §8.5: slurmctld sends
// the full record to slurmdbd out of band), and time-window queries
// (--qos, -u) do not list the job at all. Poll (>= 10 s budget) until this
// returns true. Columns that were not requested are not judged.
func RecordComplete(r SacctRecord) bool {
	if _, ok := r.Fields.Get("QOS"); ok && (r.QOS == "" || strings.EqualFold(r.QOS, "Unknown")) {
		return false
	}
	if _, ok := r.Fields.Get("Partition"); ok && r.Partition == "" {
		return false
	}
	if _, ok := r.Fields.Get("User"); ok && r.User == "" {
		return false
	}
	return true
}
