package report_test

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	t1 = t0.Add(90 * time.Second)
)

func cmd(command string, exit int, stdout string) report.CommandRecord {
	return report.CommandRecord{Command: command, ExitCode: exit, Stdout: stdout, Started: t0, Ended: t0.Add(time.Second)}
}

// sampleRun has one step of every status on two hosts.
func sampleRun(mode string) *report.Run {
	steps := func() []*report.Step {
		return []*report.Step{
			{Name: "kernel", Kind: "check", Status: report.StatusOK, Checklist: []string{"Read the kernel"},
				Commands: []report.CommandRecord{cmd("uname -r", 0, "6.1.0\n")}},
			{Name: "mkdir", Kind: "command", Status: report.StatusChanged, Changed: true, Checklist: []string{"Create /srv/x", "Own /srv/x"},
				Commands: []report.CommandRecord{cmd("test -e /srv/x", 1, ""), cmd("mkdir -p /srv/x", 0, "")}},
			{Name: "same", Kind: "command", Status: report.StatusUnchanged, Checklist: []string{"Already there"},
				Commands: []report.CommandRecord{cmd("test -e /srv/y", 0, "line1\nline2\nline3\n")}},
			{Name: "assert", Kind: "assert", Status: report.StatusOK, Checklist: []string{"Marker holds"},
				Notes: []string{"assertion held"}},
			{Name: "noevidence", Kind: "check", Status: report.StatusOK, Checklist: []string{"Trust me"}},
			{Name: "skipped", Kind: "command", Status: report.StatusSkipped, Summary: "when is false", Checklist: []string{"Maybe"}},
			{Name: "broken", Kind: "command", Status: report.StatusFailed, Error: "`false` exited 1: boom", Checklist: []string{"Break it"},
				Commands: []report.CommandRecord{cmd("false", 1, "")}},
			{Name: "later", Kind: "command", Status: report.StatusNotRun, Summary: `not run: step "broken" failed before it`, Checklist: []string{"Never"}},
			{Name: "cut", Kind: "command", Status: report.StatusInterrupted, Checklist: []string{"Cut short"},
				Commands: []report.CommandRecord{{Command: "sleep 30", ExitCode: -1, Error: "interrupted", Started: t0, Ended: t1}}},
			{Name: "nochecklist", Kind: "check", Status: report.StatusOK, Commands: []report.CommandRecord{cmd("true", 0, "")}},
		}
	}
	return &report.Run{
		SchemaVersion: report.SchemaVersion,
		ID:            "20260314T092653.000Z-demo",
		Mode:          mode,
		Runbook:       "demo",
		Title:         "Demo runbook",
		File:          "runbooks/demo.hcl",
		Started:       t0,
		Ended:         t1,
		Result:        "failed",
		Hosts: []*report.Host{
			{Name: "node01", Transport: "local", Steps: steps()},
			{Name: "node02", Transport: "ssh admin@node02:22", Steps: steps()[:1]},
		},
	}
}

func TestBuildChecklistApply(t *testing.T) {
	r := sampleRun("apply")
	r.BuildChecklist()
	type row struct {
		host, step, text string
		ticked           bool
		reason           string
	}
	want := []row{
		{"node01", "kernel", "Read the kernel", true, ""},
		{"node01", "mkdir", "Create /srv/x", true, ""},
		{"node01", "mkdir", "Own /srv/x", true, ""},
		{"node01", "same", "Already there", true, ""},
		{"node01", "assert", "Marker holds", true, ""},
		{"node01", "noevidence", "Trust me", false, "no evidence was gathered"},
		{"node01", "skipped", "Maybe", false, "skipped: when is false"},
		{"node01", "broken", "Break it", false, "failed: `false` exited 1: boom"},
		// The engine's summary of a step stopped by an earlier failure
		// already says "not run: …"; the reason must not say it twice.
		{"node01", "later", "Never", false, `not run: step "broken" failed before it`},
		{"node01", "cut", "Cut short", false, "interrupted"},
		{"node02", "kernel", "Read the kernel", true, ""},
	}
	var got []row
	for _, it := range r.Checklist {
		got = append(got, row{it.Host, it.Step, it.Text, it.Ticked, it.Reason})
		if it.Ticked && len(it.Evidence) == 0 {
			t.Errorf("%s/%s ticked without evidence", it.Host, it.Step)
		}
		if !it.Ticked && len(it.Evidence) != 0 {
			t.Errorf("%s/%s not ticked but carries evidence %q", it.Host, it.Step, it.Evidence)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d checklist items, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("item %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	// Evidence names each command with its exit code and its output.
	mk := r.Checklist[1].Evidence
	if len(mk) != 2 || !strings.Contains(mk[0], "`test -e /srv/x` → exit 1") || !strings.Contains(mk[1], "`mkdir -p /srv/x` → exit 0") {
		t.Errorf("mkdir evidence = %q", mk)
	}
	if ev := r.Checklist[0].Evidence[0]; !strings.HasPrefix(ev, "2026-03-14T09:26:53Z ") || !strings.HasSuffix(ev, ": 6.1.0") {
		t.Errorf("kernel evidence = %q", ev)
	}
	if ev := r.Checklist[3].Evidence[0]; !strings.HasSuffix(ev, ": line1 ⏎ line2 ⏎ …") {
		t.Errorf("long output is not cut to two lines: %q", ev)
	}
	if ev := r.Checklist[4].Evidence; !reflect.DeepEqual(ev, []string{"assertion held"}) {
		t.Errorf("assert evidence = %q", ev)
	}

	// Building twice gives the same list, not a doubled one.
	n := len(r.Checklist)
	r.BuildChecklist()
	if len(r.Checklist) != n {
		t.Errorf("second BuildChecklist has %d items, want %d", len(r.Checklist), n)
	}
}

func TestBuildChecklistPlanNeverTicks(t *testing.T) {
	for _, mode := range []string{"plan", "", "dry-run"} {
		r := sampleRun(mode)
		r.BuildChecklist()
		if len(r.Checklist) != 11 {
			t.Fatalf("mode %q: %d items, want 11", mode, len(r.Checklist))
		}
		for _, it := range r.Checklist {
			if it.Ticked {
				t.Errorf("mode %q ticked %s/%s", mode, it.Host, it.Step)
			}
			if it.Reason != "plan only: nothing was applied" {
				t.Errorf("mode %q reason %q", mode, it.Reason)
			}
		}
	}
}

func TestStepPredicates(t *testing.T) {
	for status, want := range map[string]bool{
		report.StatusOK: true, report.StatusChanged: true, report.StatusUnchanged: true,
		report.StatusSkipped: false, report.StatusFailed: false, report.StatusNotRun: false,
		report.StatusInterrupted: false, report.StatusPlanned: false, report.StatusUnknown: false,
	} {
		if got := (&report.Step{Status: status}).Succeeded(); got != want {
			t.Errorf("Succeeded(%s) = %v", status, got)
		}
	}
	if (&report.Step{}).HasEvidence() {
		t.Error("empty step has evidence")
	}
	if !(&report.Step{Notes: []string{"n"}}).HasEvidence() || !(&report.Step{Commands: []report.CommandRecord{{}}}).HasEvidence() {
		t.Error("notes or commands are evidence")
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestMarkdownGolden(t *testing.T) {
	r := sampleRun("apply")
	// The summary the engine gives steps left behind by an interrupt.
	r.Hosts[0].Steps[7].Summary = "the run was interrupted before this step"
	r.BuildChecklist()
	golden(t, "checklist.golden.md", report.Markdown(r))
}

func TestMarkdownSingleHostHasNoHostSuffix(t *testing.T) {
	r := sampleRun("apply")
	r.Hosts = r.Hosts[:1]
	r.BuildChecklist()
	md := report.Markdown(r)
	if strings.Contains(md, "(node01)") {
		t.Errorf("single-host checklist names the host:\n%s", md)
	}
	if !strings.Contains(md, "5 of 10 items ticked") {
		t.Errorf("tally missing:\n%s", md)
	}
	r.Title = ""
	if md := report.Markdown(r); !strings.HasPrefix(md, "# demo — completion checklist\n") {
		t.Errorf("untitled runbook heading: %q", strings.SplitN(md, "\n", 2)[0])
	}
}

func TestBlank(t *testing.T) {
	got := report.Blank("T", []report.BlankItem{
		{Text: "one", Step: "a", Proof: "Check a"},
		{Text: "two", Step: "b"},
		{Text: "three", Step: "c", Proof: "Run c", Commands: []string{"sacctmgr -P show qos", "echo `date`"}},
		{Text: "four", Step: "d", Commands: []string{"true"}},
		{Text: "five", Step: "d", Proof: "Run d", Commands: []string{"true"}},
		{Text: "six", Step: "e", Commands: []string{"true"}},
	})
	want := "# T — completion checklist\n\n" +
		"- [ ] one\n  - proof: step `a` (Check a)\n" +
		"- [ ] two\n" +
		"- [ ] three\n  - proof: step `c` (Run c)\n    - `sacctmgr -P show qos`\n    - `` echo `date` ``\n" +
		"- [ ] four\n  - proof: step `d`\n    - `true`\n" +
		"- [ ] five\n  - proof: step `d` (Run d), commands as above\n" +
		"- [ ] six\n  - proof: step `e`\n    - `true`\n"
	if got != want {
		t.Errorf("Blank =\n%s\nwant\n%s", got, want)
	}
}

func TestRunDir(t *testing.T) {
	loc := time.FixedZone("KST", 9*3600)
	got := report.RunDir("/state/runs", time.Date(2026, 3, 14, 18, 26, 53, 123456789, loc), "phase2")
	if want := "/state/runs/20260314T092653.123Z-phase2"; got != want {
		t.Errorf("RunDir = %q, want %q", got, want)
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestPrepareAndWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs", "20260314T092653.000Z-demo")
	if err := report.Prepare(dir); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("run dir mode %o, want 700", m)
	}
	if _, err := os.Stat(filepath.Join(dir, ".writable")); err != nil {
		t.Errorf("Prepare left no proof of writing: %v", err)
	}
	r := sampleRun("apply")
	if err := report.Write(dir, r); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"checklist.md", "junit.xml", "report.html", "report.json"}) {
		t.Errorf("run dir holds %q, want only checklist.md, junit.xml, report.html and report.json (no temp files, no .writable)", names)
	}
	for _, n := range names {
		if m := mode(t, filepath.Join(dir, n)); m != 0o600 {
			t.Errorf("%s mode %o, want 600", n, m)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back report.Run
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("report.json does not parse: %v", err)
	}
	if back.SchemaVersion != report.SchemaVersion || back.ID != r.ID || len(back.Hosts) != 2 || len(back.Checklist) != 11 {
		t.Errorf("report.json round trip: %+v", back)
	}
	if !back.Started.Equal(t0) || back.Hosts[0].Steps[1].Commands[1].Command != "mkdir -p /srv/x" {
		t.Errorf("report.json lost data: started %v", back.Started)
	}
	var raw map[string]any
	_ = json.Unmarshal(b, &raw)
	for _, key := range []string{"schema_version", "id", "mode", "runbook", "file", "started", "ended", "result", "hosts", "checklist"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("report.json has no %q", key)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "checklist.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(md) != report.Markdown(r) {
		t.Error("checklist.md is not Markdown(run)")
	}
	for name, render := range map[string]func(*report.Run) ([]byte, error){"report.html": report.HTML, "junit.xml": report.JUnit} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := render(r)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s is not the rendering of the run", name)
		}
	}
}

// TestWriteIsAtomic: a reader holding the old report keeps reading the
// whole old report while a new one is written: the file is replaced by a
// rename, never truncated and rewritten in place.
func TestWriteIsAtomic(t *testing.T) {
	dir := t.TempDir()
	r := sampleRun("apply")
	r.Result = "running"
	if err := report.Write(dir, r); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "report.json")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	r.Result = "success"
	r.Hosts = append(r.Hosts, &report.Host{Name: "node03", Transport: "local"})
	if err := report.Write(dir, r); err != nil {
		t.Fatal(err)
	}
	held, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(held) != string(old) {
		t.Error("the open report changed under its reader: Write rewrote the file in place")
	}
	now, _ := os.ReadFile(path)
	if !strings.Contains(string(now), `"result": "success"`) || !strings.Contains(string(now), "node03") {
		t.Error("the new report was not written")
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("rewritten report mode %o, want 600", m)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) != 0 {
		t.Errorf("temp files left behind: %q", left)
	}
}

func TestWriteFailsWhereItCannotWrite(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := report.Write(notDir, sampleRun("apply")); err == nil {
		t.Error("Write into a regular file succeeded")
	}
	if err := report.Prepare(filepath.Join(notDir, "sub")); err == nil {
		t.Error("Prepare under a regular file succeeded")
	}
}
