// Package engine runs a parsed runbook: plan (read-only probes, proposals)
// and apply (the same walk, carrying proposals out). Both walk each host's
// steps in graph order and produce a report.Run.
//
// The flow: config.Parse → config.Order (graph) → Engine.Plan → Engine.Apply
// → report.Write. The engine has an API of its own: options in, a run
// record out. Everything about run semantics (saved plans, resume, locks,
// retries) lives here; a user interface builds options and renders.
//
// Files by concern:
//   - engine.go:  the API (New, Options, Plan, Apply) and the run record
//   - walk.go:    hosts in parallel, each host's steps in graph order
//   - step.go:    one step's lifecycle: eval → plan → try loop → cleanup
//   - saved.go:   applying a saved plan exactly as it was shown
//   - resume.go:  carrying over evidence of an earlier, failed run
//   - outputs.go: step results as other steps and reports see them
package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/planfile"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

// Target is one host a runbook runs on.
type Target struct {
	Host eval.Host
	// Describe says how the host is reached, for reports.
	Describe string
	// Connect opens the transport; called once per run, inside the run so
	// an unreachable host is recorded, not fatal to other hosts.
	Connect func(ctx context.Context) (transport.Transport, error)
}

// EventKind says what an Event reports.
type EventKind string

const (
	// EventHostError: the host could not be reached or locked; its steps do not run.
	EventHostError EventKind = "host_error"
	// EventStepStarted: a step begins (after its attributes were evaluated).
	EventStepStarted EventKind = "step_started"
	// EventProgress: a long wait says what it waits for, or a retry begins.
	EventProgress EventKind = "progress"
	// EventStepFinished: the step's record is final.
	EventStepFinished EventKind = "step_finished"
)

// Event is what a watching user interface is told.
type Event struct {
	Host    string
	Step    *report.Step // nil for host-level events
	Kind    EventKind
	Message string
}

// Options are fixed for the engine's life.
type Options struct {
	// Redactor removes secrets from everything recorded; nil redacts nothing.
	Redactor *evidence.Redactor
	// Lang picks the checklist language ("en" when empty).
	Lang string
	// Hint explains a transport or step error in one line of advice.
	Hint func(error) string
	// Version is the running program's version, written into every run
	// record (report.Run.RunbookVersion) and so into saved plans.
	Version string
}

// PlanOptions shape one plan.
type PlanOptions struct {
	// Forks is how many hosts are worked on at once (1 when less).
	Forks int
	// KeepGoing: after a failure, steps that do not depend on it still run.
	KeepGoing bool
	// OnEvent, when set, is called from host goroutines; it must be safe
	// for concurrent use.
	OnEvent func(Event)
	// Run is the record to fill as the walk goes (so a caller can write it
	// at any moment); nil makes a new one.
	Run *report.Run
}

// ApplyOptions shape one apply.
type ApplyOptions struct {
	Forks     int
	KeepGoing bool
	OnEvent   func(Event)
	Run       *report.Run
	// Saved, when set, is the plan the admin reviewed: its hosts and steps
	// are the whole target set, every probe is run again first, and apply
	// refuses (StalePlanError) a host or step the plan did not show, or
	// hosts that no longer look as they did; then each step must propose
	// exactly the saved action, field changes and commands.
	Saved *planfile.File
	// Resume is an earlier apply of this runbook that failed or was
	// interrupted: a step it completed that would only run again (a test
	// job; nothing to probe) is not repeated, its evidence and results are
	// carried over and labelled. Everything with a probe is re-checked.
	Resume *report.Run
	// Lock takes a lock file on each host for the length of the apply;
	// ForceUnlock removes a stale one first.
	Lock        bool
	ForceUnlock bool
	// ForceHandlers runs notified handlers even when a step failed before
	// them (Ansible's --force-handlers); without it they stay pending in
	// the record, and --resume runs them.
	ForceHandlers bool
}

// Engine runs one parsed runbook with resolved variables.
type Engine struct {
	cfg   *config.Config
	order []*config.Step
	vars  map[string]cty.Value
	opts  Options
	// readBy holds the steps some step refers to: only their results are
	// built (setResult).
	readBy map[string]bool
	// checklists are each step's lines (in order), the same on every host.
	checklists [][]string
	// dir is the runbook's directory (steps.Exec.SourceDir).
	dir string

	// Per-engine caches shared by the host goroutines: what is the same on
	// every host is worked out once, not once per host and step.
	cacheMu    sync.Mutex
	outTypes   []outType // JSON of the step output types seen (encodeOutputs)
	constKinds sync.Map  // *config.Step → constKind (evalKind)
	// usesFacts: some expression reads host.facts, so each host's facts
	// are gathered (one command) before its first step.
	usesFacts bool
}

// New checks the graph and returns an engine; diagnostics are returned for
// a cycle.
func New(cfg *config.Config, vars map[string]cty.Value, opts Options) (*Engine, hcl.Diagnostics) {
	cfg, diags := Expand(cfg, vars)
	if diags.HasErrors() {
		return nil, diags
	}
	order, _ := cfg.Order()
	if opts.Lang == "" {
		opts.Lang = "en"
	}
	if opts.Redactor == nil {
		opts.Redactor = evidence.NewRedactor()
	}
	e := &Engine{cfg: cfg, order: order, vars: vars, opts: opts, readBy: map[string]bool{}, dir: filepath.Dir(cfg.Filename)}
	for _, st := range order {
		for _, r := range st.Refs {
			e.readBy[r] = true
		}
	}
	// Outputs read step results too.
	for _, o := range cfg.Outputs {
		for _, base := range o.Refs {
			insts, _ := cfg.Instances(base)
			for _, i := range insts {
				e.readBy[i.Name] = true
			}
		}
	}
	e.checklists = e.evalChecklists()
	e.usesFacts = config.UsesFacts(cfg)
	return e, nil
}

// Expand evaluates every for_each (with no host: the instances are the
// same on every host) and returns the runbook as it runs, its step
// instances in order (config.Config.Expand). An expanded config is
// returned as it is.
func Expand(cfg *config.Config, vars map[string]cty.Value) (*config.Config, hcl.Diagnostics) {
	if cfg.Expanded() {
		return cfg, nil
	}
	if _, diags := cfg.Order(); diags.HasErrors() {
		return nil, diags
	}
	keys := map[string][]config.Instance{}
	var diags hcl.Diagnostics
	var static *eval.Scope
	for _, st := range cfg.Steps {
		if st.ForEach == nil {
			continue
		}
		if static == nil {
			var d hcl.Diagnostics
			if static, d = eval.StaticScope(cfg, vars); d.HasErrors() {
				return nil, d
			}
		}
		insts, d := static.ForEach(st)
		diags = append(diags, d...)
		keys[st.Name] = insts
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return cfg.Expand(keys)
}

// Config is the runbook as it runs (expanded: step instances in order).
func (e *Engine) Config() *config.Config { return e.cfg }

// Order is the steps in the order they run on each host.
func (e *Engine) Order() []*config.Step { return e.order }

// Redactor is the engine's redactor (never nil).
func (e *Engine) Redactor() *evidence.Redactor { return e.opts.Redactor }

// Mode says whether a walk only looks (plan) or changes (apply).
type Mode string

const (
	ModePlan  Mode = "plan"
	ModeApply Mode = "apply"
)

// Plan runs read-only steps and every step's probe on each target and
// returns what apply would do. It never changes a target.
func (e *Engine) Plan(ctx context.Context, targets []Target, opts PlanOptions) *report.Run {
	w := &walk{e: e, mode: ModePlan, forks: opts.Forks, keepGoing: opts.KeepGoing, onEvent: opts.OnEvent}
	run := opts.Run
	if run == nil {
		run = e.NewRun(ModePlan)
	}
	w.run(ctx, run, targets)
	return run
}

// ErrInvalidResume: the run given to resume cannot be resumed by this apply.
var ErrInvalidResume = errors.New("cannot resume")

// Apply runs the steps on each target. The record is filled in as the walk
// goes, so a caller holding opts.Run can write it even after an interrupt.
// An error means nothing was applied: a saved plan that is stale
// (*StalePlanError, with the plan run that found it) or a run that cannot
// be resumed (ErrInvalidResume).
func (e *Engine) Apply(ctx context.Context, targets []Target, opts ApplyOptions) (*report.Run, error) {
	run := opts.Run
	if run == nil {
		run = e.NewRun(ModeApply)
	}
	w := &walk{e: e, mode: ModeApply, forks: opts.Forks, keepGoing: opts.KeepGoing, onEvent: opts.OnEvent, forceHandlers: opts.ForceHandlers}
	// A refused apply changed nothing, but its record must not stay
	// "running" (as a killed apply's would): it ended, and failed.
	refused := func(err error) (*report.Run, error) {
		run.Result, run.Ended = ResultFailed, time.Now().UTC()
		return run, err
	}
	if opts.Resume != nil {
		carried, err := e.resumeFrom(opts.Resume)
		if err != nil {
			return refused(err)
		}
		w.resume = carried
		run.ResumeOf = opts.Resume.ID
	}
	if opts.Saved != nil {
		expected, err := e.checkSaved(ctx, targets, opts, run)
		if err != nil {
			return refused(err)
		}
		w.expected = expected
	}
	if opts.Lock {
		w.lock = &lockOptions{holder: lockInfo(run.ID), force: opts.ForceUnlock}
	}
	w.run(ctx, run, targets)
	return run, nil
}

// NewRun starts a run record: what was run with which variables.
func (e *Engine) NewRun(mode Mode) *report.Run {
	r := &report.Run{
		SchemaVersion:  report.SchemaVersion,
		Mode:           string(mode),
		File:           e.cfg.Filename,
		Started:        time.Now().UTC(),
		Variables:      map[string]string{},
		RunbookVersion: e.opts.Version,
		// Every string of the record is redacted again when it is written.
		Redactor: e.opts.Redactor,
	}
	if rb := e.cfg.Runbook; rb != nil {
		r.Runbook, r.Title = rb.Name, rb.Title
	}
	if mode == ModeApply {
		e.bindInputs(r)
	}
	for _, v := range e.cfg.Variables {
		val, ok := e.vars[v.Name]
		switch {
		case !ok:
		case v.Sensitive:
			r.Variables[v.Name] = "(sensitive)"
		default:
			r.Variables[v.Name] = e.opts.Redactor.Redact(renderValue(val))
		}
	}
	return r
}

// hint is the advice for err: the step's own, else the transport's.
func (e *Engine) hint(err error) string {
	var f *steps.Failure
	if errors.As(err, &f) && f.Hint != "" {
		return f.Hint
	}
	if e.opts.Hint != nil {
		return e.opts.Hint(err)
	}
	return ""
}

// evalChecklists evaluates each step's checklist lines (in order) once for
// all hosts: they may only use var, local and runbook, so they are the
// same on every host.
func (e *Engine) evalChecklists() [][]string {
	out := make([][]string, len(e.order))
	static, _ := eval.StaticScope(e.cfg, e.vars)
	if static == nil {
		return out
	}
	for i, st := range e.order {
		if byLang, d := static.Checklist(st); !d.HasErrors() {
			out[i] = eval.PickLanguage(byLang, e.opts.Lang)
		}
	}
	return out
}

func renderValue(v cty.Value) string {
	if !v.IsKnown() {
		return "(unknown)"
	}
	if v.IsNull() {
		return "null"
	}
	if v.Type() == cty.String {
		return v.AsString()
	}
	b, err := ctyjsonMarshal(v)
	if err != nil {
		return v.GoString()
	}
	return string(b)
}

// internalError is what a panicking kind becomes: a failed step, not a
// crashed process.
func internalError(kind string, p any) error {
	return fmt.Errorf("internal error in step kind %s (please report): %v", kind, p)
}
