package steps_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
)

// jobHost is a scripted host that also keeps the files written to it and
// the user each command runs as.
type jobHost struct {
	scripted
	files map[string]string
	as    map[string]string // command line → user it ran as ("" = the login user)
}

func (h *jobHost) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	h.as[strings.Join(cmd.Argv, " ")] = cmd.BecomeUser
	return h.scripted.Run(ctx, cmd)
}

func (h *jobHost) WriteFile(_ context.Context, path string, data []byte, _ uint32) error {
	h.files[path] = string(data)
	return nil
}

const privateDir = "/tmp/runbook-test-job.AbCdEf1234"

func newJobHost(t *testing.T, mktemp func() (string, string, int)) *jobHost {
	t.Helper()
	job, err := os.ReadFile("slurm/testdata/real/scontrol_show_job_completed.stdout")
	if err != nil {
		t.Fatal(err)
	}
	show := strings.Replace(string(job), "StdOut=/dev/null", "StdOut="+privateDir+"/runbook-test-job-42.out", 1)
	h := &jobHost{files: map[string]string{}, as: map[string]string{}}
	h.reply = func(line string) (string, string, int) {
		switch line {
		case "id -un":
			return "koopark\n", "", 0
		case "mktemp -d /tmp/runbook-test-job.XXXXXXXXXX":
			return mktemp()
		case "sbatch --parsable --chdir=" + privateDir + " /tmp/runbook-test-job.sh":
			return "42\n", "", 0
		case "scontrol show job 42":
			return show, "", 0
		case "cat " + privateDir + "/runbook-test-job-42.out":
			return "Test completed successfully!\n", "", 0
		}
		return "", "unexpected", 127
	}
	return h
}

// Issue 15 (Low): the test job wrote its output to a predictable path in
// /tmp, where another user can put a file first. It now runs in a new
// directory of the job user (mktemp -d: mode 0700, a name nobody can
// guess), and the built script's output is relative to it.
func TestTestJobRunsInAPrivateDirectory(t *testing.T) {
	h := newJobHost(t, func() (string, string, int) { return privateDir + "\n", "", 0 })
	st := mustDecode(t, "test_job", `user = "alice"
expect_output = ["Test completed successfully!"]`)
	rec := &evidence.Recorder{Transport: h}
	if _, err := st.Apply(context.Background(), rec, plan(t, st, rec)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if script := h.files["/tmp/runbook-test-job.sh"]; !strings.Contains(script, "#SBATCH --output=runbook-test-job-%j.out\n") {
		t.Errorf("the built script's output is not relative to the job's directory:\n%s", script)
	}
	for _, line := range []string{"mktemp -d /tmp/runbook-test-job.XXXXXXXXXX", "sbatch --parsable --chdir=" + privateDir + " /tmp/runbook-test-job.sh"} {
		if u, ran := h.as[line]; !ran || u != "alice" {
			t.Errorf("%q ran %v as %q, want it run as the job user alice (commands: %q)", line, ran, u, h.lines)
		}
	}
}

// A directory that cannot be made, or an answer that is not a fresh
// directory of the expected name, fails the step before any job is
// submitted.
func TestTestJobWithoutAPrivateDirectorySubmitsNothing(t *testing.T) {
	for name, mktemp := range map[string]func() (string, string, int){
		"mktemp fails": func() (string, string, int) {
			return "", "mktemp: failed to create directory via template: No space left on device\n", 1
		},
		"an unexpected path": func() (string, string, int) { return "/home/koopark\n", "", 0 },
		"two lines":          func() (string, string, int) { return privateDir + "\n/etc\n", "", 0 },
	} {
		t.Run(name, func(t *testing.T) {
			h := newJobHost(t, mktemp)
			st := mustDecode(t, "test_job", `qos = "normal"`)
			rec := &evidence.Recorder{Transport: h}
			_, err := st.Apply(context.Background(), rec, plan(t, st, rec))
			if err == nil || !strings.Contains(err.Error(), "private directory") {
				t.Errorf("Apply = %v, want a failure naming the private directory", err)
			}
			if n := h.count("sbatch"); n != 0 {
				t.Errorf("sbatch ran %d times", n)
			}
		})
	}
}

// Issue 15, finding 6: a newline in a value templatefile writes into an
// #SBATCH line (phase2's job_gres) put a command in the batch script.
// The kind refuses any #SBATCH line after the script's first command:
// sbatch ignores it, whoever wrote it.
func TestTestJobRefusesDirectivesAfterACommand(t *testing.T) {
	for _, c := range []struct {
		script string
		bad    int // the line refused, 0 when the script is fine
	}{
		{"#!/bin/bash\n#SBATCH --gres=gpu:1\ntouch /tmp/x\n#SBATCH --time=00:05:00\necho ok\n", 4},
		{"#!/bin/bash\necho early\n  #SBATCH --qos=normal\n", 3},
		{"#!/bin/bash\n#SBATCH --gres=gpu:1\n\n# a comment\n#SBATCH --time=5\necho ok\n# SBATCH is only a comment with the space\n", 0},
	} {
		_, err := decode(t, "test_job", fmt.Sprintf("script = %q", c.script))
		var ae *steps.AttrError
		switch {
		case c.bad == 0 && err != nil:
			t.Errorf("%q refused: %v", c.script, err)
		case c.bad != 0 && (!errors.As(err, &ae) || ae.Attr != "script" || !strings.Contains(err.Error(), fmt.Sprintf("line %d ", c.bad))):
			t.Errorf("%q: %v, want line %d refused", c.script, err, c.bad)
		}
	}
}
