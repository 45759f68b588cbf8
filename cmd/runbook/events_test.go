package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/report"
)

// eventDoc is docs/events.md read as data: per event type, its fields and
// whether each is required ("*" holds the common fields).
type eventDoc map[string]map[string]bool

var (
	docHeadingRe = regexp.MustCompile("^### (?:`([a-z_]+)`|Common fields)\\s*$")
	docRowRe     = regexp.MustCompile("^\\| `([a-z_]+)` \\| ([a-z]+) \\| (yes|no) \\|")
)

func readEventDoc(t *testing.T) eventDoc {
	t.Helper()
	b, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := eventDoc{}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		if m := docHeadingRe.FindStringSubmatch(line); m != nil {
			section = m[1]
			if section == "" {
				section = "*"
			}
			doc[section] = map[string]bool{}
			continue
		}
		if strings.HasPrefix(line, "## ") {
			section = ""
		}
		if m := docRowRe.FindStringSubmatch(line); m != nil && section != "" {
			doc[section][m[1]] = m[3] == "yes"
		}
	}
	for _, typ := range []string{"*", evRunStarted, evHostError, evStepStarted, evStepProgress, evStepFinished, evChecklistItem, evRunFinished} {
		if len(doc[typ]) == 0 {
			t.Fatalf("docs/events.md documents no fields for %q", typ)
		}
	}
	return doc
}

// parseEvents parses every stdout line as one event and checks it against
// the documented schema: the common header, required fields present, no
// field that is not documented, seq counting from 1.
func parseEvents(t *testing.T, stdout string, doc eventDoc) []map[string]any {
	t.Helper()
	if !strings.HasSuffix(stdout, "\n") {
		t.Fatalf("the stream does not end with a newline:\n%s", stdout)
	}
	var events []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var ev map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&ev); err != nil || dec.More() {
			t.Fatalf("line %d is not one JSON object (%v): %q", i+1, err, line)
		}
		if ev["schema"] != "runbook.events/v1" {
			t.Errorf("line %d: schema %v", i+1, ev["schema"])
		}
		typ, _ := ev["type"].(string)
		fields, ok := doc[typ]
		if !ok {
			t.Errorf("line %d: undocumented event type %q", i+1, typ)
			continue
		}
		if ts, _ := ev["time"].(string); ts == "" {
			t.Errorf("line %d: no time", i+1)
		} else if tm, err := time.Parse(time.RFC3339Nano, ts); err != nil || tm.Location() != time.UTC {
			t.Errorf("line %d: time %q is not RFC 3339 UTC (%v)", i+1, ts, err)
		}
		if seq, _ := ev["seq"].(json.Number); seq.String() != fmt.Sprint(i+1) {
			t.Errorf("line %d: seq %v", i+1, ev["seq"])
		}
		for _, set := range []map[string]bool{doc["*"], fields} {
			for f, required := range set {
				if _, has := ev[f]; required && !has {
					t.Errorf("line %d (%s): required field %q missing: %s", i+1, typ, f, line)
				}
			}
		}
		for f := range ev {
			if _, ok := doc["*"][f]; !ok {
				if _, ok := fields[f]; !ok {
					t.Errorf("line %d (%s): field %q is not in docs/events.md", i+1, typ, f)
				}
			}
		}
		events = append(events, ev)
	}
	return events
}

func types(events []map[string]any) string {
	var out []string
	for _, ev := range events {
		s := ev["type"].(string)
		if st, ok := ev["step"].(string); ok && ev["type"] != evChecklistItem {
			s += ":" + st
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestApplyJSONEvents(t *testing.T) {
	doc := readEventDoc(t)
	name := uniqueName(t)
	state := t.TempDir()
	r := runCLI(t, "apply", exampleRunbook, "--state-dir", state, "--var", "name="+name, "--auto-approve", "--json")
	if r.code != exitOK {
		t.Fatalf("want exit 0:\n%s", r)
	}
	noCrash(t, r)
	events := parseEvents(t, r.stdout, doc)
	want := "run_started " +
		"step_started:kernel step_finished:kernel step_started:make_dir step_finished:make_dir " +
		"step_started:marker step_finished:marker step_started:read_marker step_finished:read_marker " +
		"step_started:marker_ok step_finished:marker_ok " +
		"checklist_item checklist_item checklist_item checklist_item run_finished"
	if got := types(events); got != want {
		t.Fatalf("event sequence:\n%s\nwant:\n%s", got, want)
	}
	dir := onlyRunDir(t, state)
	runID := filepath.Base(dir)
	for i, ev := range events {
		if ev["run_id"] != runID {
			t.Errorf("event %d run_id %v, want %s", i+1, ev["run_id"], runID)
		}
	}

	start := events[0]
	if start["runbook"] != "example" || start["mode"] != "apply" || start["record_dir"] != dir || start["runbook_version"] != version {
		t.Errorf("run_started = %v", start)
	}
	if hosts, _ := start["hosts"].([]any); len(hosts) != 1 || hosts[0].(map[string]any)["name"] != "localhost" || hosts[0].(map[string]any)["transport"] != "local" {
		t.Errorf("run_started hosts = %v", start["hosts"])
	}
	if vars, _ := start["variables"].(map[string]any); vars["name"] != name {
		t.Errorf("run_started variables = %v", start["variables"])
	}

	rep := readReport(t, dir)
	byName := stepsByName(t, rep)
	for _, ev := range events {
		if ev["type"] != evStepFinished {
			continue
		}
		st := byName[ev["step"].(string)]
		if ev["status"] != st.Status || ev["changed"] != st.Changed || ev["kind"] != st.Kind || ev["ran"] != true || ev["host"] != "localhost" {
			t.Errorf("step_finished %v disagrees with the record %+v", ev, st)
		}
		if ms, err := ev["duration_ms"].(json.Number).Int64(); err != nil || ms < 0 || ms > st.Ended.Sub(st.Started).Milliseconds()+1 {
			t.Errorf("step_finished %s duration_ms %v", ev["step"], ev["duration_ms"])
		}
	}
	if md := events[4]; md["status"] != report.StatusChanged || md["changed"] != true || md["action"] != "create" {
		t.Errorf("make_dir step_finished = %v", md)
	}
	for i, ev := range events[11:15] {
		it := rep.Checklist[i]
		if ev["text"] != it.Text || ev["ticked"] != true || ev["step"] != it.Step || fmt.Sprint(ev["index"]) != fmt.Sprint(i+1) {
			t.Errorf("checklist_item %v, record %+v", ev, it)
		}
		if ev, _ := ev["evidence"].([]any); len(ev) == 0 {
			t.Errorf("ticked checklist_item without evidence")
		}
	}
	end := events[len(events)-1]
	if end["result"] != "success" || fmt.Sprint(end["exit_code"]) != "0" || fmt.Sprint(end["ticked"]) != "4" ||
		fmt.Sprint(end["total"]) != "4" || end["record_dir"] != dir {
		t.Errorf("run_finished = %v", end)
	}
	if steps, _ := end["steps"].(map[string]any); fmt.Sprint(steps["ok"]) != "3" || fmt.Sprint(steps["changed"]) != "2" {
		t.Errorf("run_finished steps = %v", end["steps"])
	}

	// Human output goes to stderr, plain (no terminal): no control codes.
	if !strings.Contains(r.stderr, "Result: success. Checklist: 4 of 4 ticked.") {
		t.Errorf("stderr lacks the summary:\n%s", r.stderr)
	}
	if strings.ContainsRune(r.stderr, 0x1b) {
		t.Errorf("control codes on a stderr that is not a terminal:\n%q", r.stderr)
	}
}

// TestApplyJSONFailure: the failing step names its command, exit code and
// stderr; the steps after it still get a step_finished (ran: false), and
// run_finished carries exit code 1.
func TestApplyJSONFailure(t *testing.T) {
	doc := readEventDoc(t)
	state := t.TempDir()
	rb := writeRunbook(t, fmt.Sprintf(failingRunbook, filepath.Join(t.TempDir(), "after-ran")))
	r := runCLI(t, "apply", rb, "--state-dir", state, "--auto-approve", "--json")
	if r.code != exitFailed {
		t.Fatalf("want exit 1:\n%s", r)
	}
	events := parseEvents(t, r.stdout, doc)
	want := "run_started step_started:first step_finished:first step_started:boom step_finished:boom step_finished:after " +
		"checklist_item checklist_item checklist_item checklist_item run_finished"
	if got := types(events); got != want {
		t.Fatalf("event sequence:\n%s\nwant:\n%s", got, want)
	}
	boom := events[4]
	fc, _ := boom["failed_command"].(map[string]any)
	if boom["status"] != "failed" || !strings.Contains(fmt.Sprint(boom["error"]), "exited 4: boom") ||
		fc == nil || fmt.Sprint(fc["exit_code"]) != "4" || fc["stderr_tail"] != "boom" || !strings.Contains(fmt.Sprint(fc["command"]), "exit 4") {
		t.Errorf("boom step_finished = %v", boom)
	}
	after := events[5]
	if after["status"] != "not_run" || after["ran"] != false || fmt.Sprint(after["duration_ms"]) != "0" || !strings.Contains(fmt.Sprint(after["summary"]), `"boom"`) {
		t.Errorf("after step_finished = %v", after)
	}
	ticked := 0
	for _, ev := range events[6:10] {
		if ev["ticked"] == true {
			ticked++
		} else if ev["reason"] == nil || ev["reason"] == "" {
			t.Errorf("unticked checklist_item without a reason: %v", ev)
		}
	}
	end := events[len(events)-1]
	if ticked != 1 || end["result"] != "failed" || fmt.Sprint(end["exit_code"]) != "1" || fmt.Sprint(end["ticked"]) != "1" || fmt.Sprint(end["total"]) != "4" {
		t.Errorf("ticked %d, run_finished = %v", ticked, end)
	}
	if !strings.Contains(r.stderr, `✗ step "boom"`) || strings.Contains(r.stdout, "✗") {
		t.Errorf("the failure summary belongs on stderr with --json:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

// TestEventStreamUnit drives the stream with events the example cannot
// produce: an unreachable host, progress, redaction of secrets.
func TestEventStreamUnit(t *testing.T) {
	doc := readEventDoc(t)
	clock := &fakeClock{t: t0}
	var out bytes.Buffer
	redact := func(s string) string { return strings.ReplaceAll(s, "hunter2", "(sensitive)") }
	es := newEventStream(&out, "RUN", clock.now, redact)
	es.hostHint = func(h string) string { return "check sshd on " + h }
	run := &report.Run{Runbook: "rb", Mode: "apply", File: "rb.hcl", Started: t0, Variables: map[string]string{"token": "(sensitive)"}}
	es.runStarted(run, "/state/runs/RUN", []eventHost{{"a", "local"}, {"b", "ssh u@b:22"}}, []string{"wait"})
	es.event(engine.Event{Host: "b", Kind: "host_error", Message: "ssh: handshake failed"})
	st := &report.Step{Name: "wait", Kind: "test_job", Title: "Wait", Started: t0, Checklist: []string{"job ran with hunter2"}}
	es.event(engine.Event{Host: "a", Step: st, Kind: "step_started"})
	clock.advance(2500 * time.Millisecond)
	es.event(engine.Event{Host: "a", Step: st, Kind: "progress", Message: "job 17 PENDING (Priority), 2s"})
	clock.advance(time.Second)
	st.Ended, st.Status, st.Changed, st.Summary = clock.now(), report.StatusChanged, true, "job 17 COMPLETED (token hunter2)"
	st.Commands = []report.CommandRecord{{Command: "sbatch x", ExitCode: 0, Started: t0, Ended: t0}}
	es.event(engine.Event{Host: "a", Step: st, Kind: "step_finished"})
	run.Hosts = []*report.Host{
		{Name: "a", Steps: []*report.Step{st}},
		{Name: "b", Error: "ssh: handshake failed", Steps: []*report.Step{{Name: "wait", Kind: "test_job", Title: "Wait", Status: report.StatusNotRun, Summary: "host could not be reached", Checklist: []string{"job ran with hunter2"}}}},
	}
	run.Result, run.Ended = "failed", clock.now()
	es.runFinished(run, "/state/runs/RUN", exitFailed)

	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("a secret reached the stream:\n%s", out.String())
	}
	events := parseEvents(t, out.String(), doc)
	if got, want := types(events), "run_started host_error step_started:wait step_progress:wait step_finished:wait step_finished:wait checklist_item checklist_item run_finished"; got != want {
		t.Fatalf("event sequence:\n%s\nwant:\n%s", got, want)
	}
	if he := events[1]; he["host"] != "b" || he["error"] != "ssh: handshake failed" || he["hint"] != "check sshd on b" {
		t.Errorf("host_error = %v", he)
	}
	if p := events[3]; p["message"] != "job 17 PENDING (Priority), 2s" || fmt.Sprint(p["elapsed_ms"]) != "2500" || p["host"] != "a" {
		t.Errorf("step_progress = %v", p)
	}
	if f := events[4]; fmt.Sprint(f["duration_ms"]) != "3500" || f["summary"] != "job 17 COMPLETED (token (sensitive))" {
		t.Errorf("step_finished = %v", f)
	}
	if f := events[5]; f["host"] != "b" || f["ran"] != false || f["status"] != "not_run" {
		t.Errorf("step_finished of the unreachable host = %v", f)
	}
	end := events[8]
	if fmt.Sprint(end["duration_ms"]) != "3500" || fmt.Sprint(end["exit_code"]) != "1" || fmt.Sprint(end["ticked"]) != "1" || fmt.Sprint(end["total"]) != "2" {
		t.Errorf("run_finished = %v", end)
	}
	if ts := events[0]["time"]; ts != "2026-03-14T15:04:05Z" {
		t.Errorf("run_started time %v", ts)
	}
}

// jsonFields lists a struct's JSON field names (embedded structs
// flattened) and whether each is always written (no omitempty).
func jsonFields(t reflect.Type, out map[string]bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			jsonFields(f.Type, out)
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		out[name] = !strings.Contains(opts, "omitempty")
	}
}

// TestEventDocListsEveryField: the event structs and docs/events.md name
// the same fields, and a field is "required" in the docs exactly when the
// code always writes it; a field added in code without documentation
// fails here even if no run happens to emit it.
func TestEventDocListsEveryField(t *testing.T) {
	doc := readEventDoc(t)
	header := map[string]bool{}
	jsonFields(reflect.TypeOf(eventHeader{}), header)
	if !reflect.DeepEqual(header, doc["*"]) {
		t.Errorf("common fields: code %v, docs %v", header, doc["*"])
	}
	for typ, v := range map[string]any{
		evRunStarted: runStartedEvent{}, evHostError: hostErrorEvent{}, evStepStarted: stepStartedEvent{},
		evStepProgress: stepProgressEvent{}, evStepFinished: stepFinishedEvent{},
		evChecklistItem: checklistItemEvent{}, evRunFinished: runFinishedEvent{},
	} {
		code := map[string]bool{}
		jsonFields(reflect.TypeOf(v), code)
		for f := range header {
			delete(code, f)
		}
		if !reflect.DeepEqual(code, doc[typ]) {
			t.Errorf("%s: code writes %v (name: always written), docs/events.md says %v", typ, code, doc[typ])
		}
	}
}
