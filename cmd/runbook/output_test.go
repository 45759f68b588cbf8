package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/report"
)

// failedRun is a run record with the failures an admin meets: a sacctmgr
// change refused with a long stderr and a known hint, a step after it
// that never ran, a verify whose last command succeeded, and a host that
// could not be reached.
func failedRun() *report.Run {
	long := "sacctmgr: error: line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nsacctmgr: error: Your user doesn't have privilege to perform this action\n"
	return &report.Run{
		Mode: "apply", Result: "failed",
		Hosts: []*report.Host{
			{Name: "ctl1", Transport: "ssh koopark@127.0.0.1:2222", Steps: []*report.Step{
				{Name: "qos_list", Kind: "check", Title: "List the current QoS", Status: report.StatusOK, Checklist: []string{"list"},
					Commands: []report.CommandRecord{{Command: "sacctmgr -P show qos", ExitCode: 0, Stdout: "Name\nnormal\n"}}},
				{Name: "qos", Kind: "create", Title: "Create the moonlight QoS", Status: report.StatusFailed, Checklist: []string{"create"},
					Error: "`sacctmgr -i add qos moonlight` failed (permission denied): Access/permission denied",
					Hint:  "the login user is not a Slurm administrator: set become = true (sudo)",
					Commands: []report.CommandRecord{
						{Command: "sacctmgr -n -P show qos moonlight format=Name", ExitCode: 0},
						{Command: "sacctmgr -i add qos moonlight", ExitCode: 1, Stdout: " Error with request: Access/permission denied\n", Stderr: long},
					},
					Notes: []string{"probe: qos moonlight absent"}},
				{Name: "qos_limits", Kind: "modify", Title: "modify qos_limits", Status: report.StatusNotRun, Summary: `not run: step "qos" failed before it`},
			}},
			{Name: "ctl2", Transport: "ssh koopark@10.0.0.2:22", Steps: []*report.Step{
				{Name: "verify", Kind: "verify", Title: "Read the QoS back and compare", Status: report.StatusFailed,
					Error:    "qos moonlight: MaxWall is 04:00:00, want 08:00:00\nPriority is 5, want 100",
					Hint:     "a modify step sets these; was it skipped, or did someone change the QoS by hand?",
					Commands: []report.CommandRecord{{Command: "sacctmgr -n -P show qos moonlight format=Name,MaxWall", ExitCode: 0, Stdout: "moonlight|04:00:00\n"}}},
			}},
			{Name: "ctl3", Error: "ssh: connect to 10.0.0.3:22: connection refused", Hint: "is sshd running on the host, and the port right?",
				Steps: []*report.Step{{Name: "qos", Kind: "create", Status: report.StatusNotRun, Summary: "host could not be reached"}}},
		},
	}
}

func TestSummaryGolden(t *testing.T) {
	for _, tc := range []struct {
		golden  string
		verbose bool
	}{{"summary_failure.golden", false}, {"summary_failure_verbose.golden", true}} {
		t.Run(tc.golden, func(t *testing.T) {
			var out bytes.Buffer
			printSummary(&out, failedRun(), "/state/runs/RUN", tc.verbose)
			got := out.String()
			golden(t, tc.golden, got)
			if strings.ContainsRune(got, 0x1b) {
				t.Errorf("colour written to a buffer:\n%q", got)
			}
			// What an admin needs to act, whatever the verbosity.
			for _, want := range []string{
				`✗ step "qos" on host ctl1 failed:`, "command: sacctmgr -i add qos moonlight (exit 1)",
				"Your user doesn't have privilege", "hint: the login user is not a Slurm administrator",
				"not run on ctl1: qos_limits", "✗ host ctl3: ssh: connect", "hint: is sshd running",
				`✗ step "verify" on host ctl2 failed:`, "Result: failed. Checklist: 1 of 2 ticked. Record: /state/runs/RUN",
			} {
				if !strings.Contains(got, want) {
					t.Errorf("summary lacks %q", want)
				}
			}
			full := strings.Contains(got, "sacctmgr: error: line 1")
			if full != tc.verbose {
				t.Errorf("verbose=%v but the first of 7 stderr lines shown=%v", tc.verbose, full)
			}
			if !tc.verbose && !strings.Contains(got, "stderr (last 5 of 7 lines; -v shows all):") {
				t.Errorf("a cut stderr does not say so:\n%s", got)
			}
		})
	}
}
