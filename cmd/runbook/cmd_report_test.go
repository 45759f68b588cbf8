package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/spf13/cobra"
)

// runCobra runs one command built by its constructor, as main would: an
// exitError gives its code, any other error (cobra's own) exit 3.
func runCobra(t *testing.T, cmd *cobra.Command, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.code
		r.stderr += ee.msg
	default:
		r.code = exitInvalid
		r.stderr += err.Error()
	}
	return r
}

var recordT0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// recordRun writes a small run record under state/runs as plan and apply
// do and returns its directory.
func recordRun(t *testing.T, state, runbook, mode, result string, at time.Duration, hosts ...string) string {
	t.Helper()
	r := &report.Run{
		SchemaVersion: report.SchemaVersion, Mode: mode, Runbook: runbook, Title: "Runbook " + runbook,
		File: runbook + ".hcl", Started: recordT0.Add(at), Ended: recordT0.Add(at + 3*time.Second), Result: result,
	}
	for _, h := range hosts {
		status, errText := report.StatusOK, ""
		if result == "failed" {
			status, errText = report.StatusFailed, "`false` exited 1"
		}
		r.Hosts = append(r.Hosts, &report.Host{Name: h, Transport: "local", Steps: []*report.Step{
			{Name: "kernel", Kind: "check", Status: report.StatusOK, Checklist: []string{"read the kernel"},
				Commands: []report.CommandRecord{{Command: "uname -r", Stdout: "6.1.0\n", Started: r.Started, Ended: r.Ended}}},
			{Name: "work", Kind: "command", Status: status, Error: errText, Hint: "look at the script", Checklist: []string{"do the work <b>now</b>"},
				Commands: []report.CommandRecord{{Command: "false", ExitCode: 1, Started: r.Started, Ended: r.Ended}}},
		}})
	}
	dir := report.RunDir(filepath.Join(state, "runs"), r.Started, runbook)
	r.ID = filepath.Base(dir)
	if err := report.Prepare(dir); err != nil {
		t.Fatal(err)
	}
	if err := report.Write(dir, r); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReportCmd(t *testing.T) {
	state := t.TempDir()
	first := recordRun(t, state, "phase2", "apply", "failed", 0, "ctl")
	latest := recordRun(t, state, "phase2", "apply", "success", time.Hour, "ctl")

	// Default: the latest run's checklist, exactly checklist.md.
	r := runCobra(t, newReportCmd(), "--state-dir", state)
	if r.code != exitOK {
		t.Fatalf("want exit 0:\n%s", r)
	}
	md, _ := os.ReadFile(filepath.Join(latest, "checklist.md"))
	if r.stdout != string(md) || !strings.Contains(r.stdout, "result: **success**") {
		t.Errorf("report (latest, md) is not the latest checklist.md:\n%s", r.stdout)
	}

	// By ID, by prefix, by directory and by report.json, in every format.
	id := filepath.Base(first)
	for _, ref := range []string{id, id[:13], first, filepath.Join(first, "report.json")} {
		r := runCobra(t, newReportCmd(), ref, "--state-dir", state, "--json")
		if r.code != exitOK {
			t.Fatalf("report %s: want exit 0:\n%s", ref, r)
		}
		var back report.Run
		if err := json.Unmarshal([]byte(r.stdout), &back); err != nil || back.ID != id || back.Result != "failed" {
			t.Errorf("report %s --json: %v %+v", ref, err, back.ID)
		}
	}
	r = runCobra(t, newReportCmd(), id, "--state-dir", state, "--format", "html")
	disk, _ := os.ReadFile(filepath.Join(first, "report.html"))
	if r.code != exitOK || r.stdout != string(disk) || !strings.Contains(r.stdout, "do the work &lt;b&gt;now&lt;/b&gt;") {
		t.Errorf("report --format html is not report.html:\n%s", r)
	}
	r = runCobra(t, newReportCmd(), id, "--state-dir", state, "--format", "junit")
	var suites struct {
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal([]byte(r.stdout), &suites); r.code != exitOK || err != nil || suites.Failures != 1 {
		t.Errorf("report --format junit: %v, %d failures:\n%s", err, suites.Failures, r)
	}
	if !strings.Contains(r.stdout, "hint: look at the script") {
		t.Errorf("the JUnit failure lacks the hint:\n%s", r.stdout)
	}
}

func TestReportCmdErrors(t *testing.T) {
	state := t.TempDir()
	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"no runs":     {[]string{"--state-dir", state}, exitInvalid, "no runs recorded under"},
		"unknown run": {[]string{"nope", "--state-dir", state}, exitInvalid, "no runs recorded"},
		"bad format":  {[]string{"--state-dir", state, "--format", "pdf"}, exitInvalid, "--format is one of md, html, junit (--json"},
		"two runs":    {[]string{"a", "b", "--state-dir", state}, exitInvalid, "accepts at most 1 arg"},
		"missing dir": {[]string{filepath.Join(state, "x", "y"), "--state-dir", state}, exitInvalid, "does not exist"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runCobra(t, newReportCmd(), tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("want exit %d with %q:\n%s", tc.code, tc.msg, r)
			}
		})
	}

	recordRun(t, state, "demo", "apply", "success", 0, "h")
	if r := runCobra(t, newReportCmd(), "nope", "--state-dir", state); r.code != exitInvalid || !strings.Contains(r.stderr, `no run "nope"`) {
		t.Errorf("unknown run: want exit 3:\n%s", r)
	}
	// A directory without a record is invalid input; a broken record is a
	// failure to read it.
	empty := filepath.Join(state, "runs", "20260314T120000.000Z-empty")
	os.MkdirAll(empty, 0o700)
	if r := runCobra(t, newReportCmd(), empty, "--state-dir", state); r.code != exitInvalid || !strings.Contains(r.stderr, "holds no run record") {
		t.Errorf("dir without report.json: want exit 3:\n%s", r)
	}
	os.WriteFile(filepath.Join(empty, "report.json"), []byte("{"), 0o600)
	if r := runCobra(t, newReportCmd(), "--state-dir", state); r.code != exitFailed || !strings.Contains(r.stderr, "is not a run record") {
		t.Errorf("broken latest record: want exit 1:\n%s", r)
	}
}

// TestReportAfterApply: a real apply of the example writes all four
// files, and runs/report read them back.
func TestReportAfterApply(t *testing.T) {
	name := uniqueName(t)
	state := t.TempDir()
	if r := runCLI(t, "apply", exampleRunbook, "--state-dir", state, "--var", "name="+name, "--auto-approve"); r.code != exitOK {
		t.Fatalf("apply: want exit 0:\n%s", r)
	}
	dir := onlyRunDir(t, state)
	for _, f := range []string{"report.json", "checklist.md", "report.html", "junit.xml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("apply wrote no %s: %v", f, err)
		}
	}
	r := runCobra(t, newRunsCmd(), "--state-dir", state)
	if r.code != exitOK || !strings.Contains(r.stdout, "example  apply") || !strings.Contains(r.stdout, "success  4/4") {
		t.Errorf("runs after an apply:\n%s", r)
	}
	r = runCobra(t, newReportCmd(), "--state-dir", state, "--format", "html")
	if r.code != exitOK || !strings.Contains(r.stdout, `<header class="banner res-success">`) || !strings.Contains(r.stdout, "4<span class=\"of\"> / 4") {
		t.Errorf("report --format html after an apply:\n%.2000s", r.stdout)
	}
}
