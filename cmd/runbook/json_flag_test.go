package main

import (
	"strings"
	"testing"
	"time"
)

// TestJSONFlagEverywhere: every command that prints JSON takes --json, a
// boolean; no command offers JSON through another flag in its help.
func TestJSONFlagEverywhere(t *testing.T) {
	root := newRootCmd()
	for _, name := range []string{"validate", "checklist", "plan", "apply", "runs", "report"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			t.Fatalf("no %s command: %v", name, err)
		}
		f := cmd.Flags().Lookup("json")
		if f == nil || f.Value.Type() != "bool" {
			t.Errorf("%s has no boolean --json", name)
		}
		if f := cmd.Flags().Lookup("format"); f != nil && !f.Hidden && strings.Contains(f.Usage, "json") {
			t.Errorf("%s --format still offers json: %q", name, f.Usage)
		}
	}
}

// TestJSONFlagOldSpellings: checklist --format json and report --format
// json, the spellings before --json, still print the same JSON, with a
// deprecation notice on stderr; checklist's --format is out of the help;
// --json with another --format is refused.
func TestJSONFlagOldSpellings(t *testing.T) {
	newJSON := runCLI(t, "checklist", exampleRunbook, "--json")
	old := runCLI(t, "checklist", exampleRunbook, "--format", "json")
	if newJSON.code != exitOK || old.code != exitOK || old.stdout != newJSON.stdout || !strings.HasPrefix(newJSON.stdout, "{") {
		t.Errorf("checklist --json and --format json differ:\n%s\n%s", newJSON, old)
	}
	if newJSON.stderr != "" || !strings.Contains(old.stderr, "deprecated") || !strings.Contains(old.stderr, "--json") {
		t.Errorf("checklist: the deprecation notice is wrong:\n%s\n%s", newJSON, old)
	}
	if h := runCLI(t, "checklist", "--help"); !strings.Contains(h.stdout, "--json") || strings.Contains(h.stdout, "--format") {
		t.Errorf("checklist --help:\n%s", h.stdout)
	}
	if r := runCLI(t, "checklist", exampleRunbook, "--json", "--format", "md"); r.code != exitInvalid {
		t.Errorf("checklist --json --format md:\n%s", r)
	}
	if r := runCLI(t, "checklist", exampleRunbook); r.code != exitOK || strings.HasPrefix(r.stdout, "{") {
		t.Errorf("checklist prints Markdown by default:\n%s", r)
	}

	state := t.TempDir()
	recordRun(t, state, "phase2", "apply", "success", time.Hour, "ctl")
	newJSON = runCobra(t, newReportCmd(), "--state-dir", state, "--json")
	old = runCobra(t, newReportCmd(), "--state-dir", state, "--format", "json")
	if newJSON.code != exitOK || old.code != exitOK || old.stdout != newJSON.stdout || !strings.HasPrefix(newJSON.stdout, "{") {
		t.Errorf("report --json and --format json differ:\n%s\n%s", newJSON, old)
	}
	if newJSON.stderr != "" || !strings.Contains(old.stderr, "deprecated") {
		t.Errorf("report: the deprecation notice is wrong:\n%s\n%s", newJSON, old)
	}
	if r := runCobra(t, newReportCmd(), "--state-dir", state, "--json", "--format", "html"); r.code != exitInvalid {
		t.Errorf("report --json --format html:\n%s", r)
	}
}
