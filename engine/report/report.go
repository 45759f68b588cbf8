// Package report is the last stage: the record of a run (report.json) and
// the completion checklist people hand over (checklist.md). The record is
// the single source; every rendering is derived from it.
package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/runbook-hpc/runbook/steps"
)

// SchemaVersion of report.json; bump on incompatible changes.
const SchemaVersion = 1

// Run is everything one plan or apply did.
type Run struct {
	SchemaVersion int               `json:"schema_version"`
	ID            string            `json:"id"`
	Mode          string            `json:"mode"` // "plan" or "apply"
	Runbook       string            `json:"runbook"`
	Title         string            `json:"title,omitempty"`
	File          string            `json:"file"`
	Started       time.Time         `json:"started"`
	Ended         time.Time         `json:"ended"`
	Result        string            `json:"result"` // success, failed, interrupted, planned
	Variables     map[string]string `json:"variables,omitempty"`
	// RunbookVersion is the version of the runbook program that made the
	// record (engine.Options.Version).
	RunbookVersion string `json:"runbook_version,omitempty"`
	// RunbookSHA256 and VariableDigests bind an apply to what it was made
	// from, digested as a saved plan digests it: --resume carries this
	// run's evidence over only to an apply of the same runbook with the
	// same variable values.
	RunbookSHA256   string                    `json:"runbook_sha256,omitempty"`
	VariableDigests map[string]VariableDigest `json:"variable_digests,omitempty"`
	// ResumeOf is the run this apply resumed (--resume); a run resumed
	// once is not resumed again (its later resume is the one to resume).
	ResumeOf string `json:"resume_of,omitempty"`
	// Left are step instances the last apply of this runbook ran that the
	// runbook no longer has (a key removed from for_each, a step or module
	// removed): runbook deletes nothing, so what they made is left as it
	// is, and the plan says so.
	Left      []LeftStep      `json:"left,omitempty"`
	Hosts     []*Host         `json:"hosts"`
	Checklist []ChecklistItem `json:"checklist"`

	// Redactor, when set, is applied to every string of the run before
	// any rendering is written (report.json, checklist.md, report.html,
	// junit.xml, metrics): a second guard behind the redaction done where
	// evidence is recorded. It is never serialised.
	Redactor Redactor `json:"-"`
}

// VariableDigest is one variable's value as a digest (planfile.Variable
// without the value): a SHA-256, or for a sensitive value a salted
// Argon2id digest, so that a record passed around does not give a short
// secret away to brute force.
type VariableDigest struct {
	Sensitive bool   `json:"sensitive,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	Argon2id  string `json:"argon2id,omitempty"`
}

// Redactor replaces secret values in a string; *evidence.Redactor is one.
type Redactor interface {
	Redact(string) string
}

// Host is one target's part of the run.
type Host struct {
	Name      string  `json:"name"`
	Transport string  `json:"transport"`
	Error     string  `json:"error,omitempty"`
	Hint      string  `json:"hint,omitempty"`
	Steps     []*Step `json:"steps"`
	// Outputs are the runbook's output values on this host, in the order
	// the runbook declares them.
	Outputs []*OutputValue `json:"outputs,omitempty"`
}

// LeftStep is a step of an earlier apply the runbook no longer has.
type LeftStep struct {
	Host string `json:"host"`
	Step string `json:"step"`
	Kind string `json:"kind"`
	// Run is the apply that last ran it.
	Run    string `json:"run"`
	Reason string `json:"reason"`
}

// OutputValue is one `output` block's value on one host.
type OutputValue struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Value is the value as cty JSON with its Type; both absent when the
	// output is sensitive, unknown or failed.
	Type      json.RawMessage `json:"type,omitempty"`
	Value     json.RawMessage `json:"value,omitempty"`
	Sensitive bool            `json:"sensitive,omitempty"`
	// Unknown: the value depends on what only apply will know.
	Unknown bool   `json:"unknown,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Step statuses.
const (
	StatusOK          = "ok"          // read-only step ran, or a change was applied
	StatusChanged     = "changed"     // applied and changed the target
	StatusUnchanged   = "unchanged"   // already as desired
	StatusSkipped     = "skipped"     // when = false
	StatusFailed      = "failed"      // ran and failed
	StatusNotRun      = "not_run"     // an earlier failure stopped the run
	StatusInterrupted = "interrupted" // SIGINT/SIGTERM while it ran
	StatusPlanned     = "planned"     // plan only: would run
	StatusUnknown     = "unknown"     // plan only: depends on results of apply
)

// Step is one step on one host.
type Step struct {
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	Title     string          `json:"title"`
	Status    string          `json:"status"`
	Action    string          `json:"action,omitempty"`
	Summary   string          `json:"summary,omitempty"`
	Changes   []steps.Change  `json:"changes,omitempty"`
	Planned   []string        `json:"planned_commands,omitempty"`
	Changed   bool            `json:"changed"`
	Started   time.Time       `json:"started,omitempty"`
	Ended     time.Time       `json:"ended,omitempty"`
	Error     string          `json:"error,omitempty"`
	Hint      string          `json:"hint,omitempty"`
	Commands  []CommandRecord `json:"commands,omitempty"`
	Notes     []string        `json:"notes,omitempty"`
	Checklist []string        `json:"checklist,omitempty"`
	// NoteProves[i] is the checklist line (1-based) Notes[i] backs, 0 for
	// none; absent when the kind labels no note (see CommandRecord.Proves).
	NoteProves []int `json:"note_proves,omitempty"`
	// Outputs are the step's results (step.<name>.*) as cty JSON with
	// their type, so --resume can hand them to later steps.
	Outputs *Outputs `json:"outputs,omitempty"`
	// ResumedFrom names the run whose evidence this step reuses (the run
	// that gathered it, however many resumes ago).
	ResumedFrom string `json:"resumed_from,omitempty"`
	// NotifiedBy, for a handler, are the steps whose change notified it in
	// this run (or "run ID" for a notification carried over by --resume).
	NotifiedBy []string `json:"notified_by,omitempty"`
	// HandlerPending: the handler was notified but did not run (a later
	// step failed, or the run was interrupted); --resume or
	// --force-handlers runs it.
	HandlerPending bool `json:"handler_pending,omitempty"`
}

// Outputs is a cty value in JSON with its type.
type Outputs struct {
	Type  json.RawMessage `json:"type"`
	Value json.RawMessage `json:"value"`
}

// CommandRecord is evidence: one command as run, secrets redacted.
type CommandRecord struct {
	Command  string    `json:"command"`
	Become   bool      `json:"become,omitempty"`
	ExitCode int       `json:"exit_code"`
	Stdout   string    `json:"stdout,omitempty"`
	Stderr   string    `json:"stderr,omitempty"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`
	Error    string    `json:"error,omitempty"`
	// Proves is the checklist line of the step (1-based) this command
	// backs, as its kind labelled it; 0 when unlabelled.
	Proves int `json:"proves,omitempty"`
}

// ChecklistItem is one line of the completion checklist.
type ChecklistItem struct {
	Text   string `json:"text"`
	Host   string `json:"host"`
	Step   string `json:"step"`
	Ticked bool   `json:"ticked"`
	// Evidence says what proved the line (the commands and their exit
	// codes), or Reason why it is not ticked.
	Evidence []string `json:"evidence,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	// CarriedFrom names the earlier run whose evidence ticked the line
	// (--resume): it was not gathered in this run.
	CarriedFrom string `json:"carried_from,omitempty"`
}

// HasEvidence reports whether the step gathered anything in this run that
// can back a checklist line.
func (s *Step) HasEvidence() bool { return len(s.Commands) > 0 || len(s.Notes) > 0 }

// Succeeded reports whether the step reached its goal in this run.
func (s *Step) Succeeded() bool {
	return s.Status == StatusOK || s.Status == StatusChanged || s.Status == StatusUnchanged
}

// BuildChecklist ticks a line only when its step succeeded in this run and
// left evidence; a line is never ticked on a guess.
func (r *Run) BuildChecklist() {
	r.Checklist = nil
	for _, h := range r.Hosts {
		for _, s := range h.Steps {
			for i, line := range s.Checklist {
				item := ChecklistItem{Text: line, Host: h.Name, Step: s.Name}
				switch {
				case r.Mode != "apply":
					item.Reason = "plan only: nothing was applied"
				case !s.Succeeded():
					item.Reason = reasonFor(s)
				case !s.HasEvidence():
					item.Reason = "no evidence was gathered"
				default:
					item.Ticked = true
					item.Evidence = s.evidenceFor(i+1, len(s.Checklist))
					if s.ResumedFrom != "" {
						// Said on the line itself: a kind's labels may leave
						// the step's "evidence from run" note off it.
						item.CarriedFrom = s.ResumedFrom
						item.Evidence = append([]string{CarriedLabel(s.ResumedFrom)}, item.Evidence...)
					}
				}
				r.Checklist = append(r.Checklist, item)
			}
		}
	}
}

// CarriedLabel heads the evidence of a line ticked on an earlier run's
// evidence.
func CarriedLabel(runID string) string {
	return "carried over by --resume from run " + runID + ": gathered in that run, not in this one"
}

// TickedSummary says how many checklist items are ticked and on whose
// evidence: "6 of 11 items ticked on evidence from this run", or, after
// --resume, how many of them rest on evidence carried over.
func (r *Run) TickedSummary() string {
	ticked, total := r.Tally()
	carried, from := r.Carried()
	if carried == 0 {
		return fmt.Sprintf("%d of %d items ticked on evidence from this run", ticked, total)
	}
	return fmt.Sprintf("%d of %d items ticked: %d on evidence from this run, %d on evidence carried over by --resume from run %s",
		ticked, total, ticked-carried, carried, strings.Join(from, ", "))
}

// Carried counts the ticked items that rest on evidence carried over by
// --resume, and names the runs it was gathered in.
func (r *Run) Carried() (n int, from []string) {
	for _, it := range r.Checklist {
		if it.Ticked && it.CarriedFrom != "" {
			n++
			if !slices.Contains(from, it.CarriedFrom) {
				from = append(from, it.CarriedFrom)
			}
		}
	}
	return n, from
}

// evidenceFor is what backs checklist line n of lines. A kind may label
// its commands (CommandRecord.Proves) and its notes (NoteProves) with the
// line they prove; of a labelled sort, a line shows only what is labelled
// for it, the last line also taking labels past the author's lines (a
// test_job given one line instead of three), and unlabelled evidence (a
// whoami) backs no line. A sort the kind does not label is shown under
// every line. A step with one line, or a line left with nothing labelled
// for it, gets all the step's evidence: a ticked line always shows some.
func (s *Step) evidenceFor(n, lines int) []string {
	all := func() []string { return append(commandEvidence(s.Commands), s.Notes...) }
	cmdsLabelled, notesLabelled := s.labelled()
	if lines <= 1 || !cmdsLabelled && !notesLabelled {
		return all()
	}
	mine := func(p int) bool { return p == n || (n == lines && p > lines) }
	own := 0
	cmds := s.Commands
	if cmdsLabelled {
		cmds = nil
		for _, c := range s.Commands {
			if mine(c.Proves) {
				cmds = append(cmds, c)
			}
		}
		own += len(cmds)
	}
	notes := s.Notes
	if notesLabelled {
		notes = nil
		for i, note := range s.Notes {
			if mine(s.NoteProves[i]) {
				notes = append(notes, note)
			}
		}
		own += len(notes)
	}
	if own == 0 {
		return all()
	}
	return append(commandEvidence(cmds), notes...)
}

// labelled reports which sorts of evidence the kind labelled. Note labels
// that no longer line up with the notes (notes added or dropped without
// theirs) are not trusted: the notes then count as unlabelled, shown
// under every line, the safe way to be wrong.
func (s *Step) labelled() (cmds, notes bool) {
	for _, c := range s.Commands {
		cmds = cmds || c.Proves > 0
	}
	if len(s.NoteProves) == len(s.Notes) {
		for _, p := range s.NoteProves {
			notes = notes || p > 0
		}
	}
	return cmds, notes
}

// commandEvidence is one line per command; a polled command (scontrol
// show job, sacct) is one line of evidence: its last result and how often
// it ran.
func commandEvidence(cmds []CommandRecord) []string {
	var out []string
	for i := 0; i < len(cmds); {
		j := i
		for j+1 < len(cmds) && cmds[j+1].Command == cmds[i].Command {
			j++
		}
		line := evidenceLine(cmds[j])
		if n := j - i + 1; n > 1 {
			line += fmt.Sprintf(" (polled %d×, last result shown)", n)
		}
		out = append(out, line)
		i = j + 1
	}
	return out
}

func reasonFor(s *Step) string {
	switch s.Status {
	case StatusSkipped:
		return "skipped: " + s.Summary
	case StatusNotRun:
		if strings.HasPrefix(s.Summary, "not run") {
			return s.Summary
		}
		return "not run: " + s.Summary
	case StatusInterrupted:
		return "interrupted"
	case StatusFailed:
		return "failed: " + s.Error
	}
	return s.Status
}

func evidenceLine(c CommandRecord) string {
	line := c.Started.UTC().Format(time.RFC3339) + " `" + c.Command + "` → exit " + itoa(c.ExitCode)
	if c.Error != "" {
		line += " (" + c.Error + ")"
	}
	if out := firstLines(c.Stdout, 2); out != "" {
		line += ": " + out
	}
	return line
}
