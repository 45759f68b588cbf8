package main

import (
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/report"
)

// `runbook apply --json` writes one JSON object per line to stdout, for CI
// and dashboards. The format is docs/events.md; eventSchema names its
// version and changes only when a field is removed, renamed or changes
// meaning (new fields and new event types keep the version).
const eventSchema = "runbook.events/v1"

// eventSchemaVersion is eventSchema's version as every artefact of
// runbook carries it (schema_version), and the version of
// docs/schemas/events.schema.json.
const eventSchemaVersion = 1

// Event types.
const (
	evRunStarted    = "run_started"
	evHostError     = "host_error"
	evStepStarted   = "step_started"
	evStepProgress  = "step_progress"
	evStepFinished  = "step_finished"
	evChecklistItem = "checklist_item"
	evRunFinished   = "run_finished"
)

// eventHeader is in every event.
type eventHeader struct {
	Schema        string `json:"schema"`
	SchemaVersion int    `json:"schema_version"`
	Type          string `json:"type"`
	Time          string `json:"time"`
	Seq           int    `json:"seq"`
	RunID         string `json:"run_id"`
}

type eventHost struct {
	Name      string `json:"name"`
	Transport string `json:"transport"`
}

type runStartedEvent struct {
	eventHeader
	Runbook   string            `json:"runbook"`
	Title     string            `json:"title,omitempty"`
	File      string            `json:"file"`
	Mode      string            `json:"mode"`
	Version   string            `json:"runbook_version"`
	Hosts     []eventHost       `json:"hosts"`
	Steps     []string          `json:"steps"`
	Variables map[string]string `json:"variables,omitempty"`
	RecordDir string            `json:"record_dir"`
}

type hostErrorEvent struct {
	eventHeader
	Host  string `json:"host"`
	Error string `json:"error"`
	Hint  string `json:"hint,omitempty"`
}

type stepStartedEvent struct {
	eventHeader
	Host  string `json:"host"`
	Step  string `json:"step"`
	Kind  string `json:"kind"`
	Title string `json:"title"`
}

type stepProgressEvent struct {
	eventHeader
	Host      string `json:"host"`
	Step      string `json:"step"`
	Message   string `json:"message"`
	ElapsedMS int64  `json:"elapsed_ms"`
}

type failedCommand struct {
	Command    string `json:"command"`
	ExitCode   int    `json:"exit_code"`
	StderrTail string `json:"stderr_tail,omitempty"`
	Error      string `json:"error,omitempty"`
}

type eventChange struct {
	Field   string `json:"field"`
	Current string `json:"current"`
	Desired string `json:"desired"`
}

type stepFinishedEvent struct {
	eventHeader
	Host          string         `json:"host"`
	Step          string         `json:"step"`
	Kind          string         `json:"kind"`
	Title         string         `json:"title"`
	Status        string         `json:"status"`
	Action        string         `json:"action,omitempty"`
	Changed       bool           `json:"changed"`
	Ran           bool           `json:"ran"`
	DurationMS    int64          `json:"duration_ms"`
	Summary       string         `json:"summary,omitempty"`
	Changes       []eventChange  `json:"changes,omitempty"`
	Error         string         `json:"error,omitempty"`
	Hint          string         `json:"hint,omitempty"`
	FailedCommand *failedCommand `json:"failed_command,omitempty"`
}

type checklistItemEvent struct {
	eventHeader
	Index    int      `json:"index"`
	Text     string   `json:"text"`
	Host     string   `json:"host"`
	Step     string   `json:"step"`
	Ticked   bool     `json:"ticked"`
	Evidence []string `json:"evidence,omitempty"`
	Reason   string   `json:"reason,omitempty"`
}

type runFinishedEvent struct {
	eventHeader
	Result     string         `json:"result"`
	ExitCode   int            `json:"exit_code"`
	Ticked     int            `json:"ticked"`
	Total      int            `json:"total"`
	Steps      map[string]int `json:"steps"`
	DurationMS int64          `json:"duration_ms"`
	RecordDir  string         `json:"record_dir"`
	// Outputs are the runbook's output values per host (absent when the
	// runbook has none).
	Outputs map[string][]*report.OutputValue `json:"outputs,omitempty"`
}

// eventStream writes the events of one run; safe for concurrent use.
type eventStream struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time
	redact  func(string) string
	runID   string
	seq     int
	started time.Time
	// finished records which host/step pairs had a step_finished, so the
	// steps that never started get theirs when the run ends.
	finished map[string]bool
	// hostHint, when set, returns the advice recorded for a host that
	// could not be reached (the engine's event carries only the error).
	hostHint func(host string) string
}

func newEventStream(w io.Writer, runID string, now func() time.Time, redact func(string) string) *eventStream {
	if now == nil {
		now = time.Now
	}
	if redact == nil {
		redact = func(s string) string { return s }
	}
	return &eventStream{w: w, runID: runID, now: now, redact: redact, finished: map[string]bool{}}
}

func (e *eventStream) header(typ string) eventHeader {
	e.seq++
	return eventHeader{Schema: eventSchema, SchemaVersion: eventSchemaVersion, Type: typ, Time: e.now().UTC().Format(time.RFC3339Nano), Seq: e.seq, RunID: e.runID}
}

// write encodes one event as one line. A failed write (stdout closed) is
// not worth stopping a run for: the record on disk is the source.
func (e *eventStream) write(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	_, _ = e.w.Write(append(b, '\n'))
}

// runStarted announces the run before anything runs.
func (e *eventStream) runStarted(r *report.Run, dir string, hosts []eventHost, steps []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.started = e.now()
	if hosts == nil {
		hosts = []eventHost{}
	}
	if steps == nil {
		steps = []string{}
	}
	e.write(runStartedEvent{
		eventHeader: e.header(evRunStarted),
		Runbook:     r.Runbook, Title: r.Title, File: r.File, Mode: r.Mode, Version: version,
		Hosts: hosts, Steps: steps, Variables: r.Variables, RecordDir: dir,
	})
}

// event turns an engine event into a stream event.
func (e *eventStream) event(ev engine.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev.Kind {
	case "host_error":
		hint := ""
		if e.hostHint != nil {
			hint = e.redact(e.hostHint(ev.Host))
		}
		e.write(hostErrorEvent{eventHeader: e.header(evHostError), Host: ev.Host, Error: e.redact(ev.Message), Hint: hint})
	case "step_started":
		if ev.Step == nil {
			return
		}
		e.write(stepStartedEvent{eventHeader: e.header(evStepStarted), Host: ev.Host, Step: ev.Step.Name, Kind: ev.Step.Kind, Title: e.redact(ev.Step.Title)})
	case "progress":
		if ev.Step == nil {
			return
		}
		elapsed := int64(0)
		if !ev.Step.Started.IsZero() {
			elapsed = e.now().Sub(ev.Step.Started).Milliseconds()
		}
		e.write(stepProgressEvent{eventHeader: e.header(evStepProgress), Host: ev.Host, Step: ev.Step.Name, Message: e.redact(ev.Message), ElapsedMS: max(elapsed, 0)})
	case "step_finished":
		if ev.Step == nil {
			return
		}
		e.finished[ev.Host+"\x00"+ev.Step.Name] = true
		e.write(e.stepFinished(ev.Host, ev.Step, true))
	}
}

func (e *eventStream) stepFinished(host string, st *report.Step, ran bool) stepFinishedEvent {
	ev := stepFinishedEvent{
		eventHeader: e.header(evStepFinished),
		Host:        host, Step: st.Name, Kind: st.Kind, Title: e.redact(st.Title), Status: st.Status, Action: st.Action,
		Changed: st.Changed, Ran: ran, Summary: e.redact(st.Summary), Error: e.redact(st.Error), Hint: e.redact(st.Hint),
	}
	if ran && !st.Started.IsZero() {
		end := st.Ended
		if end.IsZero() {
			end = e.now()
		}
		ev.DurationMS = max(end.Sub(st.Started).Milliseconds(), 0)
	}
	for _, c := range st.Changes {
		ev.Changes = append(ev.Changes, eventChange{Field: c.Field, Current: e.redact(c.Current), Desired: e.redact(c.Desired)})
	}
	if st.Status == report.StatusFailed || st.Status == report.StatusInterrupted {
		if c := failingCommand(st); c != nil {
			ev.FailedCommand = &failedCommand{
				Command: e.redact(c.Command), ExitCode: c.ExitCode, Error: e.redact(c.Error),
				StderrTail: e.redact(strings.TrimSpace(lastLines(c.Stderr, 5))),
			}
		}
	}
	return ev
}

// runFinished ends the stream once the record is written: a step_finished
// (ran: false) for every step that never started, the checklist item by
// item, then the result.
func (e *eventStream) runFinished(r *report.Run, dir string, exitCode int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	counts := map[string]int{}
	for _, h := range r.Hosts {
		for _, st := range h.Steps {
			counts[st.Status]++
			if !e.finished[h.Name+"\x00"+st.Name] {
				e.finished[h.Name+"\x00"+st.Name] = true
				e.write(e.stepFinished(h.Name, st, false))
			}
		}
	}
	r.BuildChecklist()
	ticked := 0
	for i, it := range r.Checklist {
		if it.Ticked {
			ticked++
		}
		ev := checklistItemEvent{
			eventHeader: e.header(evChecklistItem),
			Index:       i + 1, Text: e.redact(it.Text), Host: it.Host, Step: it.Step, Ticked: it.Ticked, Reason: e.redact(it.Reason),
		}
		for _, line := range it.Evidence {
			ev.Evidence = append(ev.Evidence, e.redact(line))
		}
		e.write(ev)
	}
	end := r.Ended
	if end.IsZero() {
		end = e.now()
	}
	start := r.Started
	if start.IsZero() {
		start = e.started
	}
	var outputs map[string][]*report.OutputValue
	for _, h := range r.Redacted().Hosts {
		if len(h.Outputs) > 0 {
			if outputs == nil {
				outputs = map[string][]*report.OutputValue{}
			}
			outputs[h.Name] = h.Outputs
		}
	}
	e.write(runFinishedEvent{
		eventHeader: e.header(evRunFinished),
		Result:      r.Result, ExitCode: exitCode, Ticked: ticked, Total: len(r.Checklist), Steps: counts,
		DurationMS: max(end.Sub(start).Milliseconds(), 0), RecordDir: dir, Outputs: outputs,
	})
}

// failingCommand is the command that made a step fail: the last one that
// exited non-zero or could not run, else the last one.
func failingCommand(st *report.Step) *report.CommandRecord {
	for i := len(st.Commands) - 1; i >= 0; i-- {
		if c := &st.Commands[i]; c.ExitCode != 0 || c.Error != "" {
			return c
		}
	}
	if n := len(st.Commands); n > 0 {
		return &st.Commands[n-1]
	}
	return nil
}
