// Package evidence is the engine's side of steps.Exec: every command a
// step runs passes through a Recorder, which applies the step's timeout,
// redacts secrets and keeps the command, exit code and output as the
// evidence that checklist lines are ticked on.
package evidence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
)

// ExcerptLimit bounds the stdout/stderr kept per command in a report.
const ExcerptLimit = 8 << 10

// Redactor replaces secret values wherever they appear.
type Redactor struct {
	secrets []string
}

// NewRedactor ignores empty and very short secrets: redacting "1" would
// shred every report.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		r.Add(s)
	}
	return r
}

// Add registers one more secret.
func (r *Redactor) Add(s string) {
	if len(s) >= 3 {
		r.secrets = append(r.secrets, s)
	}
}

// Redact returns s with every secret replaced.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "(sensitive)")
	}
	return s
}

// Recorder runs one step's commands on one host.
type Recorder struct {
	Transport transport.Transport
	Redactor  *Redactor
	BecomeOn  bool
	// Planning marks a dry run (runbook plan).
	Planning bool
	// Deadline, when set, bounds every command (the step's timeout).
	Deadline   time.Time
	OnProgress func(msg string)
	// PendingWrites, in a plan, reports whether an earlier step will
	// create or change a resource (steps.Exec.Ahead).
	PendingWrites func(resource string) bool
	// Dir is the runbook's directory (steps.Exec.SourceDir).
	Dir string

	mu       sync.Mutex
	commands []report.CommandRecord
	notes    []string
	// noteProves[i] is the checklist line notes[i] backs (0: none); nil
	// while no note is labelled, so an unlabelled step records nothing new.
	noteProves []int
}

// Run runs a command and records it.
func (r *Recorder) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	if !r.Deadline.IsZero() {
		left := time.Until(r.Deadline)
		if left <= 0 {
			return transport.Result{}, fmt.Errorf("step timeout reached before %q: %w", r.display(cmd), transport.ErrTimeout)
		}
		if cmd.Timeout <= 0 || cmd.Timeout > left {
			cmd.Timeout = left
		}
	}
	started := time.Now()
	res, err := r.Transport.Run(ctx, cmd)
	if res.Started.IsZero() {
		res.Started = started
	}
	if res.Ended.IsZero() {
		res.Ended = time.Now()
	}
	rec := report.CommandRecord{
		Command:  r.display(cmd),
		Become:   cmd.Become,
		ExitCode: res.ExitCode,
		Stdout:   r.Redactor.Redact(excerpt(res.Stdout)),
		Stderr:   r.Redactor.Redact(excerpt(res.Stderr)),
		Started:  res.Started,
		Ended:    res.Ended,
		Proves:   max(cmd.Proves, 0),
	}
	if err != nil {
		rec.Error = r.Redactor.Redact(err.Error())
		if rec.ExitCode == 0 {
			rec.ExitCode = -1
		}
		if errors.Is(err, context.Canceled) {
			rec.Error = "interrupted"
		}
	}
	r.mu.Lock()
	r.commands = append(r.commands, rec)
	r.mu.Unlock()
	return res, err
}

// display is the command as an admin would type it, secrets redacted.
func (r *Recorder) display(cmd transport.Command) string {
	return r.Redactor.Redact(transport.Display(cmd))
}

// Files returns the transport's file side, if it has one.
func (r *Recorder) Files() transport.FileTransport {
	if ft, ok := r.Transport.(transport.FileTransport); ok {
		return ft
	}
	return nil
}

// DryRun reports whether this is a plan.
func (r *Recorder) DryRun() bool { return r.Planning }

// SourceDir is the runbook's directory.
func (r *Recorder) SourceDir() string { return r.Dir }

// Ahead reports whether an earlier step of this plan changes resource.
func (r *Recorder) Ahead(resource string) bool {
	return r.Planning && r.PendingWrites != nil && r.PendingWrites(resource)
}

// Become reports whether the step asked for sudo.
func (r *Recorder) Become() bool { return r.BecomeOn }

// Note records evidence that is not a command.
func (r *Recorder) Note(format string, args ...any) { r.NoteFor(0, format, args...) }

// NoteFor records a note that backs checklist line `line` (1-based; 0 or
// less: no line in particular).
func (r *Recorder) NoteFor(line int, format string, args ...any) {
	note := r.Redactor.Redact(fmt.Sprintf(format, args...))
	r.mu.Lock()
	defer r.mu.Unlock()
	if line > 0 && r.noteProves == nil {
		r.noteProves = make([]int, len(r.notes), len(r.notes)+1)
	}
	r.notes = append(r.notes, note)
	if r.noteProves != nil {
		r.noteProves = append(r.noteProves, max(line, 0))
	}
}

// Progress passes a waiting message to whoever watches the run.
func (r *Recorder) Progress(format string, args ...any) {
	if r.OnProgress != nil {
		r.OnProgress(r.Redactor.Redact(fmt.Sprintf(format, args...)))
	}
}

// Commands returns what was recorded so far.
func (r *Recorder) Commands() []report.CommandRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]report.CommandRecord(nil), r.commands...)
}

// Notes returns the notes recorded so far.
func (r *Recorder) Notes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.notes...)
}

// NoteProves returns, for each note of Notes, the checklist line it backs
// (0: none); nil when no note was labelled. It goes to report.Step's
// NoteProves, beside Notes.
func (r *Recorder) NoteProves() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.noteProves...)
}

func excerpt(b []byte) string {
	if len(b) <= ExcerptLimit {
		return strings.ToValidUTF8(string(b), "�")
	}
	return strings.ToValidUTF8(string(b[:ExcerptLimit/2]), "�") +
		fmt.Sprintf("\n… [%d bytes cut] …\n", len(b)-ExcerptLimit) +
		strings.ToValidUTF8(string(b[len(b)-ExcerptLimit/2:]), "�")
}
