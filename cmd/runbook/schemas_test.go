package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/schema"
	"github.com/runbook-hpc/runbook/engine/schema/schematest"
)

// The JSON Schemas of docs/schemas/ are made from the Go types: report
// and plan by engine/schema, the event stream here, where its types are.

func eventsSchema() ([]byte, error) {
	return schema.Events(eventHeader{}, eventSchemaVersion, []schema.Event{
		{Type: evRunStarted, Value: runStartedEvent{}},
		{Type: evHostError, Value: hostErrorEvent{}},
		{Type: evStepStarted, Value: stepStartedEvent{}},
		{Type: evStepProgress, Value: stepProgressEvent{}},
		{Type: evStepFinished, Value: stepFinishedEvent{}},
		{Type: evChecklistItem, Value: checklistItemEvent{}},
		{Type: evRunFinished, Value: runFinishedEvent{}},
	}, schema.Refine{
		reflect.TypeFor[eventHeader](): {
			"schema":         {Const: eventSchema, Description: "the stream's format and version, as a name"},
			"schema_version": {Const: eventSchemaVersion, Description: "the version of this schema, as every runbook artefact carries it"},
			"time":           {Format: "date-time"},
		},
		reflect.TypeFor[runStartedEvent](): {
			"mode":  {Enum: schema.Modes()},
			"hosts": {NonNull: true},
			"steps": {NonNull: true},
		},
		reflect.TypeFor[stepFinishedEvent](): {
			"status": {Enum: schema.Statuses()},
			"action": {Enum: schema.Actions()},
		},
		reflect.TypeFor[runFinishedEvent](): {
			"result": {Enum: schema.Results()},
			"steps":  {NonNull: true},
		},
	})
}

// TestSchemasUpToDate fails when a schema under docs/schemas/ is not
// what the Go types make; -update (go generate ./engine/schema) rewrites
// them.
func TestSchemasUpToDate(t *testing.T) {
	dir := filepath.Join("..", "..", "docs", "schemas")
	for file, gen := range map[string]func() ([]byte, error){
		schema.ReportFile: schema.Report,
		schema.PlanFile:   schema.Plan,
		schema.EventsFile: eventsSchema,
	} {
		want, err := gen()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		path := filepath.Join(dir, file)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go generate ./engine/schema makes it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("docs/schemas/%s is out of date with the Go types: run go generate ./engine/schema", file)
		}
	}
}

// TestArtefactsMatchSchemas: what real plans and applies write (report.json,
// plan files, plan --json, the apply --json stream) matches the schemas,
// closed (no field they do not describe). The runs cover a success, a
// failure, --resume, a saved plan applied, and an unreachable host.
func TestArtefactsMatchSchemas(t *testing.T) {
	state := t.TempDir()
	out := t.TempDir()
	name := uniqueName(t)
	counter, gate := filepath.Join(out, "counter"), filepath.Join(out, "gate")
	resumable := writeRunbook(t, `
runbook "resumable" { title = "resume" }
variable "token" {
  type      = string
  sensitive = true
}
variable "items" {
  type    = list(string)
  default = ["a", "b"]
}
step "command" "count" {
  checklist = "count once"
  command   = "echo x >> `+counter+`; echo ${var.token}"
}
step "check" "gated" {
  checklist  = ["gate passes", "and says so"]
  argv       = ["test", "-e", "`+gate+`"]
  depends_on = [step.count]
}
step "check" "after" {
  argv       = ["true"]
  depends_on = [step.gated]
}
`)
	failing := writeRunbook(t, fmt.Sprintf(failingRunbook, filepath.Join(out, "after-ran")))
	inv := filepath.Join(out, "down.hcl")
	if err := os.WriteFile(inv, []byte(fmt.Sprintf("host %q {\n  address = \"127.0.0.1\"\n  port    = %d\n  user    = \"nobody\"\n}\n", "down", closedPort(t))), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := filepath.Join(out, "example.plan")

	var checked int
	run := func(want int, args ...string) {
		t.Helper()
		started := time.Now()
		r := runCLI(t, args...)
		if r.code != want {
			t.Fatalf("runbook %s: want exit %d:\n%s", strings.Join(args, " "), want, r)
		}
		got, errs := schematest.Run{Args: args, Stdout: r.stdout, Started: started}.Check()
		for _, err := range errs {
			t.Error(err)
		}
		if len(got) == 0 {
			t.Errorf("runbook %s: nothing checked", strings.Join(args, " "))
		}
		checked += len(got)
	}
	run(exitOK, "plan", exampleRunbook, "--state-dir", state, "--var", "name="+name, "--out", plan)
	run(exitOK, "plan", exampleRunbook, "--state-dir", state, "--var", "name="+name, "--json")
	run(exitOK, "apply", plan, "--state-dir", state, "--auto-approve", "--json")
	run(exitOK, "apply", exampleRunbook, "--state-dir", state, "--var", "name="+name, "--auto-approve", "--json")
	run(exitFailed, "apply", failing, "--state-dir", state, "--auto-approve", "--json")

	t.Setenv("RUNBOOK_VAR_token", "s3cret-token")
	run(exitOK, "plan", resumable, "--state-dir", state, "--json")
	run(exitFailed, "apply", resumable, "--state-dir", state, "--auto-approve", "--json")
	first := filepath.Base(runDirs(t, state)[len(runDirs(t, state))-1])
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	run(exitOK, "apply", resumable, "--state-dir", state, "--auto-approve", "--json", "--resume", first)
	resumed := readReport(t, runDirs(t, state)[len(runDirs(t, state))-1])
	if s := stepsByName(t, resumed)["count"]; s.ResumedFrom != first || s.Outputs == nil {
		t.Errorf("the resumed run did not carry step count over: %+v", s)
	}

	run(exitFailed, "plan", exampleRunbook, "-i", inv, "--state-dir", state, "--json")
	run(exitFailed, "apply", exampleRunbook, "-i", inv, "--state-dir", state, "--auto-approve", "--json")
	if checked < 20 {
		t.Errorf("%d artefacts checked, want at least 20", checked)
	}
}

// closedPort is a local TCP port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestEventStreamUnitMatchesSchema: the events a local run cannot make
// (progress, an unreachable host with a hint) match the schema too.
func TestEventStreamUnitMatchesSchema(t *testing.T) {
	var out bytes.Buffer
	es := newEventStream(&out, "RUN", func() time.Time { return t0 }, nil)
	es.hostHint = func(h string) string { return "check sshd on " + h }
	run := &report.Run{Runbook: "rb", Mode: "apply", File: "rb.hcl", Started: t0}
	es.runStarted(run, "/state/runs/RUN", nil, nil)
	es.event(engine.Event{Host: "b", Kind: "host_error", Message: "ssh: handshake failed"})
	st := &report.Step{Name: "wait", Kind: "test_job", Title: "wait", Started: t0, Status: "failed", Error: "boom",
		Commands: []report.CommandRecord{{Command: "sbatch x", ExitCode: -1, Error: "timed out", Stderr: "a\nb"}}}
	es.event(engine.Event{Host: "a", Kind: "step_started", Step: st})
	es.event(engine.Event{Host: "a", Kind: "progress", Step: st, Message: "job 17 PENDING (Priority), 3s"})
	es.event(engine.Event{Host: "a", Kind: "step_finished", Step: st})
	run.Hosts = append(run.Hosts, &report.Host{Name: "a", Steps: []*report.Step{st}}, &report.Host{Name: "b", Steps: []*report.Step{{Name: "wait", Status: "not_run"}}})
	run.Result = "failed"
	es.runFinished(run, "/state/runs/RUN", exitFailed)
	if err := schematest.Events(out.Bytes(), false); err != nil {
		t.Errorf("%v\n%s", err, out.String())
	}
	for _, typ := range []string{evHostError, evStepProgress, "failed_command"} {
		if !strings.Contains(out.String(), `"`+typ+`"`) {
			t.Errorf("no %s in the stream:\n%s", typ, out.String())
		}
	}
}

// TestEventDocExamplesMatchSchema: the whole example lines of
// docs/events.md (not those shortened with …) match the schema.
func TestEventDocExamplesMatchSchema(t *testing.T) {
	b, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, `{"schema":`) || strings.Contains(line, ",…,") {
			continue
		}
		n++
		if err := schematest.Event([]byte(line)); err != nil {
			t.Errorf("%v\n%s", err, line)
		}
	}
	if n < 4 {
		t.Errorf("%d example events found in docs/events.md, want at least 4", n)
	}
}
