package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRunsCmd(t *testing.T) {
	state := t.TempDir()
	if r := runCobra(t, newRunsCmd(), "--state-dir", state); r.code != exitOK || !strings.Contains(r.stdout, "No runs recorded under") {
		t.Errorf("no runs: want exit 0 and a note:\n%s", r)
	}

	// Recorded out of order; listed by time.
	recordRun(t, state, "phase2", "apply", "success", 2*time.Hour, "ctl")
	recordRun(t, state, "phase2", "apply", "failed", 0, "ctl")
	recordRun(t, state, "demo", "plan", "planned", time.Hour, "n1", "n2", "n3", "n4", "n5")
	broken := filepath.Join(state, "runs", "20260314T130000.000Z-broken")
	os.MkdirAll(broken, 0o700)
	os.WriteFile(filepath.Join(broken, "report.json"), []byte("{\"schema_version\": "), 0o600)

	r := runCobra(t, newRunsCmd(), "--state-dir", state)
	if r.code != exitOK {
		t.Fatalf("want exit 0 even with an unreadable record:\n%s", r)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^STARTED \(UTC\)\s+RUNBOOK\s+MODE\s+HOSTS\s+RESULT\s+CHECKLIST\s+ID$`),
		regexp.MustCompile(`^2026-03-14 09:26:53\s+phase2\s+apply\s+ctl\s+failed\s+1/2\s+20260314T092653\.000Z-phase2$`),
		regexp.MustCompile(`^2026-03-14 10:26:53\s+demo\s+plan\s+n1,n2,n3 \+2\s+planned\s+0/10\s+20260314T102653\.000Z-demo$`),
		regexp.MustCompile(`^2026-03-14 11:26:53\s+phase2\s+apply\s+ctl\s+success\s+2/2\s+20260314T112653\.000Z-phase2$`),
		regexp.MustCompile(`^2026-03-14 13:00:00\s+broken\s+-\s+-\s+unreadable\s+-\s+20260314T130000\.000Z-broken$`),
		regexp.MustCompile(`^$`),
		regexp.MustCompile(`^note: 20260314T130000\.000Z-broken: .*report\.json is not a run record`),
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), r.stdout)
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d = %q, want %s", i, lines[i], re)
		}
	}

	r = runCobra(t, newRunsCmd(), "--state-dir", state, "--json")
	var listing []runListing
	if err := json.Unmarshal([]byte(r.stdout), &listing); r.code != exitOK || err != nil {
		t.Fatalf("runs --json: %v\n%s", err, r)
	}
	if len(listing) != 4 || listing[0].Result != "failed" || listing[0].Ticked != 1 || listing[0].Total != 2 ||
		len(listing[1].Hosts) != 5 || listing[3].Error == "" || listing[3].Runbook != "" {
		t.Errorf("runs --json = %+v", listing)
	}

	if r := runCobra(t, newRunsCmd(), "extra"); r.code != exitInvalid {
		t.Errorf("runs with an argument: want exit 3:\n%s", r)
	}
}
