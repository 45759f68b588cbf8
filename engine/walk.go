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
	scope, diags := eval.NewScope(w.e.cfg, w.e.vars, t.Host)
	if diags.HasErrors() {
		rec.Error = w.e.opts.Redactor.Redact(diagError(diags).Error())
		return
	}
	h := &hostWalk{walk: w, rec: rec, tr: tr, scope: scope,
		blocked: map[string]string{}, pending: map[string]bool{}, writes: map[string]string{}}
	for i, st := range w.e.order {
		h.visit(ctx, st, rec.Steps[i])
	}
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
	switch {
	case ctx.Err() != nil:
		rec.Summary = "the run was interrupted before this step"
		return
	case h.stop != "":
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
