package report_test

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
)

// writeRuns records runs under root the way plan and apply do.
func writeRuns(t *testing.T, root string, runs ...*report.Run) []string {
	t.Helper()
	var dirs []string
	for _, r := range runs {
		dir := report.RunDir(root, r.Started, r.Runbook)
		r.ID = filepath.Base(dir)
		if err := report.Prepare(dir); err != nil {
			t.Fatal(err)
		}
		if err := report.Write(dir, r); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	return dirs
}

func TestListAndResolve(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	if runs, err := report.List(root); err != nil || len(runs) != 0 {
		t.Fatalf("List of a missing root = %v, %v; want no runs and no error", runs, err)
	}
	if _, err := report.Resolve(root, ""); !errors.Is(err, report.ErrNoRun) {
		t.Errorf("Resolve latest with no runs: %v", err)
	}

	a := phase2Run()
	b := sampleRun("apply")
	b.Started, b.Ended = t0.Add(time.Hour), t0.Add(time.Hour+time.Minute)
	c := phase2Run()
	c.Mode, c.Result = "plan", "planned"
	c.Started, c.Ended = t0.Add(2*time.Hour), t0.Add(2*time.Hour+time.Second)
	// Written out of order: List sorts by time.
	dirs := writeRuns(t, root, c, a, b)
	// A directory whose record is broken, and one from a newer runbook.
	broken := filepath.Join(root, "20260314T120000.000Z-broken")
	if err := os.MkdirAll(broken, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(broken, "report.json"), []byte("{not json"), 0o600)
	newer := filepath.Join(root, "20260314T130000.000Z-newer")
	os.MkdirAll(newer, 0o700)
	os.WriteFile(filepath.Join(newer, "report.json"), []byte(`{"schema_version": 99, "runbook": "newer"}`), 0o600)
	os.WriteFile(filepath.Join(root, "stray-file"), []byte("x"), 0o600)

	runs, err := report.List(root)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	want := []string{
		"20260314T092653.000Z-phase2", "20260314T102653.000Z-demo", "20260314T112653.000Z-phase2",
		"20260314T120000.000Z-broken", "20260314T130000.000Z-newer",
	}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Fatalf("List = %q, want %q", ids, want)
	}
	if runs[0].Run == nil || runs[0].Run.Result != "failed" || runs[2].Run.Mode != "plan" {
		t.Errorf("List did not load the records: %+v", runs[:3])
	}
	if runs[3].Err == nil || !strings.Contains(runs[3].Err.Error(), "is not a run record") {
		t.Errorf("broken record: %v", runs[3].Err)
	}
	if runs[4].Err == nil || !strings.Contains(runs[4].Err.Error(), "schema_version 99") {
		t.Errorf("newer record: %v", runs[4].Err)
	}

	for ref, wantDir := range map[string]string{
		"":                                    newer, // the latest, readable or not
		"20260314T102653.000Z-demo":           dirs[2],
		"20260314T0926":                       dirs[1], // a unique prefix
		dirs[0]:                               dirs[0], // a path
		filepath.Join(dirs[1], "report.json"): dirs[1], // a report.json
	} {
		got, err := report.Resolve(root, ref)
		if err != nil || got != wantDir {
			t.Errorf("Resolve(%q) = %q, %v; want %q", ref, got, err, wantDir)
		}
	}
	for _, ref := range []string{"nope", "20260314T", filepath.Join(root, "missing")} {
		if _, err := report.Resolve(root, ref); !errors.Is(err, report.ErrNoRun) {
			t.Errorf("Resolve(%q) error %v, want ErrNoRun", ref, err)
		}
	}
	if _, err := report.Resolve(root, "20260314T"); err == nil || !strings.Contains(err.Error(), "matches 5 runs") {
		t.Errorf("ambiguous prefix error: %v", err)
	}
}

func TestLoadAndRender(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	dir := writeRuns(t, root, phase2Run())[0]
	r, err := report.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"md", "markdown", "html", "junit", "xml", "json", "JSON"} {
		out, err := report.Render(r, f)
		if err != nil {
			t.Fatalf("Render %s: %v", f, err)
		}
		switch strings.ToLower(f) {
		case "md", "markdown":
			disk, _ := os.ReadFile(filepath.Join(dir, "checklist.md"))
			if string(out) != string(disk) {
				t.Errorf("md re-rendering differs from checklist.md")
			}
		case "html":
			disk, _ := os.ReadFile(filepath.Join(dir, "report.html"))
			if string(out) != string(disk) {
				t.Errorf("html re-rendering differs from report.html")
			}
		case "junit", "xml":
			var v struct{}
			if err := xml.Unmarshal(out, &v); err != nil {
				t.Errorf("junit: %v", err)
			}
		case "json":
			disk, _ := os.ReadFile(filepath.Join(dir, "report.json"))
			if string(out) != string(disk) {
				t.Errorf("json re-rendering differs from report.json")
			}
			var back report.Run
			if err := json.Unmarshal(out, &back); err != nil || back.ID != r.ID {
				t.Errorf("json: %v", err)
			}
		}
	}
	if _, err := report.Render(r, "pdf"); !errors.Is(err, report.ErrUnknownFormat) {
		t.Errorf("Render pdf: %v", err)
	}
	if _, err := report.Load(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing record: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "report.json"), []byte(`{"id": "x"}`), 0o600)
	if _, err := report.Load(dir); err == nil || !strings.Contains(err.Error(), "no schema_version") {
		t.Errorf("Load without schema_version: %v", err)
	}
}
