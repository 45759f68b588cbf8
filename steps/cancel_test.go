package steps_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
)

// scripted is a transport whose answers a test writes: reply gets each
// command line and returns stdout, stderr and the exit code.
type scripted struct {
	mu    sync.Mutex
	lines []string
	reply func(line string) (string, string, int)
}

func (s *scripted) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	line := strings.Join(cmd.Argv, " ")
	s.mu.Lock()
	s.lines = append(s.lines, line)
	s.mu.Unlock()
	out, errOut, code := s.reply(line)
	return transport.Result{Stdout: []byte(out), Stderr: []byte(errOut), ExitCode: code}, nil
}
func (s *scripted) Describe() string { return "scripted" }
func (s *scripted) Close() error     { return nil }
func (s *scripted) ReadFile(context.Context, string) ([]byte, error) {
	return nil, transport.ErrNotExist
}
func (s *scripted) WriteFile(context.Context, string, []byte, uint32) error { return nil }

func (s *scripted) count(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

const ctldDown = "Unable to contact slurm controller (connect failure)"

// slurmctld dies while the test job waits: the step fails, and Cancel
// waits for slurmctld to come back before cancelling, so no job is left.
func TestTestJobCancelWaitsForSlurmctld(t *testing.T) {
	var mu sync.Mutex
	up := true
	tr := &scripted{}
	tr.reply = func(line string) (string, string, int) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case line == "id -un":
			return "koopark\n", "", 0
		case strings.HasPrefix(line, "mktemp -d "):
			return "/tmp/runbook-test-job.AbCdEf1234\n", "", 0
		case strings.HasPrefix(line, "sbatch"):
			return "42\n", "", 0
		case strings.HasPrefix(line, "scontrol show job"):
			up = false // slurmctld goes away at the first poll
			return "", "slurm_load_jobs error: " + ctldDown + "\n", 1
		case line == "scontrol ping":
			if tr.count("scontrol ping") >= 2 {
				up = true // back after a restart
			}
			if up {
				return "Slurmctld(primary) at vm is UP\n", "", 0
			}
			return "Slurmctld(primary) at vm is DOWN\n", "", 1
		case line == "scancel 42":
			if up {
				return "", "", 0
			}
			return "", "scancel: error: Kill job error on job id 42: " + ctldDown + "\n", 1
		}
		t.Errorf("unexpected command %q", line)
		return "", "", 127
	}
	st := mustDecode(t, "test_job", `qos = "normal"`)
	rec := &evidence.Recorder{Transport: tr}
	p, err := st.Plan(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Apply(context.Background(), rec, p)
	var f *steps.Failure
	if err == nil || !errors.As(err, &f) || !strings.Contains(f.Hint, "scancel 42") {
		t.Fatalf("Apply: %v (hint %q), want a failure whose hint names `scancel 42`", err, hintOf(f))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.(steps.Canceler).Cancel(ctx, rec); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if n := tr.count("scancel 42"); n != 2 {
		t.Errorf("scancel ran %d times, want 2 (refused, then after slurmctld is back)", n)
	}
	if !strings.Contains(strings.Join(rec.Notes(), "\n"), "cancelled job 42") {
		t.Errorf("notes %q", rec.Notes())
	}
}

// slurmctld never comes back: Cancel gives up when its context ends and
// says, with the command, that the job was not cancelled.
func TestTestJobCancelReportsOrphan(t *testing.T) {
	tr := &scripted{}
	tr.reply = func(line string) (string, string, int) {
		switch {
		case line == "id -un":
			return "koopark\n", "", 0
		case strings.HasPrefix(line, "mktemp -d "):
			return "/tmp/runbook-test-job.AbCdEf1234\n", "", 0
		case strings.HasPrefix(line, "sbatch"):
			return "43\n", "", 0
		case strings.HasPrefix(line, "scontrol"):
			return "", ctldDown + "\n", 1
		case line == "scancel 43":
			return "", "scancel: error: " + ctldDown + "\n", 1
		}
		return "", "", 127
	}
	st := mustDecode(t, "test_job", `qos = "normal"`)
	rec := &evidence.Recorder{Transport: tr}
	p, _ := st.Plan(context.Background(), rec)
	if _, err := st.Apply(context.Background(), rec, p); err == nil {
		t.Fatal("Apply succeeded with slurmctld down")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := st.(steps.Canceler).Cancel(ctx, rec)
	if err == nil || !strings.Contains(err.Error(), "NOT cancelled") || !strings.Contains(err.Error(), "scancel 43") {
		t.Fatalf("Cancel = %v, want the job named as not cancelled", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Cancel outlived its context: %s", took)
	}
}

func hintOf(f *steps.Failure) string {
	if f == nil {
		return ""
	}
	return f.Hint
}
