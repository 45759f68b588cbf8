package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

// A step's lifecycle on one host:
//
//	prepare  evaluate common attributes (when, timeout, retries…) and the
//	         kind's own, decode them; stop here when unknown or skipped
//	plan     (plan) the kind's probes and proposal, recorded
//	try loop (apply) propose → check against a saved plan → carry over
//	         from a resumed run → apply → until; retried with delay,
//	         all of it inside the step's timeout
//	cleanup  (apply, on failure) the kind's Cancel for what it left behind
//
// Every path ends in finish, which collects the evidence gathered.

// stepRun is one step on one host, from prepare to finish.
type stepRun struct {
	*hostWalk
	st       *config.Step
	rec      *report.Step
	step     steps.Step
	common   eval.Common
	recorder *evidence.Recorder
	// outputs are the step's results (step.NAME.*) once known.
	outputs map[string]cty.Value
	// carried is the earlier run's record this step's result comes from.
	carried *report.Step
	// applied: Apply was called, so a failure may have left something behind.
	applied bool
}

func (h *hostWalk) runStep(ctx context.Context, st *config.Step, rec *report.Step) {
	r := &stepRun{hostWalk: h, st: st, rec: rec}
	if !r.prepare(ctx) {
		return
	}
	rec.Started = time.Now().UTC()
	h.emit(Event{Host: h.rec.Name, Step: rec, Kind: EventStepStarted})
	stepCtx := ctx
	var deadline time.Time
	if r.common.Timeout > 0 {
		var cancel context.CancelFunc
		stepCtx, cancel = context.WithTimeout(ctx, r.common.Timeout)
		defer cancel()
		deadline, _ = stepCtx.Deadline()
	}
	r.recorder = &evidence.Recorder{
		Transport: h.tr, Redactor: h.e.opts.Redactor, BecomeOn: r.common.Become, BecomeUser: r.common.BecomeUser, Deadline: deadline,
		Planning:      h.mode == ModePlan,
		OnProgress:    func(msg string) { h.emit(Event{Host: h.rec.Name, Step: rec, Kind: EventProgress, Message: msg}) },
		Dir:           h.e.sourceDir(st),
		PendingWrites: h.pendingWrite,
	}
	defer func() {
		// A panicking kind fails its step (and gets its cleanup) before
		// the evidence is collected and watchers hear the step finished.
		var stack string
		if p := recover(); p != nil {
			r.fail(ctx, internalError(st.Kind, p))
			r.cleanup()
			stack = string(debug.Stack())
		}
		r.finish()
		if stack != "" {
			rec.Notes = append(rec.Notes, h.e.opts.Redactor.Redact(stack))
		}
		rec.Ended = time.Now().UTC()
		h.emit(Event{Host: h.rec.Name, Step: rec, Kind: EventStepFinished})
	}()
	if h.mode == ModePlan {
		r.plan(stepCtx)
		return
	}
	r.apply(ctx, stepCtx)
}

// prepare evaluates and decodes the step. It reports false when the step
// goes no further: it failed to evaluate, is skipped, or (in a plan) its
// values or what it reads are known only after apply.
func (r *stepRun) prepare(ctx context.Context) bool {
	common, known, diags := r.scope.EvalCommon(r.st)
	r.rec.Title = r.e.opts.Redactor.Redact(common.Title)
	r.common = common
	switch {
	case diags.HasErrors():
		r.fail(ctx, diagError(diags))
		return false
	case !known:
		r.unknown(unknownSummary(r.scope.UnknownRefs(r.st)))
		return false
	case !common.When:
		r.rec.Status = report.StatusSkipped
		r.rec.Summary = "when is false"
		r.setResult(nil, false, report.StatusSkipped)
		return false
	}
	cfgVal, diags := r.e.evalKind(r.scope, r.st)
	if diags.HasErrors() {
		r.fail(ctx, diagError(diags))
		return false
	}
	if !cfgVal.IsWhollyKnown() {
		r.unknown(unknownSummary(r.scope.UnknownRefs(r.st)))
		return false
	}
	step, err := r.st.KindImpl.Decode(cfgVal)
	if err != nil {
		r.fail(ctx, eval.KindError(r.st, err))
		return false
	}
	r.step = step
	if r.mode == ModePlan && !plansAhead(r.st) {
		if reads := r.readsPending(); len(reads) > 0 {
			r.unknown("known after apply: reads " + strings.Join(reads, ", "))
			return false
		}
	}
	return true
}

// readsPending lists what the step reads that an earlier step of this
// plan will change, as "RESOURCE (step.NAME changes it)".
func (r *stepRun) readsPending() []string {
	res, ok := r.step.(steps.Resourcer)
	if !ok {
		return nil
	}
	reads, _ := res.Resources()
	var out []string
	for _, name := range reads {
		if by, ok := r.writes[name]; ok {
			out = append(out, fmt.Sprintf("%s, which step.%s changes", name, by))
		}
	}
	return out
}

// plan records what the step would do; a plan never changes the target.
func (r *stepRun) plan(ctx context.Context) {
	p, err := r.step.Plan(ctx, r.recorder)
	if err != nil {
		r.fail(ctx, err)
		return
	}
	r.describe(p)
	settled := p.Action == steps.Read || p.Action == steps.NoOp
	switch {
	case p.Action == steps.Read:
		r.rec.Status = report.StatusOK
	case p.Action == steps.NoOp:
		r.rec.Status = report.StatusUnchanged
	default:
		r.rec.Status = report.StatusPlanned
		if res, ok := r.step.(steps.Resourcer); ok {
			_, writes := res.Resources()
			for _, w := range writes {
				r.writes[w] = r.st.Name
			}
		}
	}
	// Outputs a proposal already knows (a create step knows the name it
	// will create) let later steps plan on them.
	if settled || p.Outputs != nil {
		r.setResult(p.Outputs, !settled, r.rec.Status)
	}
	if settled {
		r.outputs = p.Outputs
	}
}

// apply is the try loop: up to 1+retries attempts, delay apart, until the
// step succeeds and its until condition holds; the step's timeout covers
// all of them.
func (r *stepRun) apply(ctx, stepCtx context.Context) {
	var changed bool
	var lastErr error
	for attempt := 0; attempt <= r.common.Retries; attempt++ {
		if attempt > 0 {
			r.emit(Event{Host: r.hostWalk.rec.Name, Step: r.rec, Kind: EventProgress,
				Message: fmt.Sprintf("attempt %d of %d", attempt+1, r.common.Retries+1)})
			if err := steps.Sleep(stepCtx, r.common.Delay); err != nil {
				lastErr = err
				break
			}
		}
		c, resumed, err := r.try(stepCtx, attempt == 0)
		if resumed {
			return
		}
		changed = changed || c
		lastErr = err
		if err != nil {
			if stepCtx.Err() != nil {
				break
			}
			continue
		}
		ok, diags := r.scope.EvalUntil(r.st, stepValue(r.outputs, changed, report.StatusOK))
		if diags.HasErrors() {
			lastErr = diagError(diags)
			break
		}
		if ok {
			break
		}
		lastErr = fmt.Errorf("until condition still false after %d attempt(s)", attempt+1)
	}
	r.rec.Changed = changed
	if lastErr != nil {
		if stepCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			lastErr = fmt.Errorf("step timed out after %s: %w", r.common.Timeout, lastErr)
		}
		r.fail(ctx, lastErr)
		r.cleanup()
		return
	}
	switch {
	case changed:
		r.rec.Status = report.StatusChanged
	case r.rec.Action == steps.NoOp.String():
		r.rec.Status = report.StatusUnchanged
	default:
		r.rec.Status = report.StatusOK
	}
	r.setResult(r.outputs, changed, r.rec.Status)
}

// try is one attempt: propose, hold the proposal to the saved plan (first
// attempt), carry a completed run-only step over from a resumed run, and
// apply. resumed means the step's record is complete.
func (r *stepRun) try(ctx context.Context, first bool) (changed, resumed bool, err error) {
	p, err := r.step.Plan(ctx, r.recorder)
	if err != nil {
		return false, false, err
	}
	if first {
		if err := r.checkExpected(p); err != nil {
			return false, false, err
		}
		if p.Action == steps.Run && r.carryOver(p) {
			return false, true, nil
		}
	}
	r.describe(p)
	r.outputs = p.Outputs
	if p.Action == steps.Read || p.Action == steps.NoOp {
		return false, false, nil
	}
	r.applied = true
	out, err := r.step.Apply(ctx, r.recorder, p)
	if out.Summary != "" {
		r.rec.Summary = out.Summary
	}
	r.outputs = out.Outputs
	return out.Changed, false, err
}

// cleanup lets a kind undo what a failed apply left behind (a queued job).
// It gets its own time: the step's timeout (or the interrupt) that ended
// the step must not also stop the scancel.
func (r *stepRun) cleanup() {
	c, ok := r.step.(steps.Canceler)
	if !ok || !r.applied {
		return
	}
	r.recorder.Deadline = time.Time{}
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Cancel(cctx, r.recorder); err != nil {
		// Left-behind work must be as visible as the failure itself.
		r.recorder.Note("cleanup after failure failed: %v", err)
		r.rec.Error += "; cleanup failed: " + r.e.opts.Redactor.Redact(err.Error())
	}
}

// finish collects the evidence gathered into the record.
func (r *stepRun) finish() {
	r.rec.Commands = r.recorder.Commands()
	r.rec.Notes = r.recorder.Notes()
	r.rec.NoteProves = r.recorder.NoteProves()
	if r.carried != nil {
		r.rec.Commands = append(slices.Clone(r.carried.Commands), r.rec.Commands...)
		r.rec.Notes = append(append([]string{"evidence from run " + r.resume.runID + " (resumed)"}, r.carried.Notes...), r.rec.Notes...)
		r.rec.NoteProves = carriedNoteProves(r.carried, r.rec.NoteProves, len(r.rec.Notes)-len(r.carried.Notes)-1)
	}
	if r.rec.Succeeded() && r.outputs != nil {
		r.rec.Outputs = r.e.encodeOutputs(r.outputs)
	}
}

// carriedNoteProves keeps the labels of a resumed step's notes lined up
// with them: 0 for the "evidence from run" note, the earlier run's labels
// (padded to its notes), then this run's (padded to its own notes). nil
// when neither run labelled a note.
func carriedNoteProves(carried *report.Step, mine []int, myNotes int) []int {
	if carried.NoteProves == nil && mine == nil {
		return nil
	}
	out := []int{0}
	prev := carried.NoteProves
	if len(prev) != len(carried.Notes) {
		prev = nil // misaligned: labels that would point at the wrong notes are dropped
	}
	out = append(out, prev...)
	out = append(out, make([]int, len(carried.Notes)-len(prev))...)
	out = append(out, mine...)
	return append(out, make([]int, max(myNotes-len(mine), 0))...)
}

func (r *stepRun) fail(ctx context.Context, err error) {
	r.rec.Status = report.StatusFailed
	r.rec.Error = r.e.opts.Redactor.Redact(err.Error())
	r.rec.Hint = r.e.opts.Redactor.Redact(r.e.hint(err))
	if ctx.Err() != nil {
		r.rec.Status = report.StatusInterrupted
		r.rec.Error = "interrupted: " + r.rec.Error
	}
}

func (r *stepRun) unknown(summary string) {
	r.rec.Status = report.StatusUnknown
	r.rec.Summary = summary
}

// describe copies a proposal into the record, redacted: a sensitive value
// in argv must not reach plan output, plan files or reports.
func (r *stepRun) describe(p steps.Proposal) {
	red := r.e.opts.Redactor
	r.rec.Action = p.Action.String()
	r.rec.Summary = red.Redact(p.Summary)
	r.rec.Changes = nil
	for _, c := range p.Changes {
		r.rec.Changes = append(r.rec.Changes, steps.Change{Field: c.Field, Current: red.Redact(c.Current), Desired: red.Redact(c.Desired)})
	}
	r.rec.Planned = nil
	for _, c := range p.Commands {
		r.rec.Planned = append(r.rec.Planned, red.Redact(c))
	}
}

// setResult makes the step's results visible to the steps that read them.
func (r *stepRun) setResult(outputs map[string]cty.Value, changed bool, status string) {
	r.e.setResult(r.scope, r.st, outputs, changed, status)
}

// sourceDir is where a step's relative source files are: the runbook's
// directory, or the module's for a step of a module.
func (e *Engine) sourceDir(st *config.Step) string {
	if st.Module != nil {
		return st.Module.Dir
	}
	return e.dir
}

func unknownSummary(refs []string) string {
	if len(refs) == 0 {
		return "known after apply"
	}
	return "known after apply: depends on step." + strings.Join(refs, ", step.")
}
