package steps

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps/slurm"
	"github.com/zclconf/go-cty/cty"
)

// test_job submits a batch job, waits for it to finish and asserts where it
// ran and what it printed: the guide's "Testing the QoS" section. The job
// is cancelled when the run fails, times out or is interrupted.
//
// The job runs in a fresh private directory of the job user (mktemp -d,
// mode 0700, an unpredictable name), so a relative output path, such as
// the built script's, is where no other user can put a file first or read
// or change the output before it is checked.
//
//	step "test_job" "gpu_test" {
//	  script        = file("test_moonlight_qos.sh")   # or let runbook build one
//	  qos           = "moonlight"
//	  partition     = "viz"
//	  expect_output = ["QoS: moonlight", "Test completed successfully!"]
//	  timeout       = "10m"
//	}
type testJobKind struct{}

func init() { register("test_job", testJobKind{}) }

func (testJobKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"script":          &hcldec.AttrSpec{Name: "script", Type: cty.String},
		"script_path":     &hcldec.AttrSpec{Name: "script_path", Type: cty.String},
		"user":            &hcldec.AttrSpec{Name: "user", Type: cty.String},
		"qos":             &hcldec.AttrSpec{Name: "qos", Type: cty.String},
		"partition":       &hcldec.AttrSpec{Name: "partition", Type: cty.String},
		"gres":            &hcldec.AttrSpec{Name: "gres", Type: cty.String},
		"time":            &hcldec.AttrSpec{Name: "time", Type: cty.String},
		"job_name":        &hcldec.AttrSpec{Name: "job_name", Type: cty.String},
		"output":          &hcldec.AttrSpec{Name: "output", Type: cty.String},
		"run":             &hcldec.AttrSpec{Name: "run", Type: cty.String},
		"expect_state":    &hcldec.AttrSpec{Name: "expect_state", Type: cty.String},
		"expect_exit":     &hcldec.AttrSpec{Name: "expect_exit", Type: cty.Number},
		"expect_output":   &hcldec.AttrSpec{Name: "expect_output", Type: cty.List(cty.String)},
		"pending_timeout": &hcldec.AttrSpec{Name: "pending_timeout", Type: cty.String},
	}
}

func (testJobKind) ReadOnly() bool { return false }

// PlansAhead: a test job's plan probes nothing; it always runs.
func (testJobKind) PlansAhead() bool { return true }

func (testJobKind) Decode(cfg cty.Value) (Step, error) {
	s := &testJobStep{}
	var err error
	for attr, dst := range map[string]*string{"script": &s.script, "script_path": &s.scriptPath, "user": &s.user,
		"qos": &s.qos, "partition": &s.partition, "gres": &s.gres, "time": &s.time, "job_name": &s.jobName,
		"output": &s.output, "run": &s.run, "expect_state": &s.expectState} {
		if *dst, err = attrString(cfg, attr); err != nil {
			return nil, err
		}
	}
	if s.expectExit, err = attrInt(cfg, "expect_exit", 0); err != nil {
		return nil, err
	}
	if s.expectOutput, err = attrStrings(cfg, "expect_output"); err != nil {
		return nil, err
	}
	s.pendingTimeout = 30 * time.Second
	if pt, _ := attrString(cfg, "pending_timeout"); pt != "" {
		if s.pendingTimeout, err = time.ParseDuration(pt); err != nil {
			return nil, &AttrError{Attr: "pending_timeout", Err: err}
		}
	}
	if s.expectState == "" {
		s.expectState = "COMPLETED"
	}
	if s.user != "" {
		if err := requireName(slurm.KindUser, "user", s.user); err != nil {
			return nil, err
		}
	}
	if s.qos != "" {
		if err := requireName(slurm.KindQoS, "qos", s.qos); err != nil {
			return nil, err
		}
	}
	if s.partition != "" {
		if err := requireName(slurm.KindPartition, "partition", s.partition); err != nil {
			return nil, err
		}
	}
	if s.script == "" {
		if s.script, err = s.buildScript(); err != nil {
			return nil, err
		}
	}
	if !strings.HasPrefix(s.script, "#!") {
		return nil, &AttrError{Attr: "script", Err: fmt.Errorf("a batch script starts with #! (e.g. #!/bin/bash)")}
	}
	if n, line := directiveAfterCommand(s.script); n > 0 {
		return nil, &AttrError{Attr: "script", Err: fmt.Errorf("line %d (%q) is an #SBATCH directive after the script's first command, which sbatch ignores; "+
			"a value with a newline written into an earlier #SBATCH line (e.g. by templatefile) does this too", n, line)}
	}
	if s.scriptPath == "" {
		s.scriptPath = "/tmp/runbook-test-job.sh"
	}
	if !strings.HasPrefix(s.scriptPath, "/") {
		return nil, &AttrError{Attr: "script_path", Err: fmt.Errorf("script_path must be absolute")}
	}
	return s, nil
}

// directiveAfterCommand finds the first #SBATCH line after a command
// (a line that is neither blank nor a comment): sbatch stops reading
// directives there, so the job would run without it.
func directiveAfterCommand(script string) (lineNo int, line string) {
	command := false
	for i, l := range strings.Split(script, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "#SBATCH") && command:
			return i + 1, t
		case t != "" && !strings.HasPrefix(t, "#"):
			command = true
		}
	}
	return 0, ""
}

var safeDirective = regexp.MustCompile(`^[A-Za-z0-9_.:/%=,+-]*$`)

// buildScript writes a batch script from attributes when none is given.
func (s *testJobStep) buildScript() (string, error) {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	for _, d := range []struct{ opt, val, attr string }{
		{"--job-name", orDefault(s.jobName, "runbook-test-job"), "job_name"}, {"--partition", s.partition, "partition"},
		{"--qos", s.qos, "qos"}, {"--gres", s.gres, "gres"}, {"--time", orDefault(s.time, "00:05:00"), "time"},
		{"--output", orDefault(s.output, "runbook-test-job-%j.out"), "output"},
	} {
		if d.val == "" {
			continue
		}
		if !safeDirective.MatchString(d.val) {
			return "", &AttrError{Attr: d.attr, Err: fmt.Errorf("%q has characters a #SBATCH line cannot carry", d.val)}
		}
		fmt.Fprintf(&b, "#SBATCH %s=%s\n", d.opt, d.val)
	}
	b.WriteString(`echo "Job ID: $SLURM_JOB_ID"` + "\n")
	b.WriteString(`echo "QoS: $SLURM_JOB_QOS"` + "\n")
	b.WriteString(`echo "Partition: $SLURM_JOB_PARTITION"` + "\n")
	b.WriteString(`echo "GPU: $CUDA_VISIBLE_DEVICES"` + "\n")
	if s.run != "" {
		b.WriteString(s.run + "\n")
	}
	b.WriteString(`echo "Test completed successfully!"` + "\n")
	return b.String(), nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// The guide's test has three checklist lines (submit the job, confirm its
// QoS, check its log); each command and note is labelled with the one it
// proves, so the checklist shows the sbatch under the first, scontrol's
// QOS= under the second and the log under the third, not all under each.
const (
	lineSubmit = 1
	lineQoS    = 2
	lineLog    = 3
)

type testJobStep struct {
	script, scriptPath, user   string
	qos, partition, gres, time string
	jobName, output, run       string
	expectState                string
	expectExit                 int
	expectOutput               []string
	pendingTimeout             time.Duration

	mu       sync.Mutex
	jobID    string
	login    string
	finished bool
}

// Resources: a test job needs its QoS, and adds a job (and its
// accounting record) under it, which sacct_check reads.
func (s *testJobStep) Resources() (reads, writes []string) {
	if s.qos == "" {
		return nil, nil
	}
	return []string{"qos/" + s.qos}, []string{"jobs/" + s.qos}
}

func (s *testJobStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	return Proposal{
		Action:  Run,
		Summary: fmt.Sprintf("will run: sbatch --parsable %s (test job; not run in a plan)", s.scriptPath),
		Commands: []string{
			fmt.Sprintf("upload %s (%d bytes, mode 0755)", s.scriptPath, len(s.script)),
			s.asDisplay(strings.Join(privateDirArgv, " ") + "   (the job's private working directory, DIR)"),
			s.asDisplay("sbatch --parsable --chdir=DIR " + s.scriptPath),
			"scontrol show job <JOBID>   (polled until the job ends)",
			s.asDisplay("cat <the job's StdOut file>"),
		},
	}, nil
}

func (s *testJobStep) asDisplay(cmd string) string {
	if s.user != "" {
		return "as " + s.user + ": " + cmd
	}
	return cmd
}

func (s *testJobStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	login, err := loginUser(ctx, ex)
	if err != nil {
		return Outcome{}, err
	}
	s.mu.Lock()
	s.login = login
	s.mu.Unlock()
	user := orDefault(s.user, login)
	if err := s.upload(ctx, ex, user, login); err != nil {
		return Outcome{}, err
	}

	dir, err := s.privateDir(ctx, ex, user, login)
	if err != nil {
		return Outcome{}, err
	}
	submit := asUser([]string{"sbatch", "--parsable", "--chdir=" + dir, s.scriptPath}, user, login)
	submit.Proves = lineSubmit
	res, err := ex.Run(ctx, submit)
	if err != nil {
		return Outcome{}, err
	}
	if serr := slurm.ClassifySubmit(res.Stdout, res.Stderr, res.ExitCode); serr != nil {
		return Outcome{}, &Failure{Msg: "sbatch refused the job: " + serr.Message + reasonSuffix(serr.Reason), Hint: serr.Hint, Err: serr}
	}
	jobID, _, err := slurm.ParseSbatchParsable(res.Stdout)
	if err != nil {
		return Outcome{}, err
	}
	s.mu.Lock()
	s.jobID = jobID
	s.mu.Unlock()
	ex.NoteFor(lineSubmit, "submitted job %s as %s", jobID, user)

	job, err := s.wait(ctx, ex, jobID)
	if err != nil {
		return Outcome{}, err
	}
	s.mu.Lock()
	s.finished = true
	s.mu.Unlock()

	outputs := map[string]cty.Value{
		"job_id": cty.StringVal(jobID), "user": cty.StringVal(user), "state": cty.StringVal(job.JobState),
		"exit_code": cty.NumberIntVal(int64(job.ExitCode)), "qos": cty.StringVal(job.QOS),
		"partition": cty.StringVal(job.Partition), "output_file": cty.StringVal(job.StdOut),
		"node": cty.StringVal(job.NodeList), "output": cty.StringVal(""),
	}
	var problems []string
	if s.qos != "" && !strings.EqualFold(job.QOS, s.qos) {
		problems = append(problems, fmt.Sprintf("QOS=%s, want %s", job.QOS, s.qos))
	}
	if s.partition != "" && job.Partition != s.partition {
		problems = append(problems, fmt.Sprintf("Partition=%s, want %s", job.Partition, s.partition))
	}
	if slurm.NormalizeState(job.JobState) != strings.ToUpper(s.expectState) {
		problems = append(problems, fmt.Sprintf("JobState=%s Reason=%s, want %s", job.JobState, job.Reason, s.expectState))
	}
	if job.ExitCode != s.expectExit {
		problems = append(problems, fmt.Sprintf("ExitCode=%d:%d, want %d", job.ExitCode, job.Signal, s.expectExit))
	}
	ex.NoteFor(lineQoS, "job %s: QOS=%s Partition=%s JobState=%s ExitCode=%d:%d NodeList=%s", jobID, job.QOS, job.Partition, job.JobState, job.ExitCode, job.Signal, job.NodeList)

	out, outErr := s.readOutput(ctx, ex, job, user, login)
	if outErr != nil {
		problems = append(problems, outErr.Error())
	} else {
		outputs["output"] = cty.StringVal(out)
		problems = append(problems, s.checkOutput(ex, jobID, out)...)
	}
	if len(problems) > 0 {
		hint := ""
		if strings.Contains(out, "nvidia-smi: command not found") {
			hint = "the node has no nvidia-smi (no NVIDIA driver, or fake GPUs as on the testbed): the job ran but its GPU check failed. " +
				"Install the driver, or mark the host with vars = { has_nvidia_smi = false }"
		} else if info := slurm.LookupReason(job.Reason); job.Reason != "" && job.Reason != "None" {
			hint = info.Meaning + "; " + info.Action
		}
		return Outcome{Outputs: outputs}, &Failure{Msg: fmt.Sprintf("test job %s: %s", jobID, strings.Join(problems, "; ")), Hint: hint}
	}
	return Outcome{Changed: true, Summary: fmt.Sprintf("job %s %s under QoS %s on %s", jobID, job.JobState, job.QOS, job.NodeList), Outputs: outputs}, nil
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " [" + r + "]"
}

// upload puts the script where the job user can read it.
func (s *testJobStep) upload(ctx context.Context, ex Exec, user, login string) error {
	files := ex.Files()
	if files == nil {
		return &Failure{Msg: "this transport cannot transfer files; the test job script cannot be uploaded"}
	}
	if err := files.WriteFile(ctx, s.scriptPath, []byte(s.script), 0o755); err != nil {
		return &Failure{Msg: fmt.Sprintf("uploading %s: %v", s.scriptPath, err), Err: err,
			Hint: "a file already at that path and owned by another user cannot be replaced in a sticky directory like /tmp: remove it, or set script_path"}
	}
	ex.NoteFor(lineSubmit, "uploaded %s (%d bytes, 0755)", s.scriptPath, len(s.script))
	return nil
}

// privateDirArgv makes the job's working directory: mode 0700, a name
// nobody can guess, and an error rather than a directory that was there.
var privateDirArgv = []string{"mktemp", "-d", "/tmp/runbook-test-job.XXXXXXXXXX"}

// privateDir makes the job's working directory as the job user.
func (s *testJobStep) privateDir(ctx context.Context, ex Exec, user, login string) (string, error) {
	res, err := ex.Run(ctx, asUser(privateDirArgv, user, login))
	if err != nil {
		return "", err
	}
	dir := strings.TrimSpace(string(res.Stdout))
	if res.ExitCode != 0 || !strings.HasPrefix(dir, "/tmp/runbook-test-job.") || strings.ContainsAny(dir, " \n") {
		return "", &Failure{Msg: fmt.Sprintf("cannot make the test job's private directory (%s exited %d): %s",
			strings.Join(privateDirArgv, " "), res.ExitCode, strings.TrimSpace(string(res.Stderr)+" "+dir))}
	}
	ex.NoteFor(lineLog, "the job runs in %s, a new directory only %s can enter", dir, user)
	return dir, nil
}

// wait polls scontrol until the job reaches a terminal state. A job held
// by a QoS limit for longer than pendingTimeout fails with the reason
// explained, rather than waiting out the whole step timeout.
func (s *testJobStep) wait(ctx context.Context, ex Exec, jobID string) (*slurm.Job, error) {
	p := newPoller()
	var pendingSince time.Time
	lastReason := ""
	start := time.Now()
	for {
		res, err := ex.Run(ctx, transport.Command{Argv: []string{"scontrol", "show", "job", jobID}, Proves: lineQoS})
		if err != nil {
			return nil, err
		}
		if res.ExitCode != 0 {
			return nil, &Failure{Msg: fmt.Sprintf("scontrol show job %s exited %d: %s", jobID, res.ExitCode, strings.TrimSpace(string(res.Stderr))),
				Hint: fmt.Sprintf("is slurmctld up? (scontrol ping). Job %s was submitted: runbook cancels it as the step fails; "+
					"if that fails too (see the step's notes), run `scancel %s` once slurmctld answers", jobID, jobID)}
		}
		job, err := slurm.ParseScontrolJob(res.Stdout)
		if err != nil {
			return nil, err
		}
		if slurm.IsTerminal(job.JobState) {
			return job, nil
		}
		state := slurm.NormalizeState(job.JobState)
		ex.Progress("job %s %s (%s), %s", jobID, state, job.Reason, time.Since(start).Round(time.Second))
		if state == "PENDING" {
			info := slurm.LookupReason(job.Reason)
			if job.Reason != lastReason {
				pendingSince, lastReason = time.Now(), job.Reason
			}
			stuck := info.Kind == slurm.ReasonLimit || info.Kind == slurm.ReasonNeverStarts || info.Kind == slurm.ReasonConfig || info.Kind == slurm.ReasonHeld
			if stuck && time.Since(pendingSince) > s.pendingTimeout {
				return nil, &Failure{Msg: fmt.Sprintf("test job %s is pending with Reason=%s for %s: %s", jobID, job.Reason, s.pendingTimeout, info.Meaning),
					Hint: info.Action}
			}
		}
		if err := p.wait(ctx); err != nil {
			return nil, fmt.Errorf("waiting for job %s (last state %s, reason %s): %w", jobID, state, job.Reason, err)
		}
	}
}

// readOutput reads the job's StdOut file as the job user.
func (s *testJobStep) readOutput(ctx context.Context, ex Exec, job *slurm.Job, user, login string) (string, error) {
	if job.StdOut == "" {
		return "", errors.New("scontrol shows no StdOut file for the job")
	}
	cat := asUser([]string{"cat", job.StdOut}, user, login)
	cat.Proves = lineLog
	res, err := ex.Run(ctx, cat)
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("cannot read the job output %s: %s", job.StdOut, strings.TrimSpace(string(res.Stderr)))
	}
	return string(res.Stdout), nil
}

var commandNotFound = regexp.MustCompile(`(?m)^.*: ([^:\s]+): command not found$`)

func (s *testJobStep) checkOutput(ex Exec, jobID, out string) []string {
	var problems []string
	for _, want := range s.expectOutput {
		found := false
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, want) {
				found = true
				break
			}
		}
		if found {
			ex.NoteFor(lineLog, "job %s output has %q", jobID, want)
		} else {
			problems = append(problems, fmt.Sprintf("output lacks %q", want))
		}
	}
	// A script without `set -e` carries on after a missing command and
	// ends COMPLETED: the failure hides in the log, so look for it there.
	for _, m := range commandNotFound.FindAllStringSubmatch(out, -1) {
		problems = append(problems, fmt.Sprintf("the job's script failed to run %s (command not found)", m[1]))
	}
	return problems
}

// Cancel ends a submitted job that has not finished (run failed, timed
// out or interrupted), so no orphaned test job holds a GPU. When
// slurmctld does not answer (restarting, failing over) it waits for it as
// long as ctx allows and tries again; if the job still could not be
// cancelled, the error says so with the command to do it by hand.
func (s *testJobStep) Cancel(ctx context.Context, ex Exec) error {
	s.mu.Lock()
	jobID, login, finished := s.jobID, s.login, s.finished
	s.mu.Unlock()
	if jobID == "" || finished {
		return nil
	}
	user := orDefault(s.user, login)
	var last string
	for attempt := 1; ; attempt++ {
		res, err := ex.Run(ctx, asUser([]string{"scancel", jobID}, user, login))
		switch {
		case err != nil:
			last = err.Error()
		case res.ExitCode == 0:
			ex.Note("cancelled job %s", jobID)
			return nil
		case jobGone(res.Stderr):
			ex.Note("job %s had already ended", jobID)
			return nil
		default:
			last = fmt.Sprintf("scancel %s exited %d: %s", jobID, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
		}
		// A broken connection will not heal here, and a refusal with
		// slurmctld up (permissions) will not change: stop.
		if err != nil || attempt >= maxCancelAttempts || !waitController(ctx, ex) {
			break
		}
	}
	return fmt.Errorf("job %s was NOT cancelled and may still be queued or running: run `scancel %s` once slurmctld answers (%s)", jobID, jobID, last)
}

const maxCancelAttempts = 5

// jobGone: scancel's complaint about a job that already ended.
func jobGone(stderr []byte) bool {
	e := string(stderr)
	return strings.Contains(e, "Invalid job id specified") || strings.Contains(e, "already completing or completed")
}

// waitController polls `scontrol ping` (fast even when slurmctld is down,
// unlike scancel, which retries for ~10 s) until slurmctld answers; false
// when ctx ends first or the host cannot be reached.
func waitController(ctx context.Context, ex Exec) bool {
	for {
		if err := Sleep(ctx, time.Second); err != nil {
			return false
		}
		res, err := ex.Run(ctx, transport.Command{Argv: []string{"scontrol", "ping"}, NoStdin: true})
		if err != nil {
			return false
		}
		if res.ExitCode == 0 {
			return true
		}
	}
}
