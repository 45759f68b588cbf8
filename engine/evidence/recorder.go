// Package evidence is the engine's side of steps.Exec: every command a
// step runs passes through a Recorder, which applies the step's timeout,
// redacts secrets and keeps the command, exit code and output as the
// evidence that checklist lines are ticked on.
package evidence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
)

// ExcerptLimit bounds the stdout/stderr kept per command in a report.
const ExcerptLimit = 8 << 10

// Redactor replaces secret values wherever they appear, in any of the
// forms report.SecretForms lists (shell-quoted, JSON-escaped, ...). Add
// every secret before the redactor is used: it is not safe for concurrent
// Add and Redact.
type Redactor struct {
	forms []string // of every secret
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
	if len(s) < minSecret {
		return
	}
	for _, f := range report.SecretForms(s) {
		if len(f) >= minSecret && !slices.Contains(r.forms, f) {
			r.forms = append(r.forms, f)
		}
	}
}

// minSecret is the shortest secret redacted.
const minSecret = 3

// Redacted is what a secret is replaced with.
const Redacted = "(sensitive)"

// Redact returns s with every secret replaced by Redacted.
func (r *Redactor) Redact(s string) string {
	return r.replace(s, func(string) string { return Redacted })
}

// Mask returns s with every byte of every secret but newlines replaced by
// '*': for text whose byte offsets and lines must not move (the source
// snippet of a diagnostic, whose ranges point into it).
func (r *Redactor) Mask(s string) string {
	return r.replace(s, func(secret string) string {
		masked := []byte(secret)
		for i, c := range masked {
			if c != '\n' {
				masked[i] = '*'
			}
		}
		return string(masked)
	})
}

// replace replaces every stretch of s that some secret covers with
// with(stretch). Overlapping secrets make one stretch, so that replacing
// one cannot leave the end of the other behind.
func (r *Redactor) replace(s string, with func(string) string) string {
	if r == nil {
		return s
	}
	var spans [][2]int
	for _, f := range r.forms {
		for at := 0; ; {
			i := strings.Index(s[at:], f)
			if i < 0 {
				break
			}
			spans = append(spans, [2]int{at + i, at + i + len(f)})
			at += i + 1
		}
	}
	if spans == nil {
		return s
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	var b strings.Builder
	done := 0 // s[:done] is written
	for i := 0; i < len(spans); {
		start, end := spans[i][0], spans[i][1]
		for i++; i < len(spans) && spans[i][0] < end; i++ {
			end = max(end, spans[i][1])
		}
		b.WriteString(s[done:start])
		b.WriteString(with(s[start:end]))
		done = end
	}
	b.WriteString(s[done:])
	return b.String()
}

// Recorder runs one step's commands on one host.
type Recorder struct {
	Transport transport.Transport
	Redactor  *Redactor
	BecomeOn  bool
	// BecomeUser is who a command with Become runs as when it names no
	// user itself (a step's become_user); root when empty.
	BecomeUser string
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
	if cmd.Become && cmd.BecomeUser == "" {
		cmd.BecomeUser = r.BecomeUser
	}
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
		Stdout:   r.excerpt(res.Stdout),
		Stderr:   r.excerpt(res.Stderr),
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

// display is the command as an admin would type it, secrets redacted in
// each argument before the arguments are quoted into one line: quoting
// rewrites every single quote of a secret, after which the secret as it
// was given no longer matches.
func (r *Recorder) display(cmd transport.Command) string {
	shown := cmd
	shown.Argv = make([]string, len(cmd.Argv))
	for i, a := range cmd.Argv {
		shown.Argv[i] = r.Redactor.Redact(a)
	}
	shown.Line = r.Redactor.Redact(cmd.Line)
	shown.BecomeUser = r.Redactor.Redact(cmd.BecomeUser)
	return r.Redactor.Redact(transport.Display(shown))
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

// excerpt is a command's output as the record keeps it: redacted, then
// cut to its first and last ExcerptLimit/2 bytes. Redacted first, so a
// secret across a cut is still whole when it is looked for, and before
// invalid UTF-8 is replaced, so a secret holding some still matches.
func (r *Recorder) excerpt(b []byte) string {
	s := r.Redactor.Redact(string(b))
	if len(s) <= ExcerptLimit {
		return strings.ToValidUTF8(s, "�")
	}
	return strings.ToValidUTF8(s[:ExcerptLimit/2], "�") +
		fmt.Sprintf("\n… [%d bytes cut] …\n", len(s)-ExcerptLimit) +
		strings.ToValidUTF8(s[len(s)-ExcerptLimit/2:], "�")
}
