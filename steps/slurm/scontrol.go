package slurm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// restOfLineKeys are scontrol show job keys that start their own line and
// whose value runs to the end of the line, spaces included (paths and
// commands). JobName is the last key of the first line and may contain
// spaces too.
var restOfLineKeys = map[string]bool{
	"Command": true, "WorkDir": true, "StdErr": true, "StdIn": true, "StdOut": true,
	"Comment": true, "AdminComment": true, "SystemComment": true, "JobName": true,
}

// isKeyToken reports whether tok looks like the start of a Key=value pair.
// Keys in scontrol output are made of letters, digits and : / _ ( ) -
// (`ReqB:S:C:T=`, `Socks/Node=`, `CPUs/Task=`, `AllocNode:Sid=`).
func isKeyToken(tok string) (key, val string, ok bool) {
	i := strings.IndexByte(tok, '=')
	if i <= 0 {
		return "", "", false
	}
	k := tok[:i]
	if !(k[0] >= 'A' && k[0] <= 'Z' || k[0] >= 'a' && k[0] <= 'z') {
		return "", "", false
	}
	for j := 0; j < len(k); j++ {
		c := k[j]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == ':' || c == '/' || c == '_' || c == '(' || c == ')' || c == '-') {
			return "", "", false
		}
	}
	return k, tok[i+1:], true
}

// parseKeyValueBlock parses the Key=value layout of `scontrol show job` /
// `show partition` / `show node` for one record. multiline selects the
// default layout (one record over several indented lines, rest-of-line
// keys honoured); the `-o` one-line layout has no reliable way to carry
// spaces, so there a token without '=' is glued to the previous value.
func parseKeyValueBlock(lines []string, multiline bool) Record {
	r := Record{}
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if multiline {
			// Command=, WorkDir=, StdOut=, ... start their own line.
			if k, v, ok := isKeyToken(line); ok && restOfLineKeys[k] {
				r[k] = v
				continue
			}
		}
		last := ""
		for _, tok := range strings.Fields(line) {
			k, v, ok := isKeyToken(tok)
			if !ok {
				// A value with spaces (-o layout, or a key not known to
				// take the rest of its line): glue it back together.
				if last != "" {
					r[last] += " " + tok
				}
				continue
			}
			if multiline && k == "JobName" {
				// Last key of the first line; the name may contain spaces.
				if i := strings.Index(line, "JobName="); i >= 0 {
					v = line[i+len("JobName="):]
				}
				r[k] = v
				break
			}
			r[k] = v
			last = k
		}
	}
	return r
}

// splitRecords splits scontrol output into records separated by blank
// lines, and drops the trailing whitespace-only lines scontrol prints.
func splitRecords(out []byte) [][]string {
	var recs [][]string
	var cur []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSuffix(l, "\r")
		if strings.TrimSpace(l) == "" {
			if len(cur) > 0 {
				recs = append(recs, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, l)
	}
	if len(cur) > 0 {
		recs = append(recs, cur)
	}
	return recs
}

// Job is the part of `scontrol show job ID` runbook needs.
type Job struct {
	JobID     string
	JobName   string
	User      string // name part of UserId=koopark(1002)
	UID       int    // -1 when not printed
	Account   string
	QOS       string
	Partition string
	JobState  string // as printed: PENDING, RUNNING, COMPLETED, ...
	Reason    string // None, QOSMaxGRESPerUser, NonZeroExitCode, ...
	ExitCode  int    // ExitCode=127:0 -> 127
	Signal    int    // ExitCode=127:0 -> 0
	StdOut    string
	StdErr    string
	WorkDir   string
	TRES      TRES   // allocated (running/finished) or requested (pending) TRES
	TRESRaw   string // TRES= as printed
	// TresPerNode is the GRES request as printed (gres:gpu:1). It is
	// the sbatch --gres syntax, not a TRES list.
	TresPerNode string
	NodeList    string
	TimeLimit   Duration
	SubmitTime  string // as printed (local time of the controller), "" for Unknown/None
	StartTime   string
	EndTime     string
	// Fields holds every key=value pair as printed.
	Fields Record
}

// ErrJobNotFound: `slurm_load_jobs error: Invalid job id specified`. The
// controller forgets finished jobs after MinJobAge (300 s by default):
// fall back to sacct.
var ErrJobNotFound = errors.New("job not known to slurmctld (finished more than MinJobAge ago, or wrong id): use sacct")

// ParseScontrolJob parses the output of `scontrol show job ID` (default or
// -o layout). It returns ErrJobNotFound for the "Invalid job id" message
// (which scontrol prints on stderr; pass stdout and stderr concatenated or
// check stderr with IsJobNotFound).
func ParseScontrolJob(out []byte) (*Job, error) {
	jobs, err := ParseScontrolJobs(out)
	if err != nil {
		return nil, err
	}
	if len(jobs) != 1 {
		return nil, fmt.Errorf("scontrol show job: %d job records, want 1", len(jobs))
	}
	return &jobs[0], nil
}

// IsJobNotFound reports whether scontrol's output says the job id is
// unknown.
func IsJobNotFound(out []byte) bool {
	return strings.Contains(string(out), "Invalid job id specified")
}

// ParseScontrolJobs parses one or more job records (`scontrol show job`
// without an id, or an array job).
func ParseScontrolJobs(out []byte) ([]Job, error) {
	if IsJobNotFound(out) {
		return nil, ErrJobNotFound
	}
	var jobs []Job
	for _, rec := range splitRecords(out) {
		multiline := true
		if len(rec) == 1 && strings.Contains(rec[0], " JobState=") {
			multiline = false
		}
		// A -o dump is one record per line with no blank lines between.
		if !multiline || (len(rec) > 1 && strings.HasPrefix(rec[1], "JobId=")) {
			for _, l := range rec {
				j, err := jobFromRecord(parseKeyValueBlock([]string{l}, false))
				if err != nil {
					return nil, err
				}
				jobs = append(jobs, j)
			}
			continue
		}
		j, err := jobFromRecord(parseKeyValueBlock(rec, true))
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		return nil, errors.New("scontrol show job: no job record in output")
	}
	return jobs, nil
}

func jobFromRecord(r Record) (Job, error) {
	id := r.Str("JobId")
	if id == "" {
		return Job{}, errors.New("scontrol show job: record without JobId=")
	}
	j := Job{
		JobID: id, JobName: r.Str("JobName"), Account: r.Str("Account"), QOS: r.Str("QOS"),
		Partition: r.Str("Partition"), JobState: r.Str("JobState"), Reason: r.Str("Reason"),
		StdOut: r.Str("StdOut"), StdErr: r.Str("StdErr"), WorkDir: r.Str("WorkDir"),
		TRESRaw: r.Str("TRES"), TresPerNode: r.Str("TresPerNode"), NodeList: r.Str("NodeList"),
		SubmitTime: timeField(r.Str("SubmitTime")), StartTime: timeField(r.Str("StartTime")), EndTime: timeField(r.Str("EndTime")),
		UID: -1, Fields: r,
	}
	j.User, j.UID = splitNameID(r.Str("UserId"))
	var err error
	if ec, ok := r.Get("ExitCode"); ok {
		if j.ExitCode, j.Signal, err = ParseExitCode(ec); err != nil {
			return Job{}, fmt.Errorf("job %s: %w", id, err)
		}
	}
	// TRES and TimeLimit are informative: a value this package cannot read
	// (a newer Slurm's syntax) leaves them empty rather than failing the
	// whole job; TRESRaw and Fields keep the text.
	if t, ok := r.Get("TRES"); ok {
		if tr, err := ParseTRES(t); err == nil {
			j.TRES = tr
		}
	}
	if tl, ok := r.Get("TimeLimit"); ok {
		if d, err := ParseDuration(tl, UnitMinutes); err == nil {
			j.TimeLimit = d
		}
	}
	return j, nil
}

func timeField(s string) string {
	switch s {
	case "Unknown", "None", "N/A", "(null)":
		return ""
	}
	return s
}

// splitNameID splits `koopark(1002)` into ("koopark", 1002).
func splitNameID(s string) (string, int) {
	i := strings.IndexByte(s, '(')
	if i < 0 || !strings.HasSuffix(s, ")") {
		return s, -1
	}
	id, err := strconv.Atoi(s[i+1 : len(s)-1])
	if err != nil {
		return s[:i], -1
	}
	return s[:i], id
}

// ParseExitCode parses `127:0` (exit status : signal), as printed by
// scontrol (ExitCode=) and sacct (ExitCode column).
func ParseExitCode(s string) (exit, signal int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || !isDigits(a) || !isDigits(b) || len(a) > 6 || len(b) > 6 {
		return 0, 0, fmt.Errorf("exit code %q: want STATUS:SIGNAL", s)
	}
	exit, _ = strconv.Atoi(a)
	signal, _ = strconv.Atoi(b)
	return exit, signal, nil
}

// NormalizeState reduces a job state as printed by scontrol or sacct to
// its base name: `CANCELLED by 1002` -> CANCELLED, `CANCELLED+` (a
// truncated fixed-width cell) -> CANCELLED, `running` -> RUNNING.
func NormalizeState(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return strings.ToUpper(strings.TrimRight(f[0], "+"))
}

var terminalStates = map[string]bool{
	"COMPLETED": true, "FAILED": true, "CANCELLED": true, "TIMEOUT": true, "NODE_FAIL": true,
	"PREEMPTED": true, "OUT_OF_MEMORY": true, "BOOT_FAIL": true, "DEADLINE": true, "REVOKED": true,
}

// IsTerminal reports whether a job in this state will not change any more.
// COMPLETING is not terminal (epilog still running); neither are
// REQUEUED, SUSPENDED, RESIZING, SPECIAL_EXIT (held after a requeue).
func IsTerminal(state string) bool { return terminalStates[NormalizeState(state)] }

// ParseKeyValues parses the Key=value layout of `scontrol show partition
// NAME` (or node, reservation). It returns ErrPartitionNotFound for
// `Partition NAME not found`.
func ParseKeyValues(out []byte) (Record, error) {
	if strings.Contains(string(out), " not found") && !strings.Contains(string(out), "=") {
		return nil, fmt.Errorf("%w: %s", ErrPartitionNotFound, strings.TrimSpace(string(out)))
	}
	recs := splitRecords(out)
	if len(recs) != 1 {
		return nil, fmt.Errorf("scontrol: %d records, want 1", len(recs))
	}
	return parseKeyValueBlock(recs[0], true), nil
}

// ErrPartitionNotFound: `Partition nosuch not found` (stdout, rc 1).
var ErrPartitionNotFound = errors.New("partition not found")

// Partition is the part of `scontrol show partition NAME` preflight needs.
type Partition struct {
	Name     string
	State    string   // UP, DOWN, DRAIN, INACTIVE
	AllowQos []string // lower case; ["all"] when unrestricted
	DenyQos  []string
	QoS      string // the partition QoS (QoS=N/A -> "")
	MaxTime  Duration
	Fields   Record
}

// ParsePartition parses `scontrol show partition NAME`.
func ParsePartition(out []byte) (*Partition, error) {
	r, err := ParseKeyValues(out)
	if err != nil {
		return nil, err
	}
	name := r.Str("PartitionName")
	if name == "" {
		return nil, errors.New("scontrol show partition: no PartitionName=")
	}
	p := &Partition{Name: name, State: strings.ToUpper(r.Str("State")), Fields: r}
	if v, ok := r.Get("AllowQos"); ok {
		p.AllowQos = splitList(v)
	}
	if v, ok := r.Get("DenyQos"); ok {
		p.DenyQos = splitList(v)
	}
	if q := r.Str("QoS"); q != "N/A" {
		p.QoS = q
	}
	if mt, ok := r.Get("MaxTime"); ok {
		if p.MaxTime, err = ParseDuration(mt, UnitMinutes); err != nil {
			return nil, fmt.Errorf("partition %s: MaxTime: %w", name, err)
		}
	}
	return p, nil
}

// AllowsQoS reports whether jobs of qos may run in the partition
// (AllowQos=ALL or lists it, and DenyQos does not).
func (p *Partition) AllowsQoS(qos string) bool {
	q := strings.ToLower(qos)
	for _, d := range p.DenyQos {
		if d == q {
			return false
		}
	}
	if p.AllowQos == nil {
		return true // not printed: no AllowQos restriction
	}
	for _, a := range p.AllowQos {
		if a == "all" || a == q {
			return true
		}
	}
	return false
}

// ParseScontrolConfig parses `scontrol show config`: `Key = Value` lines
// (the key padded to 23 columns). The header ("Configuration data as of"),
// section titles ("Cgroup Support Configuration:") and the trailing ping
// line are skipped; values may contain '=' (SchedulerParameters =
// batch_sched_delay=0). The first occurrence of a key wins, so plugin
// sections cannot shadow a slurm.conf key.
func ParseScontrolConfig(out []byte) (Record, error) {
	r := Record{}
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSuffix(l, "\r")
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		if _, dup := r[k]; !dup {
			r[k] = strings.TrimSpace(v)
		}
	}
	if len(r) == 0 {
		return nil, errors.New("scontrol show config: no `Key = Value` lines")
	}
	return r, nil
}

// ParseSbatchParsable parses `sbatch --parsable` stdout: `17` or
// `17;cluster`. Warnings go to stderr, so stdout holds only the id line.
func ParseSbatchParsable(stdout []byte) (jobID string, cluster string, err error) {
	var line string
	for _, l := range strings.Split(string(stdout), "\n") {
		if t := strings.TrimSpace(l); t != "" {
			if line != "" {
				return "", "", fmt.Errorf("sbatch --parsable: more than one line of output: %q", truncate(string(stdout), 200))
			}
			line = t
		}
	}
	id, cl, _ := strings.Cut(line, ";")
	if !isDigits(id) || len(id) > 12 {
		if strings.HasPrefix(line, "Submitted batch job") {
			return "", "", fmt.Errorf("sbatch output %q: --parsable was not passed", line)
		}
		return "", "", fmt.Errorf("sbatch --parsable: %q is not a job id", truncate(line, 200))
	}
	return id, cl, nil
}
