// Package steps holds runbook's step kinds, one file per kind, behind the
// small Kind/Step interfaces below. The engine knows no kind by name: it
// looks kinds up in a Registry, decodes each step's own attributes with the
// kind's Spec, and drives the resulting Step through Plan and Apply.
//
// General kinds (any Linux host) have plain file names: check, command,
// assert, file, copy, template, line, package, service, user, group.
// Slurm kinds are the slurm_*.go files (create, modify, verify, grant,
// preflight, test_job, prove_limit, sacct_check); the Slurm knowledge they
// share (parsers, normalisation, hints) is package steps/slurm. Adding a
// kind is adding a file here.
package steps

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

// Kind is one kind of step ("check", "command", "create", ...).
type Kind interface {
	// Spec describes the attributes this kind accepts besides the common
	// ones every step has (title, checklist, when, become, ...). The engine
	// evaluates them; the kind never sees an HCL expression.
	Spec() hcldec.ObjectSpec
	// Decode turns the evaluated, wholly known attributes into a Step. It
	// validates values; an AttrError points the diagnostic at an attribute.
	Decode(cfg cty.Value) (Step, error)
	// ReadOnly kinds never change the target, so they run in a plan too.
	ReadOnly() bool
}

// Validator is implemented by kinds that can check their configuration
// before anything runs, when some values may still be unknown.
type Validator interface {
	Validate(cfg cty.Value) error
}

// Step is one decoded step ready to run on one host.
type Step interface {
	// Plan decides what Apply would do. It may run read-only probes through
	// ex (they run in a dry run too) and must not change the target.
	Plan(ctx context.Context, ex Exec) (Proposal, error)
	// Apply carries out a proposal whose Action changes or runs something.
	// It is not called for NoOp or Read proposals.
	Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error)
}

// Canceler is implemented by steps that leave something behind when they
// are interrupted (a submitted Slurm job); the engine calls Cancel with a
// fresh context when a run fails or is interrupted after Apply began.
type Canceler interface {
	Cancel(ctx context.Context, ex Exec) error
}

// Exec is what a step may do on its host. Every command goes through it so
// the engine can record evidence, redact secrets and enforce timeouts:
// a step cannot produce evidence it did not gather.
type Exec interface {
	Run(ctx context.Context, cmd transport.Command) (transport.Result, error)
	// Files is nil when the transport cannot transfer files.
	Files() transport.FileTransport
	// Become reports whether the step asked to run privileged commands
	// through sudo; kinds apply it to the commands that need privilege.
	Become() bool
	// Note records a line of evidence that is not a command (an assertion
	// that held, a value read back).
	Note(format string, args ...any)
	// NoteFor is Note for a kind whose step has several checklist lines:
	// the note backs line `line` (1-based). Commands are labelled the same
	// way with transport.Command.Proves; the checklist then shows under
	// each line only what proves it.
	NoteFor(line int, format string, args ...any)
	// Progress tells a watching user what a long wait is waiting for.
	Progress(format string, args ...any)
	// DryRun is true during a plan: read-only probes run, nothing changes.
	DryRun() bool
	// Ahead reports, during a plan, whether an earlier step of this plan
	// will create or change resource (a Resourcer name such as
	// "qos/moonlight"). A kind that plans ahead diffs against the object as
	// that step will leave it, and only then; otherwise the object is
	// simply missing. Always false in apply.
	Ahead(resource string) bool
	// SourceDir is the runbook's directory on the controller: a kind that
	// reads a local file (copy's and template's source) resolves a
	// relative path against it, as file() and templatefile() do.
	SourceDir() string
}

// Resourcer is implemented by steps that name the objects they read and
// the ones they change, as "type/name" ("qos/moonlight",
// "assoc/hpc-users"). A plan uses it to know that a step reads what an
// earlier step will change even when nothing refers from one to the
// other: such a step is "known after apply" (unless its kind PlansAhead),
// where otherwise it would judge today's state.
type Resourcer interface {
	Resources() (reads, writes []string)
}

// PlansAhead is implemented by kinds whose Plan stays meaningful when an
// earlier step will change the state it reads: modify plans against a QoS
// that an earlier create step will make (its fields as a new QoS has
// them), so a plan shows field-level changes on a fresh cluster instead
// of "known after apply".
type PlansAhead interface {
	PlansAhead() bool
}

// Action is what a step will do when applied.
type Action int

const (
	// NoOp: the target already is as desired; nothing will run.
	NoOp Action = iota
	// Read: a read-only step; its Plan already did all the work.
	Read
	// Create: something absent will be created.
	Create
	// Modify: something present will be changed.
	Modify
	// Run: a command or job will run; its effect cannot be predicted.
	Run
)

func (a Action) String() string {
	switch a {
	case NoOp:
		return "no-op"
	case Read:
		return "read"
	case Create:
		return "create"
	case Modify:
		return "modify"
	case Run:
		return "run"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// MarshalText writes the action as String does ("create").
func (a Action) MarshalText() ([]byte, error) {
	if a < NoOp || a > Run {
		return nil, fmt.Errorf("unknown action %d", int(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText reads what MarshalText wrote.
func (a *Action) UnmarshalText(b []byte) error {
	for x := NoOp; x <= Run; x++ {
		if x.String() == string(b) {
			*a = x
			return nil
		}
	}
	return fmt.Errorf("unknown action %q", b)
}

// ParseAction reads an action as recorded in reports and plan files; ok is
// false for an empty or unknown one (a step that never proposed anything).
func ParseAction(s string) (a Action, ok bool) {
	return a, a.UnmarshalText([]byte(s)) == nil
}

// Symbol is the one-character mark plans use for an action.
func (a Action) Symbol() string {
	switch a {
	case NoOp:
		return "="
	case Read:
		return "<"
	case Create:
		return "+"
	case Modify:
		return "~"
	case Run:
		return ">"
	}
	return "?"
}

// Change is one field that differs between the live state and the desired one.
type Change struct {
	Field   string `json:"field"`
	Current string `json:"current"`
	Desired string `json:"desired"`
}

// Proposal is a step's plan: what it found and what it would do.
type Proposal struct {
	Action Action
	// Summary reads like "create qos moonlight" or "already satisfied (creates: /x exists)".
	Summary string
	Changes []Change
	// Commands are the commands Apply would run, for display.
	Commands []string
	// Outputs are the step's results when they are already known (Read and
	// NoOp proposals); other steps can reference them during the plan.
	Outputs map[string]cty.Value
	// Private carries what Plan learned to Apply (probe results).
	Private any
}

// Outcome is the result of Apply.
type Outcome struct {
	Changed bool
	Summary string
	Outputs map[string]cty.Value
}

// AttrError attributes a decode error to one attribute so the diagnostic
// can point at its line.
type AttrError struct {
	Attr string
	Err  error
}

func (e *AttrError) Error() string { return e.Attr + ": " + e.Err.Error() }
func (e *AttrError) Unwrap() error { return e.Err }

// Failure is a step failure that carries a hint for the admin (the fix from
// the guide's troubleshooting section or a known Slurm trap).
type Failure struct {
	Msg  string
	Hint string
	Err  error
}

func (f *Failure) Error() string { return f.Msg }
func (f *Failure) Unwrap() error { return f.Err }

// DefaultTitle is the title of a step that sets none: "KIND NAME". Plans,
// reports and JUnit use it to tell an author's title from the default.
func DefaultTitle(kind, name string) string { return kind + " " + name }

// Registry maps kind names to kinds.
type Registry map[string]Kind

// Names lists the registered kinds, sorted, for diagnostics.
func (r Registry) Names() []string {
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var builtin = Registry{}

// register adds a kind to the built-in registry; each kind file calls it
// from init so adding a kind is adding a file.
func register(name string, k Kind) {
	if _, dup := builtin[name]; dup {
		panic("steps: kind registered twice: " + name)
	}
	builtin[name] = k
}

// Builtin returns the kinds compiled into runbook.
func Builtin() Registry { return builtin }

// Sleep waits d or until ctx ends (then it returns ctx's error): polling
// kinds and the engine's retry delay use it so an interrupt never waits
// out an interval.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
