package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/runbook-hpc/runbook/engine/report"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	exampleRunbook = "../../runbooks/example.hcl"
	invalidDir     = "../../engine/testdata/invalid"
	// mainEnv makes the test binary act as the runbook binary, so tests
	// that need a real process (signals, no terminal) need no go build.
	mainEnv = "RUNBOOK_CLI_TEST_MAIN"
)

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(run(os.Args[1:]))
	}
	// Variables from the developer's environment must not leak into runs.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "RUNBOOK_VAR_") || k == "RUNBOOK_INVENTORY" {
			os.Unsetenv(k)
		}
	}
	flag.Parse()
	os.Exit(m.Run())
}

// result is one finished invocation.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout ---\n%s\n--- stderr ---\n%s", r.code, r.stdout, r.stderr)
}

var stdioMu sync.Mutex

// runCLI calls run(args) in this process with stdout and stderr captured.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	stdioMu.Lock()
	defer stdioMu.Unlock()
	capture := func() (*os.File, func() string) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		done := make(chan struct{})
		go func() { io.Copy(&buf, r); close(done) }()
		return w, func() string { w.Close(); <-done; r.Close(); return buf.String() }
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	outW, outDone := capture()
	errW, errDone := capture()
	os.Stdout, os.Stderr = outW, errW
	code := run(args)
	os.Stdout, os.Stderr = oldOut, oldErr
	return result{code: code, stdout: outDone(), stderr: errDone()}
}

// binCmd prepares the test binary acting as runbook, with no terminal.
func binCmd(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	cmd.Stdin = nil // /dev/null: not a terminal
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("running the binary: %v", err)
	return -1
}

func runBinary(t *testing.T, args ...string) result {
	t.Helper()
	cmd, stdout, stderr := binCmd(t, args...)
	err := cmd.Run()
	return result{code: exitCode(t, err), stdout: stdout.String(), stderr: stderr.String()}
}

func noCrash(t *testing.T, r result) {
	t.Helper()
	for _, bad := range []string{"panic", "goroutine ", "internal error"} {
		if strings.Contains(r.stdout+r.stderr, bad) {
			t.Errorf("output contains %q:\n%s", bad, r)
		}
	}
}

// uniqueName is a valid value for the example's var.name that no other
// test (or earlier run) uses; its scratch directory is removed afterwards.
func uniqueName(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%d", os.Getpid(), rand.Intn(1_000_000))
	t.Cleanup(func() { os.RemoveAll("/tmp/runbook-example-" + name) })
	return name
}

func writeRunbook(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rb.hcl")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runDirs returns the run directories under stateDir, oldest first.
func runDirs(t *testing.T, stateDir string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(stateDir, "runs", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

func onlyRunDir(t *testing.T, stateDir string) string {
	t.Helper()
	dirs := runDirs(t, stateDir)
	if len(dirs) != 1 {
		t.Fatalf("%d run directories under %s, want 1: %q", len(dirs), stateDir, dirs)
	}
	return dirs[0]
}

func readReport(t *testing.T, dir string) *report.Run {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r report.Run
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report.json does not parse: %v\n%s", err, b)
	}
	return &r
}

func stepsByName(t *testing.T, r *report.Run) map[string]*report.Step {
	t.Helper()
	if len(r.Hosts) != 1 {
		t.Fatalf("%d hosts in the report, want 1", len(r.Hosts))
	}
	out := map[string]*report.Step{}
	for _, s := range r.Hosts[0].Steps {
		out[s.Name] = s
	}
	return out
}

func checkStatuses(t *testing.T, r *report.Run, want map[string]string) {
	t.Helper()
	got := stepsByName(t, r)
	if len(got) != len(want) {
		t.Errorf("%d steps in the report, want %d", len(got), len(want))
	}
	for name, status := range want {
		s, ok := got[name]
		if !ok {
			t.Errorf("step %s missing from the report", name)
			continue
		}
		if s.Status != status {
			t.Errorf("step %s is %s (%s), want %s", name, s.Status, s.Summary, status)
		}
	}
}

func checkModes(t *testing.T, dir string) {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o700 {
		t.Errorf("run dir %s mode %o, want 700", dir, m)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if m := info.Mode().Perm(); m != 0o600 {
			t.Errorf("%s mode %o, want 600", e.Name(), m)
		}
	}
	// Every rendering of the record, and nothing else (no temp files left).
	if strings.Join(names, ",") != "checklist.md,junit.xml,report.html,report.json" {
		t.Errorf("run dir holds %q, want checklist.md, junit.xml, report.html and report.json", names)
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
		t.Fatalf("%v (run go test ./cmd/runbook -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update to accept):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// wantHeader reads "# want: LINE: Summary" from an invalid corpus file.
var wantHeader = regexp.MustCompile(`(?m)\A# want: (\d+): (.+)$`)

func TestValidateInvalidCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(invalidDir, "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 35 {
		t.Fatalf("%d files in %s, want at least 35", len(files), invalidDir)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".hcl"), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m := wantHeader.FindSubmatch(src)
			if m == nil {
				t.Fatalf("%s has no want header", f)
			}
			r := runCLI(t, "validate", f)
			if r.code != exitInvalid {
				t.Fatalf("want exit 3:\n%s", r)
			}
			noCrash(t, r)
			if want := "Error: " + string(m[2]); !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
			if want := fmt.Sprintf("on %s line %s", f, m[1]); !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
			if strings.Contains(r.stdout, "is valid") {
				t.Errorf("stdout claims the runbook is valid:\n%s", r.stdout)
			}
		})
	}
}

func TestValidateShowsSnippet(t *testing.T) {
	f := filepath.Join(invalidDir, "unknown_kind.hcl")
	r := runCLI(t, "validate", f)
	if r.code != exitInvalid {
		t.Fatalf("want exit 3:\n%s", r)
	}
	for _, want := range []string{
		`Error: Unknown step kind "chek"`,
		"on " + f + " line 5",
		`step "chek" "a" {`,
		`Did you mean "check"?`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "\x1b[") {
		t.Error("colour codes written to a pipe")
	}
}

func TestValidateExample(t *testing.T) {
	r := runCLI(t, "validate", exampleRunbook)
	if r.code != exitOK {
		t.Fatalf("want exit 0:\n%s", r)
	}
	if want := `runbook "example" is valid (5 steps)`; !strings.Contains(r.stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, r)
	}
	if r.stderr != "" {
		t.Errorf("stderr not empty (warnings on the example?):\n%s", r.stderr)
	}
}

func TestValidateBadVar(t *testing.T) {
	r := runCLI(t, "validate", exampleRunbook, "--var", "name=Not Valid")
	if r.code != exitInvalid {
		t.Fatalf("want exit 3:\n%s", r)
	}
	if !strings.Contains(r.stderr, "name must be lower-case letters") {
		t.Errorf("stderr lacks the validation message:\n%s", r.stderr)
	}
	r = runCLI(t, "validate", exampleRunbook, "--var", "nmae=x")
	if r.code != exitInvalid || !strings.Contains(r.stderr, `Did you mean "name"?`) {
		t.Errorf("undeclared --var:\n%s", r)
	}
}

func TestValidateMissingFile(t *testing.T) {
	r := runCLI(t, "validate", filepath.Join(t.TempDir(), "nope.hcl"))
	if r.code != exitInvalid || !strings.Contains(r.stderr, "Cannot read runbook") {
		t.Errorf("want exit 3 and a read error:\n%s", r)
	}
	noCrash(t, r)
}

func TestUnknownFlagExits3(t *testing.T) {
	r := runCLI(t, "validate", "--no-such-flag", exampleRunbook)
	if r.code != exitInvalid {
		t.Errorf("want exit 3:\n%s", r)
	}
}

const unformatted = `runbook "f" {
title="x"
  description =   "y"
}

step "check" "a" {
    argv = ["true"]
  checklist= "c"
}
`

func TestFmt(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "messy.hcl")
	if err := os.WriteFile(p, []byte(unformatted), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "fmt", "-check", p)
	if r.code != exitFailed {
		t.Fatalf("fmt -check on an unformatted file: want exit 1:\n%s", r)
	}
	if !strings.Contains(r.stdout, p) {
		t.Errorf("fmt -check does not list the file:\n%s", r)
	}
	if b, _ := os.ReadFile(p); string(b) != unformatted {
		t.Fatal("fmt -check changed the file")
	}

	r = runCLI(t, "fmt", "-w", p)
	if r.code != exitOK {
		t.Fatalf("fmt -w: want exit 0:\n%s", r)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := string(hclwrite.Format([]byte(unformatted))); string(b) != want || string(b) == unformatted {
		t.Errorf("fmt -w wrote:\n%s\nwant:\n%s", b, want)
	}
	if !strings.Contains(string(b), "  title       = \"x\"\n") {
		t.Errorf("attributes not aligned:\n%s", b)
	}

	r = runCLI(t, "fmt", "-check", dir)
	if r.code != exitOK || r.stdout != "" {
		t.Errorf("fmt -check after fmt -w: want exit 0 and no output:\n%s", r)
	}
}

func TestFmtStdoutAndSyntaxError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "messy.hcl")
	if err := os.WriteFile(p, []byte(unformatted), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "fmt", p)
	if r.code != exitOK || r.stdout != string(hclwrite.Format([]byte(unformatted))) {
		t.Errorf("fmt without flags prints the formatted file:\n%s", r)
	}
	if b, _ := os.ReadFile(p); string(b) != unformatted {
		t.Error("fmt without -w changed the file")
	}
	bad := filepath.Join(invalidDir, "syntax_missing_brace.hcl")
	r = runCLI(t, "fmt", "-check", bad)
	if r.code != exitInvalid || !strings.Contains(r.stderr, "line 2") {
		t.Errorf("fmt of a file with a syntax error: want exit 3 with the line:\n%s", r)
	}
}

func TestChecklistGolden(t *testing.T) {
	r := runCLI(t, "checklist", exampleRunbook)
	if r.code != exitOK {
		t.Fatalf("want exit 0:\n%s", r)
	}
	golden(t, "checklist_example.golden", r.stdout)
}

func TestChecklistJSON(t *testing.T) {
	r := runCLI(t, "checklist", exampleRunbook, "--json", "--var", "name=other")
	if r.code != exitOK {
		t.Fatalf("want exit 0:\n%s", r)
	}
	var doc struct {
		Runbook string             `json:"runbook"`
		Items   []report.BlankItem `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if doc.Runbook != "example" || len(doc.Items) != 4 || doc.Items[1].Text != "Create /tmp/runbook-example-other" {
		t.Errorf("checklist JSON = %+v", doc)
	}
	if r := runCLI(t, "checklist", exampleRunbook, "--format", "pdf"); r.code != exitInvalid {
		t.Errorf("--format pdf: want exit 3:\n%s", r)
	}
}

// normalise makes plan output independent of the machine and the run.
func normalise(s, name string) string {
	host, _ := os.Hostname()
	s = strings.ReplaceAll(s, name, "NAME")
	if host != "" {
		s = strings.ReplaceAll(s, host, "HOST")
	}
	return s
}

func TestPlanGolden(t *testing.T) {
	name := uniqueName(t)
	state := t.TempDir()
	r := runCLI(t, "plan", exampleRunbook, "--state-dir", state, "--var", "name="+name, "--show-commands")
	if r.code != exitOK {
		t.Fatalf("want exit 0:\n%s", r)
	}
	golden(t, "plan_example.golden", normalise(r.stdout, name))
	if _, err := os.Stat("/tmp/runbook-example-" + name); err == nil {
		t.Error("plan created the scratch directory")
	}
	dir := onlyRunDir(t, state)
	checkModes(t, dir)
	rep := readReport(t, dir)
	if rep.Mode != "plan" || rep.Result != "planned" {
		t.Errorf("plan report mode=%q result=%q", rep.Mode, rep.Result)
	}
	for _, it := range rep.Checklist {
		if it.Ticked {
			t.Errorf("plan ticked %q", it.Text)
		}
	}

	r = runCLI(t, "plan", exampleRunbook, "--state-dir", state, "--var", "name="+name, "--detailed-exitcode")
	if r.code != exitChanges {
		t.Errorf("plan --detailed-exitcode with changes pending: want exit 2:\n%s", r)
	}
}

func TestApplyExampleTwice(t *testing.T) {
	name := uniqueName(t)
	scratch := "/tmp/runbook-example-" + name
	state := t.TempDir()
	args := []string{"apply", exampleRunbook, "--state-dir", state, "--var", "name=" + name, "--auto-approve"}

	r := runCLI(t, args...)
	if r.code != exitOK {
		t.Fatalf("first apply: want exit 0:\n%s", r)
	}
	noCrash(t, r)
	if !strings.Contains(r.stdout, "Changed: 2 of 5 steps that ran.") || !strings.Contains(r.stdout, "Result: success. Checklist: 4 of 4 ticked.") {
		t.Errorf("first apply summary:\n%s", r.stdout)
	}
	marker, err := os.ReadFile(scratch + "/marker")
	if err != nil || !strings.HasPrefix(string(marker), "kernel ") {
		t.Fatalf("marker = %q, %v", marker, err)
	}
	dirs := runDirs(t, state)
	if len(dirs) != 1 {
		t.Fatalf("run dirs %q", dirs)
	}
	first := readReport(t, dirs[0])
	if first.SchemaVersion != report.SchemaVersion || first.Mode != "apply" || first.Result != "success" || first.Runbook != "example" {
		t.Errorf("report: schema %d mode %q result %q runbook %q", first.SchemaVersion, first.Mode, first.Result, first.Runbook)
	}
	if first.Variables["name"] != name {
		t.Errorf("report variables = %v", first.Variables)
	}
	if first.ID != filepath.Base(dirs[0]) {
		t.Errorf("report id %q, run dir %q", first.ID, dirs[0])
	}
	checkStatuses(t, first, map[string]string{
		"kernel": "ok", "make_dir": "changed", "marker": "changed", "read_marker": "ok", "marker_ok": "ok",
	})
	if len(first.Checklist) != 4 {
		t.Fatalf("%d checklist items, want 4", len(first.Checklist))
	}
	for _, it := range first.Checklist {
		if !it.Ticked || len(it.Evidence) == 0 {
			t.Errorf("checklist item %q ticked=%v evidence=%q", it.Text, it.Ticked, it.Evidence)
		}
	}
	if ev := strings.Join(first.Checklist[1].Evidence, "\n"); !strings.Contains(ev, "`mkdir -p -- "+scratch+" && chmod 00755") || !strings.Contains(ev, "→ exit 0: after directory|755|") {
		t.Errorf("make_dir evidence does not name the mkdir:\n%s", ev)
	}
	md, err := os.ReadFile(filepath.Join(dirs[0], "checklist.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(md), "\n- [x] "); n != 4 {
		t.Errorf("checklist.md has %d ticked lines, want 4:\n%s", n, md)
	}
	checkModes(t, dirs[0])

	time.Sleep(5 * time.Millisecond) // run dirs are named to the millisecond
	r = runCLI(t, args...)
	if r.code != exitOK {
		t.Fatalf("second apply: want exit 0:\n%s", r)
	}
	if !strings.Contains(r.stdout, "Nothing changed (5 steps ran).") {
		t.Errorf("the second apply does not say nothing changed:\n%s", r.stdout)
	}
	dirs = runDirs(t, state)
	if len(dirs) != 2 {
		t.Fatalf("run dirs after two applies: %q", dirs)
	}
	second := readReport(t, dirs[1])
	checkStatuses(t, second, map[string]string{
		"kernel": "ok", "make_dir": "unchanged", "marker": "unchanged", "read_marker": "ok", "marker_ok": "ok",
	})
	for _, s := range second.Hosts[0].Steps {
		if s.Changed {
			t.Errorf("second apply changed %s", s.Name)
		}
	}
	if !strings.Contains(r.stdout, "Checklist: 4 of 4 ticked.") {
		t.Errorf("second apply summary:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "make_dir") || !strings.Contains(r.stderr, "unchanged") {
		t.Errorf("progress lines do not show the unchanged steps:\n%s", r.stderr)
	}
	checkModes(t, dirs[1])
}

const failingRunbook = `
runbook "failing" {
  title = "A runbook that fails"
}

step "check" "first" {
  argv      = ["true"]
  checklist = "First works"
}

step "check" "boom" {
  command   = "sh -c 'echo boom >&2; exit 4'"
  checklist = "Boom works"
}

step "command" "after" {
  command   = "touch %s"
  checklist = ["After runs", "Really runs"]
}
`

func TestApplyFailingStep(t *testing.T) {
	state := t.TempDir()
	touched := filepath.Join(t.TempDir(), "after-ran")
	rb := writeRunbook(t, fmt.Sprintf(failingRunbook, touched))
	r := runCLI(t, "apply", rb, "--state-dir", state, "--auto-approve")
	if r.code != exitFailed {
		t.Fatalf("want exit 1:\n%s", r)
	}
	noCrash(t, r)
	if _, err := os.Stat(touched); err == nil {
		t.Error("a step after the failure ran")
	}
	for _, want := range []string{`✗ step "boom"`, "exited 4", "    boom", "Result: failed. Checklist: 1 of 4 ticked."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	dir := onlyRunDir(t, state)
	checkModes(t, dir)
	rep := readReport(t, dir)
	if rep.Result != "failed" {
		t.Errorf("result %q, want failed", rep.Result)
	}
	checkStatuses(t, rep, map[string]string{"first": "ok", "boom": "failed", "after": "not_run"})
	boom := stepsByName(t, rep)["boom"]
	if !strings.Contains(boom.Error, "exited 4: boom") {
		t.Errorf("boom error %q", boom.Error)
	}
	if len(boom.Commands) != 1 || boom.Commands[0].ExitCode != 4 || boom.Commands[0].Stderr != "boom\n" {
		t.Errorf("boom evidence %+v", boom.Commands)
	}
	if after := stepsByName(t, rep)["after"]; len(after.Commands) != 0 || !strings.Contains(after.Summary, `"boom"`) {
		t.Errorf("after: commands %+v summary %q", after.Commands, after.Summary)
	}
	ticked := map[string]bool{}
	for _, it := range rep.Checklist {
		ticked[it.Text] = it.Ticked
	}
	want := map[string]bool{"First works": true, "Boom works": false, "After runs": false, "Really runs": false}
	for text, w := range want {
		if got, ok := ticked[text]; !ok || got != w {
			t.Errorf("checklist %q ticked=%v (present %v), want %v", text, got, ok, w)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "checklist.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"- [x] First works\n", "- [ ] Boom works\n", "- [ ] After runs\n", "- [ ] Really runs\n", "1 of 4 items ticked"} {
		if !strings.Contains(string(md), line) {
			t.Errorf("checklist.md lacks %q:\n%s", line, md)
		}
	}
}

const sleepyRunbook = `
runbook "sleepy" {}

step "command" "nap" {
  command   = "echo $$ > %s; exec sleep 30"
  checklist = "Nap taken"
}

step "command" "after" {
  command = "true"
}
`

func TestApplyInterrupted(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{
		{syscall.SIGINT, exitSIGINT},
		{syscall.SIGTERM, exitSIGTERM},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			state := t.TempDir()
			pidFile := filepath.Join(t.TempDir(), "nap.pid")
			rb := writeRunbook(t, fmt.Sprintf(sleepyRunbook, pidFile))
			cmd, stdout, stderr := binCmd(t, "apply", rb, "--state-dir", state, "--auto-approve")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
				}
			}()

			// The step has started once its command wrote its pid.
			var pid int
			deadline := time.Now().Add(10 * time.Second)
			for pid == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the step never started\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
				}
				select {
				case err := <-waited:
					t.Fatalf("runbook exited before the signal: %v\n%s\n%s", err, stdout, stderr)
				case <-time.After(20 * time.Millisecond):
				}
				if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
					pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
				}
			}
			sent := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-waited:
			case <-time.After(10 * time.Second):
				t.Fatalf("runbook still running 10 s after %s", tc.sig)
			}
			if took := time.Since(sent); took > 5*time.Second {
				t.Errorf("runbook took %s to stop after %s", took, tc.sig)
			}
			res := result{code: exitCode(t, err), stdout: stdout.String(), stderr: stderr.String()}
			if res.code != tc.code {
				t.Fatalf("want exit %d:\n%s", tc.code, res)
			}
			noCrash(t, res)
			if !strings.Contains(res.stderr, "received") {
				t.Errorf("stderr does not acknowledge the signal:\n%s", res.stderr)
			}
			if err := syscall.Kill(pid, 0); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("the step's command (pid %d) outlived the run", pid)
			}
			dir := onlyRunDir(t, state)
			checkModes(t, dir)
			rep := readReport(t, dir)
			if rep.Result != "interrupted" {
				t.Errorf("result %q, want interrupted", rep.Result)
			}
			checkStatuses(t, rep, map[string]string{"nap": "interrupted", "after": "not_run"})
			for _, it := range rep.Checklist {
				if it.Ticked {
					t.Errorf("interrupted run ticked %q", it.Text)
				}
			}
		})
	}
}

func TestApplyWithoutTerminal(t *testing.T) {
	state := t.TempDir()
	name := uniqueName(t)
	r := runBinary(t, "apply", exampleRunbook, "--state-dir", state, "--var", "name="+name)
	if r.code != exitInvalid {
		t.Fatalf("apply without --auto-approve and no terminal: want exit 3:\n%s", r)
	}
	noCrash(t, r)
	if !strings.Contains(r.stderr, "--auto-approve") {
		t.Errorf("stderr does not say what to do:\n%s", r.stderr)
	}
	if _, err := os.Stat("/tmp/runbook-example-" + name); err == nil {
		t.Error("apply without approval changed the host")
	}
}

// TestApplyWithoutTerminalLeavesNoRunningRecord: a refused apply must not
// leave a run record that claims, forever, that it is still running.
func TestApplyWithoutTerminalLeavesNoRunningRecord(t *testing.T) {
	state := t.TempDir()
	r := runBinary(t, "apply", exampleRunbook, "--state-dir", state, "--var", "name="+uniqueName(t))
	if r.code != exitInvalid {
		t.Fatalf("want exit 3:\n%s", r)
	}
	for _, dir := range runDirs(t, state) {
		if rep := readReport(t, dir); rep.Result == "running" {
			t.Errorf("%s/report.json says result %q after the process exited 3", dir, rep.Result)
		}
	}
}
