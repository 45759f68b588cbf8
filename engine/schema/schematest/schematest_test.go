package schematest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/planfile"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/schema"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func jsonMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func sampleReport() *report.Run {
	return &report.Run{SchemaVersion: report.SchemaVersion, ID: "20260314T092653.000Z-rb", Mode: "apply", Runbook: "rb", File: "rb.hcl",
		Started: t0, Ended: t0.Add(time.Second), Result: report.ResultFailed, Variables: map[string]string{"pw": "(sensitive)"},
		VariableDigests: map[string]report.VariableDigest{"pw": {Sensitive: true, Argon2id: "argon2id$…"}},
		Hosts: []*report.Host{{Name: "h", Transport: "local", Steps: []*report.Step{
			{Name: "a", Kind: "modify", Title: "a", Status: report.StatusFailed, Action: "modify", Changes: []steps.Change{{Field: "f", Current: "1", Desired: "2"}},
				Started: t0, Ended: t0, Commands: []report.CommandRecord{{Command: "x", ExitCode: -1, Started: t0, Ended: t0, Error: "timeout", Proves: 1}},
				Outputs: &report.Outputs{Type: json.RawMessage(`["object",{"stdout":"string"}]`), Value: json.RawMessage(`{"stdout":"x"}`)}},
			{Name: "b", Kind: "check", Title: "b", Status: report.StatusNotRun},
		}}},
		Checklist: []report.ChecklistItem{{Text: "a", Host: "h", Step: "a", Reason: "failed: x"}},
	}
}

func samplePlan() *planfile.File {
	return &planfile.File{Kind: planfile.Kind, SchemaVersion: planfile.SchemaVersion, FormatVersion: planfile.SchemaVersion, Created: t0,
		Runbook: "rb", RunbookFile: "/rb.hcl", RunbookSHA256: "ab",
		Variables: map[string]planfile.Variable{"n": {Type: json.RawMessage(`"string"`), Value: json.RawMessage(`"x"`), SHA256: "cd"}, "pw": {Sensitive: true, Argon2id: "argon2id$…"}},
		Hosts: []planfile.Host{{Name: "h", Transport: "local", Steps: []planfile.Step{{Name: "a", Kind: "create", Title: "a", Status: report.StatusPlanned, Action: "create",
			Commands: []string{"x"}, Probes: []planfile.Probe{{Command: "y", SHA256: "ef"}}}}}},
		Summary: planfile.Summary{Create: 1},
	}
}

func set(m map[string]any, path string, v any) map[string]any {
	keys := strings.Split(path, ".")
	var cur any = m
	for _, k := range keys[:len(keys)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[k]
		case []any:
			cur = c[k[0]-'0']
		}
	}
	last := keys[len(keys)-1]
	if v == nil {
		delete(cur.(map[string]any), last)
	} else if v == "null" {
		cur.(map[string]any)[last] = nil
	} else {
		cur.(map[string]any)[last] = v
	}
	return m
}

func marshal(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// open is the schema as published: it lets objects carry fields it
// does not list.
func open(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(filepath.Join(dir, file), false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validOpen(t *testing.T, s *jsonschema.Schema, b []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}

func TestReport(t *testing.T) {
	fresh := func() map[string]any { return jsonMap(t, sampleReport()) }
	if err := Report(marshal(t, fresh())); err != nil {
		t.Fatalf("a valid report: %v", err)
	}
	for name, m := range map[string]map[string]any{
		"no hosts":        set(fresh(), "hosts", "null"),
		"no checklist":    set(fresh(), "checklist", "null"),
		"an old record":   set(set(fresh(), "runbook_sha256", nil), "variable_digests", nil),
		"step never ran":  set(fresh(), "hosts.0.steps.1.started", "0001-01-01T00:00:00Z"),
		"any cty outputs": set(fresh(), "hosts.0.steps.0.outputs.value", []any{1.0, "x", nil}),
	} {
		if err := Report(marshal(t, m)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	pub := open(t, schema.ReportFile)
	for name, c := range map[string]struct {
		m    map[string]any
		open bool // the published schema accepts it
	}{
		"unknown field":         {set(fresh(), "hosts.0.steps.0.bogus", "x"), true},
		"unknown status":        {set(fresh(), "hosts.0.steps.0.status", "bogus"), false},
		"unknown result":        {set(fresh(), "result", "done"), false},
		"newer schema_version":  {set(fresh(), "schema_version", 2.0), false},
		"no schema_version":     {set(fresh(), "schema_version", nil), false},
		"no hosts field":        {set(fresh(), "hosts", nil), false},
		"a time that is not":    {set(fresh(), "started", "yesterday"), false},
		"exit code as a string": {set(fresh(), "hosts.0.steps.0.commands.0.exit_code", "1"), false},
		"a step without times":  {set(fresh(), "hosts.0.steps.1.started", nil), false},
	} {
		b := marshal(t, c.m)
		if Report(b) == nil {
			t.Errorf("%s: accepted", name)
		}
		if err := validOpen(t, pub, b); (err == nil) != c.open {
			t.Errorf("%s: the published schema says %v, want accepted %v", name, err, c.open)
		}
	}
}

func TestPlan(t *testing.T) {
	fresh := func() map[string]any { return jsonMap(t, samplePlan()) }
	if err := Plan(marshal(t, fresh())); err != nil {
		t.Fatalf("a valid plan: %v", err)
	}
	if err := Plan(marshal(t, set(fresh(), "schema_version", nil))); err != nil {
		t.Errorf("a plan written before schema_version: %v", err)
	}
	for name, m := range map[string]map[string]any{
		"format 3":         set(fresh(), "format_version", 3.0),
		"schema 3":         set(fresh(), "schema_version", 3.0),
		"not a plan":       set(fresh(), "kind", "runbook-report"),
		"unknown action":   set(fresh(), "hosts.0.steps.0.action", "delete"),
		"no summary":       set(fresh(), "summary", nil),
		"summary is wrong": set(fresh(), "summary.create", "one"),
		"unknown field":    set(fresh(), "hosts.0.bogus", true),
	} {
		if Plan(marshal(t, m)) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

const event = `{"schema":"runbook.events/v1","schema_version":1,"type":"step_finished","time":"2026-03-14T15:04:05.103Z","seq":3,"run_id":"R","host":"h","step":"s","kind":"check","title":"t","status":"failed","changed":false,"ran":true,"duration_ms":2,"failed_command":{"command":"x","exit_code":4,"stderr_tail":"boom"}}`

func TestEvents(t *testing.T) {
	fresh := func() map[string]any {
		var m map[string]any
		json.Unmarshal([]byte(event), &m)
		return m
	}
	if err := Events([]byte(event+"\n"+event+"\n"), false); err != nil {
		t.Fatalf("a valid stream: %v", err)
	}
	if Events([]byte(event+"\n"+event[:40]), false) == nil {
		t.Error("a stream cut in a line: accepted")
	}
	if err := Events([]byte(event+"\n"+event[:40]), true); err != nil {
		t.Errorf("a killed run's stream, cut in a line: %v", err)
	}
	if Events([]byte(event+"\nnot json\n"), false) == nil {
		t.Error("a line that is not JSON: accepted")
	}
	pub := open(t, schema.EventsFile)
	for name, c := range map[string]struct {
		m    map[string]any
		open bool
	}{
		"unknown event type":     {set(fresh(), "type", "step_paused"), true},
		"unknown field":          {set(fresh(), "bogus", 1.0), true},
		"unknown status":         {set(fresh(), "status", "done"), false},
		"no schema_version":      {set(fresh(), "schema_version", nil), false},
		"another schema":         {set(fresh(), "schema", "runbook.events/v2"), false},
		"no ran":                 {set(fresh(), "ran", nil), false},
		"failed_command unknown": {set(fresh(), "failed_command.signal", "KILL"), true},
		"time not RFC 3339":      {set(fresh(), "time", "15:04"), false},
		"unknown type, no seq":   {set(set(fresh(), "type", "step_paused"), "seq", nil), false},
	} {
		b := marshal(t, c.m)
		if Event(b) == nil {
			t.Errorf("%s: accepted", name)
		}
		if err := validOpen(t, pub, b); (err == nil) != c.open {
			t.Errorf("%s: the published schema says %v, want accepted %v", name, err, c.open)
		}
	}
}

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		verb string
		want map[string]string
	}{
		{[]string{"apply", "rb.hcl", "--state-dir", "s", "--json", "--out=x"}, "apply", map[string]string{"state-dir": "s", "json": "true", "out": "x"}},
		{[]string{"--lang=ko", "plan", "rb.hcl", "--state-dir=s", "--json=false"}, "plan", map[string]string{"state-dir": "s"}},
		{[]string{"runs", "--json"}, "runs", map[string]string{"json": "true"}},
		{nil, "", map[string]string{}},
	} {
		verb, flags := parseArgs(c.args)
		if verb != c.verb || !reflect.DeepEqual(flags, c.want) {
			t.Errorf("parseArgs(%q) = %q %v, want %q %v", c.args, verb, flags, c.verb, c.want)
		}
	}
}

func TestMain(m *testing.M) {
	WrapMain()
	os.Exit(m.Run())
}

// The wrapper passes the exit status and stdout through, and reports an
// artefact that does not match its schema, on stderr and in findings.
func TestWrap(t *testing.T) {
	t.Setenv(wrapEnv, "")
	t.Setenv(findingsEnv, "")
	fake := filepath.Join(t.TempDir(), "runbook")
	script := `#!/bin/sh
# apply RB --state-dir DIR --json
mkdir -p "$4/runs/r" && printf '{"schema_version": 1}\n' > "$4/runs/r/report.json"
echo '{"not": "an event"}'
[ "$2" = die ] && kill -TERM $$
exit 3
`
	if err := os.WriteFile(fake, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	exe, findings := Wrap(fake)
	state := t.TempDir()
	cmd := exec.Command(exe, "apply", "rb.hcl", "--state-dir", state, "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("exit %v, want 3", err)
	}
	if stdout.String() != "{\"not\": \"an event\"}\n" {
		t.Errorf("stdout %q", stdout.String())
	}
	got := findings()
	for _, want := range []string{"report.json does not match", "the --json event stream does not match"} {
		if !strings.Contains(stderr.String(), want) || got == nil || !strings.Contains(got.Error(), want) {
			t.Errorf("%q missing:\nstderr: %s\nfindings: %v", want, stderr.String(), got)
		}
	}

	exe, findings = Wrap(fake)
	cmd = exec.Command(exe, "apply", "die", "--state-dir", t.TempDir())
	err = cmd.Run()
	if !errors.As(err, &ee) || !ee.ProcessState.Sys().(syscall.WaitStatus).Signaled() {
		t.Errorf("the wrapper of a runbook killed by SIGTERM: %v", err)
	}
	if err := findings(); err == nil || !strings.Contains(err.Error(), "report.json") {
		t.Errorf("findings: %v", err)
	}
}
