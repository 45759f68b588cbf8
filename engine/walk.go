package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
)

// walk is one plan or apply over all targets.
type walk struct {
	e         *Engine
	mode      Mode
	forks     int
	keepGoing bool
	onEvent   func(Event)
	// expected: apply of a saved plan holds each step to what was shown.
	expected map[stepKey]expectation
	// resume: steps of an earlier run that may be carried over.
	resume *resumed
	// lock: take each host's run lock (apply only).
	lock *lockOptions
	// forceHandlers: notified handlers run even after a failure.
	forceHandlers bool
}

// stepKey names one step on one host.
type stepKey struct{ host, step string }

type lockOptions struct {
	// holder is what this run writes into every host's lock, once per
	// run: a lock refused with exactly this holder is our own.
	holder string
	force  bool
}

func (w *walk) emit(ev Event) {
	if w.onEvent != nil {
		w.onEvent(ev)
	}
}

// run walks every target, at most forks at a time, and sets the run's result.
func (w *walk) run(ctx context.Context, run *report.Run, targets []Target) {
	run.Hosts = make([]*report.Host, len(targets))
	for i, t := range targets {
		run.Hosts[i] = w.e.newHostRecord(t)
	}
	sem := make(chan struct{}, max(w.forks, 1))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			w.host(ctx, t, run.Hosts[i])
		}()
	}
	wg.Wait()
	run.Ended = time.Now().UTC()
	run.Result = resultOf(ctx, w.mode, run)
}

// Run results, as the engine's API names them.
const (
	ResultRunning     = report.ResultRunning
	ResultSuccess     = report.ResultSuccess
	ResultPlanned     = report.ResultPlanned
	ResultFailed      = report.ResultFailed
	ResultInterrupted = report.ResultInterrupted
)

func resultOf(ctx context.Context, m Mode, run *report.Run) string {
	if ctx.Err() != nil {
		return ResultInterrupted
	}
	for _, h := range run.Hosts {
		if h.Error != "" {
			return ResultFailed
		}
		for _, s := range h.Steps {
			if s.Status == report.StatusFailed || s.Status == report.StatusInterrupted {
				return ResultFailed
			}
		}
	}
	if m == ModePlan {
		return ResultPlanned
	}
	return ResultSuccess
}

// newHostRecord lists every step up front as not run, so a report written
// at any moment shows what never ran.
func (e *Engine) newHostRecord(t Target) *report.Host {
	h := &report.Host{Name: t.Host.Name, Transport: t.Describe, Steps: make([]*report.Step, 0, len(e.order))}
	for i, st := range e.order {
		h.Steps = append(h.Steps, &report.Step{
			Name: st.Name, Kind: st.Kind, Title: st.DefaultTitle(), Status: report.StatusNotRun,
			// Each host gets its own copy of the lines: records are not shared.
			Checklist: slices.Clone(e.checklists[i]),
		})
	}
	return h
}

// hostWalk is the state of one host's walk.
type hostWalk struct {
	*walk
	rec   *report.Host
	tr    transport.Transport
	scope *eval.Scope
	// blocked: step → why the steps depending on it cannot run ("" when
	// its dependants may still run, e.g. it is only unknown in a plan).
	blocked map[string]string
	// pending (plan): steps whose effect apply has yet to make.
	pending map[string]bool
	// writes (plan): resource → the earlier step that will change it.
	writes map[string]string
	// stop: why the rest of the walk does not run (a failure without --keep-going).
	stop string
	// changed: steps that changed the host (apply) or will (plan); a
	// handler runs when one of its notifiers is here.
	changed map[string]bool
}

// host connects, locks and walks one host's steps. A panic outside any
// step (a bug in the engine itself) fails the host, not the process.
func (w *walk) host(ctx context.Context, t Target, rec *report.Host) {
	defer func() {
		if p := recover(); p != nil {
			rec.Error = fmt.Sprintf("internal error (please report): %v", p)
			w.emit(Event{Host: rec.Name, Kind: EventHostError, Message: rec.Error})
		}
	}()
	if ctx.Err() != nil {
		return
	}
	tr, err := t.Connect(ctx)
	if err != nil {
		w.hostError(rec, err, "host could not be reached")
		return
	}
	defer tr.Close()
	if d := tr.Describe(); d != "" {
		rec.Transport = d
	}
	if w.lock != nil {
		release, err := acquireLock(ctx, tr, w.e.cfg, w.lock.holder, w.lock.force)
		if err != nil {
			w.hostError(rec, err, "the host is locked by another apply")
			var locked *LockedError
			switch {
			case errors.As(err, &locked) && locked.Holder == w.lock.holder:
				// Our own lock: two inventory hosts are one machine.
				rec.Hint = "another host of this same apply is this machine and holds its lock; list the machine once in the inventory, or run with --forks 1"
			case errors.Is(err, ErrLocked):
				rec.Hint = "another apply of this runbook is running on the host; wait for it. If it crashed, run apply again with --force-unlock"
			}
			return
		}
		defer release()
	}
	host := t.Host
	if w.e.usesFacts {
		facts, err := gatherFacts(ctx, tr)
		if err != nil {
			w.hostError(rec, err, "host facts could not be gathered")
			return
		}
		host.Facts = facts
	}
	scope, diags := eval.NewScope(w.e.cfg, w.e.vars, host)
	if diags.HasErrors() {
		rec.Error = w.e.opts.Redactor.Redact(diagError(diags).Error())
		return
	}
	h := &hostWalk{walk: w, rec: rec, tr: tr, scope: scope,
		blocked: map[string]string{}, pending: map[string]bool{}, writes: map[string]string{}, changed: map[string]bool{}}
	for i, st := range w.e.order {
		h.visit(ctx, st, rec.Steps[i])
	}
	rec.Outputs = w.e.evalOutputs(scope, rec)
}

// pendingWrite reports whether an earlier step of this plan changes resource.
func (h *hostWalk) pendingWrite(resource string) bool {
	_, ok := h.writes[resource]
	return ok
}

func (w *walk) hostError(rec *report.Host, err error, why string) {
	rec.Error = w.e.opts.Redactor.Redact(err.Error())
	rec.Hint = w.e.hint(err)
	for _, s := range rec.Steps {
		s.Summary = why
	}
	w.emit(Event{Host: rec.Name, Kind: EventHostError, Message: rec.Error})
}

// visit decides whether a step runs at all, runs it, and records what its
// outcome means for the steps after it.
func (h *hostWalk) visit(ctx context.Context, st *config.Step, rec *report.Step) {
	defer func() {
		if rec.Changed || (h.mode == ModePlan && (rec.Status == report.StatusPlanned || rec.Status == report.StatusUnknown)) {
			h.changed[st.Name] = true
		}
	}()
	force := false
	if st.Handler {
		var run bool
		if run, force = h.handlerRuns(ctx, st, rec); !run {
			return
		}
	}
	switch {
	case ctx.Err() != nil:
		rec.Summary = "the run was interrupted before this step"
		return
	case h.stop != "" && !force:
		rec.Summary = h.stop
		h.blocked[st.Name] = "did not run"
		return
	}
	if why := blockedBy(st, h.blocked); why != "" {
		rec.Summary = why
		h.blocked[st.Name] = why
		return
	}
	// In a plan, a step that reads what an earlier step will change
	// would read the old state: its result is known only after apply.
	if waits := dependsOnPending(st, h.pending); h.mode == ModePlan && len(waits) > 0 && !plansAhead(st) && !skippedForSure(h.scope, st) {
		rec.Status = report.StatusUnknown
		rec.Summary = "known after apply: runs after step." + strings.Join(waits, ", step.")
		h.pending[st.Name] = true
		h.blocked[st.Name] = ""
		return
	}
	h.guard(ctx, st, rec)
	switch rec.Status {
	case report.StatusPlanned, report.StatusUnknown:
		h.pending[st.Name] = true
	}
	switch rec.Status {
	case report.StatusFailed, report.StatusInterrupted:
		h.blocked[st.Name] = "failed"
		if !h.keepGoing {
			h.stop = fmt.Sprintf("not run: step %q failed before it", st.Name)
		}
	case report.StatusUnknown:
		h.blocked[st.Name] = ""
	}
}

// handlerRuns decides about a handler: it runs only when a step that
// notifies it changed (in a plan: will change). A notified handler that
// cannot run because the walk stopped is kept pending in the record, for
// --resume, or runs anyway under --force-handlers (force).
func (h *hostWalk) handlerRuns(ctx context.Context, st *config.Step, rec *report.Step) (run, force bool) {
	var by []string
	for _, n := range st.NotifiedBy {
		if h.changed[n] {
			by = append(by, "step."+n)
		}
	}
	if id := h.resume.pendingHandler(stepKey{h.rec.Name, st.Name}); id != "" {
		by = append(by, "run "+id+" (resumed)")
	}
	rec.NotifiedBy = by
	stopped := ctx.Err() != nil || h.stop != ""
	switch {
	case len(by) == 0 && stopped:
		return true, false // not notified: recorded as not run, like any step after the stop
	case len(by) == 0:
		rec.Status, rec.Summary = report.StatusSkipped, "not notified: no step that notifies it changed"
		if h.mode == ModePlan {
			rec.Summary = "not notified: no step that notifies it will change"
		}
		h.e.setResult(h.scope, st, nil, false, report.StatusSkipped)
		return false, false
	case !stopped:
		return true, false
	case ctx.Err() == nil && h.forceHandlers:
		return true, true
	}
	why := h.stop
	if ctx.Err() != nil {
		why = "the run was interrupted"
	}
	rec.HandlerPending = true
	rec.Summary = fmt.Sprintf("pending: notified by %s, but %s; apply again with --resume to run it (or use --force-handlers)", strings.Join(by, ", "), why)
	h.blocked[st.Name] = "did not run"
	return false, false
}

// guard runs a step; a kind that panics fails its step with an internal
// error instead of taking the process (and every other host's record)
// down. The stack goes into the step's notes, for the bug report.
func (h *hostWalk) guard(ctx context.Context, st *config.Step, rec *report.Step) {
	defer func() {
		if p := recover(); p != nil {
			rec.Status = report.StatusFailed
			rec.Error = h.e.opts.Redactor.Redact(internalError(st.Kind, p).Error())
			rec.Notes = append(rec.Notes, h.e.opts.Redactor.Redact(string(debug.Stack())))
		}
	}()
	h.runStep(ctx, st, rec)
}

// blockedBy returns why st cannot run because a step it depends on failed.
func blockedBy(st *config.Step, blocked map[string]string) string {
	deps := append(slices.Clone(st.Refs), st.DependsOn...)
	sort.Strings(deps)
	for _, d := range deps {
		if why, ok := blocked[d]; ok && why != "" {
			return fmt.Sprintf("not run: it depends on step %q, which %s", d, why)
		}
	}
	return ""
}

// skippedForSure: a step whose when is already known to be false is
// reported as skipped, not as waiting for apply.
func skippedForSure(scope *eval.Scope, st *config.Step) bool {
	c, known, diags := scope.EvalCommon(st)
	return known && !diags.HasErrors() && !c.When
}

func plansAhead(st *config.Step) bool {
	p, ok := st.KindImpl.(steps.PlansAhead)
	return ok && p.PlansAhead()
}

func dependsOnPending(st *config.Step, pending map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range append(slices.Clone(st.Refs), st.DependsOn...) {
		if pending[d] && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}
