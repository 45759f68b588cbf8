// Package engine runs a parsed runbook: plan (read-only probes, proposals)
// and apply (the same walk, carrying proposals out). Both walk each host's
// steps in graph order and produce a report.Run.
//
// The flow: config.Parse → config.Order (graph) → Engine.Plan → Engine.Apply
// → report.Write.
package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
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

// Event is what a watching user interface is told.
type Event struct {
	Host    string
	Step    *report.Step // nil for host-level events
	Kind    string       // "host_error", "step_started", "step_finished", "progress"
	Message string
}

// Engine holds one run's inputs.
type Engine struct {
	Config    *config.Config
	Order     []*config.Step
	Vars      map[string]cty.Value
	Redactor  *evidence.Redactor
	Lang      string
	Forks     int
	KeepGoing bool
	// Hint explains a transport or step error in one line of advice.
	Hint func(error) string
	// OnEvent, when set, is called from host goroutines; it must be safe
	// for concurrent use.
	OnEvent func(Event)
	// Expected, when set (apply of a saved plan), returns the action and
	// field changes the plan promised for a step; a step whose fresh
	// proposal differs fails instead of doing something unreviewed.
	Expected func(host, step string) (action string, changes []steps.Change, ok bool)
	// Lock takes a lock file on each host for the length of an apply;
	// ForceUnlock removes a stale one first. RunID names the holder.
	Lock        bool
	ForceUnlock bool
	RunID       string
	// Resume holds the step records of an earlier run (--resume), keyed by
	// host and step: a step that succeeded there and would only run again
	// (a test job; nothing to probe) is not repeated, its evidence and
	// results are carried over. Everything with a probe is re-checked.
	Resume    map[string]*report.Step
	ResumeRun string

	// Per-run caches shared by the host goroutines: what is the same on
	// every host is worked out once, not once per host and step.
	cacheMu    sync.Mutex
	outTypes   []outType // JSON of the step output types seen (encodeOutputs)
	constKinds sync.Map  // *config.Step → constKind (evalKind)
	// readBy holds the steps some step refers to (setResult); set by
	// walk before the hosts start, read-only while they run.
	readBy map[string]bool
	// lockHolder is what this run writes into every host's lock, once per
	// run: a lock refused with exactly this holder is our own.
	lockHolder string
}

// outType is a cty type with its JSON encoding (report.Outputs.Type).
type outType struct {
	ty   cty.Type
	json []byte
}

// New checks the graph and returns an engine; diagnostics are returned for
// a cycle.
func New(cfg *config.Config, vars map[string]cty.Value) (*Engine, hcl.Diagnostics) {
	order, diags := cfg.Order()
	if diags.HasErrors() {
		return nil, diags
	}
	return &Engine{Config: cfg, Order: order, Vars: vars, Forks: 10, Lang: "en"}, nil
}

type mode int

const (
	modePlan mode = iota
	modeApply
)

// Plan runs read-only steps and every step's probe on each target and
// returns what apply would do. It never changes a target.
func (e *Engine) Plan(ctx context.Context, run *report.Run, targets []Target) {
	e.walk(ctx, modePlan, run, targets)
}

// Apply runs the steps on each target. run is filled in as the walk goes,
// so a caller holding it can write the report even after an interrupt.
func (e *Engine) Apply(ctx context.Context, run *report.Run, targets []Target) {
	e.walk(ctx, modeApply, run, targets)
}

// NewRun starts a run record.
func (e *Engine) NewRun(mode string) *report.Run {
	r := &report.Run{
		SchemaVersion: report.SchemaVersion,
		Mode:          mode,
		File:          e.Config.Filename,
		Started:       time.Now().UTC(),
		Variables:     map[string]string{},
	}
	// Every string of the record is redacted again when it is written.
	if e.Redactor != nil {
		r.Redactor = e.Redactor
	}
	if rb := e.Config.Runbook; rb != nil {
		r.Runbook, r.Title = rb.Name, rb.Title
	}
	for _, v := range e.Config.Variables {
		val, ok := e.Vars[v.Name]
		switch {
		case !ok:
		case v.Sensitive:
			r.Variables[v.Name] = "(sensitive)"
		default:
			r.Variables[v.Name] = e.Redactor.Redact(renderValue(val))
		}
	}
	return r
}

func (e *Engine) walk(ctx context.Context, m mode, run *report.Run, targets []Target) {
	if m == modeApply && e.Lock {
		e.lockHolder = lockInfo(e.RunID)
	}
	e.readBy = map[string]bool{}
	for _, st := range e.Order {
		for _, r := range st.Refs {
			e.readBy[r] = true
		}
	}
	run.Hosts = make([]*report.Host, len(targets))
	checklists := e.checklists()
	for i, t := range targets {
		run.Hosts[i] = e.newHostRecord(t, checklists)
	}
	forks := e.Forks
	if forks < 1 {
		forks = 1
	}
	sem := make(chan struct{}, forks)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			e.walkHost(ctx, m, t, run.Hosts[i])
		}()
	}
	wg.Wait()
	run.Ended = time.Now().UTC()
	run.Result = resultOf(ctx, m, run)
}

func resultOf(ctx context.Context, m mode, run *report.Run) string {
	if ctx.Err() != nil {
		return "interrupted"
	}
	for _, h := range run.Hosts {
		if h.Error != "" {
			return "failed"
		}
		for _, s := range h.Steps {
			if s.Status == report.StatusFailed || s.Status == report.StatusInterrupted {
				return "failed"
			}
		}
	}
	if m == modePlan {
		return "planned"
	}
	return "success"
}

// checklists evaluates each step's checklist lines (in e.Order) once for
// all hosts: they may only use var, local and runbook, so they are the
// same on every host, and evaluating them per host cost a static scope
// (locals, function table) and every checklist expression per host.
func (e *Engine) checklists() [][]string {
	out := make([][]string, len(e.Order))
	static, _ := eval.StaticScope(e.Config, e.Vars)
	if static == nil {
		return out
	}
	for i, st := range e.Order {
		if byLang, d := static.Checklist(st); !d.HasErrors() {
			out[i] = eval.PickLanguage(byLang, e.Lang)
		}
	}
	return out
}

// newHostRecord lists every step up front as not run, so a report written
// at any moment shows what never ran.
func (e *Engine) newHostRecord(t Target, checklists [][]string) *report.Host {
	h := &report.Host{Name: t.Host.Name, Transport: t.Describe, Steps: make([]*report.Step, 0, len(e.Order))}
	for i, st := range e.Order {
		h.Steps = append(h.Steps, &report.Step{
			Name: st.Name, Kind: st.Kind, Title: st.Kind + " " + st.Name, Status: report.StatusNotRun,
			// Each host gets its own copy of the lines: records are not shared.
			Checklist: slices.Clone(checklists[i]),
		})
	}
	return h
}

func (e *Engine) emit(ev Event) {
	if e.OnEvent != nil {
		e.OnEvent(ev)
	}
}

func (e *Engine) hint(err error) string {
	var f *steps.Failure
	if errors.As(err, &f) && f.Hint != "" {
		return f.Hint
	}
	if e.Hint != nil {
		return e.Hint(err)
	}
	return ""
}

func (e *Engine) walkHost(ctx context.Context, m mode, t Target, hr *report.Host) {
	if ctx.Err() != nil {
		return
	}
	tr, err := t.Connect(ctx)
	if err != nil {
		hr.Error = e.Redactor.Redact(err.Error())
		hr.Hint = e.hint(err)
		for _, s := range hr.Steps {
			s.Summary = "host could not be reached"
		}
		e.emit(Event{Host: hr.Name, Kind: "host_error", Message: hr.Error})
		return
	}
	defer tr.Close()
	if d := tr.Describe(); d != "" {
		hr.Transport = d
	}
	if m == modeApply && e.Lock {
		release, err := acquireLock(ctx, tr, e.Config.Runbook.Name, e.lockHolder, e.ForceUnlock)
		if err != nil {
			hr.Error = e.Redactor.Redact(err.Error())
			hr.Hint = e.hint(err)
			var locked *LockedError
			switch {
			case errors.As(err, &locked) && locked.Holder == e.lockHolder:
				// Our own lock: two inventory hosts are one machine.
				hr.Hint = "another host of this same apply is this machine and holds its lock; list the machine once in the inventory, or run with --forks 1"
			case errors.Is(err, ErrLocked):
				hr.Hint = "another apply of this runbook is running on the host; wait for it. If it crashed, run apply again with --force-unlock"
			}
			for _, s := range hr.Steps {
				s.Summary = "the host is locked by another apply"
			}
			e.emit(Event{Host: hr.Name, Kind: "host_error", Message: hr.Error})
			return
		}
		defer release()
	}
	scope, diags := eval.NewScope(e.Config, e.Vars, t.Host)
	if diags.HasErrors() {
		hr.Error = diags.Error()
		return
	}
	blocked := map[string]string{} // step → why it cannot run
	pending := map[string]bool{}   // plan: steps whose effect apply has yet to make
	stop := ""
	for i, st := range e.Order {
		rec := hr.Steps[i]
		if ctx.Err() != nil {
			rec.Summary = "the run was interrupted before this step"
			continue
		}
		if stop != "" {
			rec.Summary = stop
			blocked[st.Name] = "did not run"
			continue
		}
		if why := e.blockedBy(st, blocked); why != "" {
			rec.Summary = why
			blocked[st.Name] = why
			continue
		}
		// In a plan, a step that reads what an earlier step will change
		// would read the old state: its result is known only after apply.
		if waits := dependsOnPending(st, pending); m == modePlan && len(waits) > 0 && !plansAhead(st) && !skippedForSure(scope, st) {
			rec.Status = report.StatusUnknown
			rec.Summary = "known after apply: runs after step." + strings.Join(waits, ", step.")
			pending[st.Name] = true
			continue
		}
		e.runStep(ctx, m, st, rec, scope, tr, hr.Name)
		if rec.Status == report.StatusPlanned || rec.Status == report.StatusUnknown {
			pending[st.Name] = true
		}
		switch rec.Status {
		case report.StatusFailed, report.StatusInterrupted:
			blocked[st.Name] = "failed"
			if !e.KeepGoing {
				stop = fmt.Sprintf("not run: step %q failed before it", st.Name)
			}
		case report.StatusUnknown:
			blocked[st.Name] = ""
		}
	}
}

// blockedBy returns why st cannot run because a step it depends on failed.
func (e *Engine) blockedBy(st *config.Step, blocked map[string]string) string {
	deps := append(append([]string(nil), st.Refs...), st.DependsOn...)
	sort.Strings(deps)
	for _, d := range deps {
		if why, ok := blocked[d]; ok && why != "" {
			return fmt.Sprintf("not run: it depends on step %q, which %s", d, why)
		}
	}
	return ""
}

func (e *Engine) runStep(ctx context.Context, m mode, st *config.Step, rec *report.Step, scope *eval.Scope, tr transport.Transport, host string) {
	fail := func(err error) {
		rec.Status = report.StatusFailed
		rec.Error = e.Redactor.Redact(err.Error())
		rec.Hint = e.Redactor.Redact(e.hint(err))
		if ctx.Err() != nil {
			rec.Status = report.StatusInterrupted
			rec.Error = "interrupted: " + rec.Error
		}
	}
	common, known, diags := scope.EvalCommon(st)
	rec.Title = common.Title
	if diags.HasErrors() {
		fail(diagError(diags))
		return
	}
	if !known {
		rec.Status = report.StatusUnknown
		rec.Summary = unknownSummary(scope.UnknownRefs(st))
		return
	}
	if !common.When {
		rec.Status = report.StatusSkipped
		rec.Summary = "when is false"
		e.setResult(scope, st, nil, false, report.StatusSkipped)
		return
	}
	cfgVal, diags := e.evalKind(scope, st)
	if diags.HasErrors() {
		fail(diagError(diags))
		return
	}
	if !cfgVal.IsWhollyKnown() {
		rec.Status = report.StatusUnknown
		rec.Summary = unknownSummary(scope.UnknownRefs(st))
		return
	}
	step, err := st.KindImpl.Decode(cfgVal)
	if err != nil {
		fail(eval.KindError(st, err))
		return
	}

	rec.Started = time.Now().UTC()
	e.emit(Event{Host: host, Step: rec, Kind: "step_started"})
	defer func() {
		rec.Ended = time.Now().UTC()
		e.emit(Event{Host: host, Step: rec, Kind: "step_finished"})
	}()
	var outputs map[string]cty.Value
	stepCtx := ctx
	var deadline time.Time
	if common.Timeout > 0 {
		var cancel context.CancelFunc
		stepCtx, cancel = context.WithTimeout(ctx, common.Timeout)
		defer cancel()
		deadline, _ = stepCtx.Deadline()
	}
	recorder := &evidence.Recorder{
		Transport: tr, Redactor: e.Redactor, BecomeOn: common.Become, Deadline: deadline, Planning: m == modePlan,
		OnProgress: func(msg string) { e.emit(Event{Host: host, Step: rec, Kind: "progress", Message: msg}) },
	}
	var carried *report.Step
	defer func() {
		rec.Commands = recorder.Commands()
		rec.Notes = recorder.Notes()
		if carried != nil {
			rec.Commands = append(carried.Commands, rec.Commands...)
			rec.Notes = append(append([]string{"evidence from run " + e.ResumeRun + " (resumed)"}, carried.Notes...), rec.Notes...)
		}
		if rec.Succeeded() && outputs != nil {
			rec.Outputs = e.encodeOutputs(outputs)
		}
	}()

	if m == modePlan {
		p, err := step.Plan(stepCtx, recorder)
		if err != nil {
			fail(err)
			return
		}
		e.describe(rec, p)
		switch p.Action {
		case steps.Read:
			rec.Status = report.StatusOK
		case steps.NoOp:
			rec.Status = report.StatusUnchanged
		default:
			rec.Status = report.StatusPlanned
		}
		// Outputs a proposal already knows (a create step knows the name it
		// will create) let later steps plan on them.
		if p.Action == steps.Read || p.Action == steps.NoOp || p.Outputs != nil {
			e.setResult(scope, st, p.Outputs, p.Action != steps.Read && p.Action != steps.NoOp, rec.Status)
		}
		if p.Action == steps.Read || p.Action == steps.NoOp {
			outputs = p.Outputs
		}
		return
	}

	applied := false
	var changed bool
	var lastErr error
	for attempt := 0; attempt <= common.Retries; attempt++ {
		if attempt > 0 {
			e.emit(Event{Host: host, Step: rec, Kind: "progress", Message: fmt.Sprintf("attempt %d of %d", attempt+1, common.Retries+1)})
			if err := sleep(stepCtx, common.Delay); err != nil {
				lastErr = err
				break
			}
		}
		p, err := step.Plan(stepCtx, recorder)
		if err == nil && attempt == 0 {
			err = e.checkExpected(host, st.Name, p)
		}
		if err == nil && attempt == 0 && p.Action == steps.Run {
			if prev, vals := e.resumable(host, st.Name); prev != nil {
				e.describe(rec, p)
				carried, outputs = prev, vals
				rec.Status, rec.Changed, rec.ResumedFrom = prev.Status, prev.Changed, e.ResumeRun
				rec.Summary = "resumed: " + prev.Summary + " (in run " + e.ResumeRun + ")"
				e.setResult(scope, st, vals, prev.Changed, prev.Status)
				return
			}
		}
		if err == nil {
			e.describe(rec, p)
			outputs = p.Outputs
			if p.Action != steps.Read && p.Action != steps.NoOp {
				applied = true
				var out steps.Outcome
				out, err = step.Apply(stepCtx, recorder, p)
				changed = changed || out.Changed
				if out.Summary != "" {
					rec.Summary = out.Summary
				}
				outputs = out.Outputs
			}
		}
		lastErr = err
		if err != nil {
			if stepCtx.Err() != nil {
				break
			}
			continue
		}
		self := stepValue(outputs, changed, report.StatusOK)
		ok, diags := scope.EvalUntil(st, self)
		if diags.HasErrors() {
			lastErr = diagError(diags)
			break
		}
		if ok {
			break
		}
		lastErr = fmt.Errorf("until condition still false after %d attempt(s)", attempt+1)
	}
	rec.Changed = changed
	if lastErr != nil {
		if stepCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			lastErr = fmt.Errorf("step timed out after %s: %w", common.Timeout, lastErr)
		}
		fail(lastErr)
		if c, ok := step.(steps.Canceler); ok && applied {
			// Cleanup gets its own time: the step's timeout (or the
			// interrupt) that ended it must not also stop the scancel.
			recorder.Deadline = time.Time{}
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if cerr := c.Cancel(cctx, recorder); cerr != nil {
				// Left-behind work (a job still queued) must be as visible
				// as the failure itself.
				recorder.Note("cleanup after failure failed: %v", cerr)
				rec.Error += "; cleanup failed: " + e.Redactor.Redact(cerr.Error())
			}
			cancel()
		}
		return
	}
	switch {
	case changed:
		rec.Status = report.StatusChanged
	case rec.Action == steps.NoOp.String():
		rec.Status = report.StatusUnchanged
	default:
		rec.Status = report.StatusOK
	}
	e.setResult(scope, st, outputs, changed, rec.Status)
}

func (e *Engine) checkExpected(host, step string, p steps.Proposal) error {
	if e.Expected == nil {
		return nil
	}
	action, changes, ok := e.Expected(host, step)
	if !ok {
		return nil
	}
	same := action == p.Action.String() && len(changes) == len(p.Changes)
	for i := 0; same && i < len(changes); i++ {
		same = changes[i] == p.Changes[i]
	}
	if same {
		return nil
	}
	return &steps.Failure{
		Msg:  fmt.Sprintf("the state changed since the saved plan: it planned %s %v, now %s %v", action, changes, p.Action, p.Changes),
		Hint: "someone changed the cluster during the apply; run plan again",
	}
}

// describe copies a proposal into the record, redacted: a sensitive value
// in argv must not reach plan output, plan files or reports.
func (e *Engine) describe(rec *report.Step, p steps.Proposal) {
	rec.Action = p.Action.String()
	rec.Summary = e.Redactor.Redact(p.Summary)
	rec.Changes = nil
	for _, c := range p.Changes {
		rec.Changes = append(rec.Changes, steps.Change{Field: c.Field, Current: e.Redactor.Redact(c.Current), Desired: e.Redactor.Redact(c.Desired)})
	}
	rec.Planned = nil
	for _, c := range p.Commands {
		rec.Planned = append(rec.Planned, e.Redactor.Redact(c))
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// setResult makes st's results visible to the steps that read them. Only
// a step that refers to st can read them (config rejects any other
// reference), so for a step nobody reads the value is not built: that was
// a map and an object per host and step for nothing.
func (e *Engine) setResult(scope *eval.Scope, st *config.Step, outputs map[string]cty.Value, changed bool, status string) {
	if !e.readBy[st.Name] {
		return
	}
	scope.SetResult(st.Name, stepValue(outputs, changed, status))
}

// stepValue is what other steps see as step.<name>.
func stepValue(outputs map[string]cty.Value, changed bool, status string) cty.Value {
	m := map[string]cty.Value{}
	for k, v := range outputs {
		m[k] = v
	}
	m["changed"] = cty.BoolVal(changed)
	m["status"] = cty.StringVal(status)
	m["skipped"] = cty.BoolVal(status == report.StatusSkipped)
	return cty.ObjectVal(m)
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
	for _, d := range append(append([]string(nil), st.Refs...), st.DependsOn...) {
		if pending[d] && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

func unknownSummary(refs []string) string {
	if len(refs) == 0 {
		return "known after apply"
	}
	return "known after apply: depends on step." + strings.Join(refs, ", step.")
}

// diagError keeps diagnostics readable in a report: summary and detail.
func diagError(diags hcl.Diagnostics) error {
	var parts []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		s := d.Summary
		if d.Detail != "" {
			s += ": " + d.Detail
		}
		if d.Subject != nil {
			s = d.Subject.String() + ": " + s
		}
		parts = append(parts, s)
	}
	return errors.New(strings.Join(parts, "; "))
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
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return v.GoString()
	}
	return string(b)
}

// resumable returns an earlier run's successful record of a step, with its
// results, when --resume may reuse it.
func (e *Engine) resumable(host, step string) (*report.Step, map[string]cty.Value) {
	prev, ok := e.Resume[host+"\x00"+step]
	if !ok || !prev.Succeeded() || prev.Outputs == nil {
		return nil, nil
	}
	ty, err := ctyjson.UnmarshalType(prev.Outputs.Type)
	if err != nil {
		return nil, nil
	}
	v, err := ctyjson.Unmarshal(prev.Outputs.Value, ty)
	if err != nil || !v.Type().IsObjectType() {
		return nil, nil
	}
	vals := map[string]cty.Value{}
	for k, x := range v.AsValueMap() {
		vals[k] = x
	}
	return prev, vals
}

// encodeOutputs keeps a step's results in its record (redacted).
func (e *Engine) encodeOutputs(outputs map[string]cty.Value) *report.Outputs {
	v := cty.ObjectVal(outputs)
	if !v.IsWhollyKnown() {
		return nil
	}
	ty, err := e.typeJSON(v.Type())
	if err != nil {
		return nil
	}
	// Redact the strings, not the JSON text: a secret that matches across
	// JSON punctuation (`:12` in `"b":12}`) would otherwise break the
	// document, and the whole record with it.
	v, err = cty.Transform(v, func(_ cty.Path, s cty.Value) (cty.Value, error) {
		if s.Type() == cty.String && s.IsKnown() && !s.IsNull() {
			return cty.StringVal(e.Redactor.Redact(s.AsString())), nil
		}
		return s, nil
	})
	if err != nil {
		return nil
	}
	val, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil
	}
	return &report.Outputs{Type: ty, Value: val}
}

// maxOutTypes bounds the cache of typeJSON; runbooks have a handful of
// step kinds, each with one or two output types.
const maxOutTypes = 32

// typeJSON is ctyjson.MarshalType(ty), remembered: every step of a kind
// has the same output type, and encoding it (reflection over cty's type
// tree) cost more than the step's values.
func (e *Engine) typeJSON(ty cty.Type) ([]byte, error) {
	e.cacheMu.Lock()
	for _, c := range e.outTypes {
		if c.ty.Equals(ty) {
			e.cacheMu.Unlock()
			return slices.Clone(c.json), nil
		}
	}
	e.cacheMu.Unlock()
	b, err := ctyjson.MarshalType(ty)
	if err != nil {
		return nil, err
	}
	e.cacheMu.Lock()
	if len(e.outTypes) < maxOutTypes {
		e.outTypes = append(e.outTypes, outType{ty, b})
	}
	e.cacheMu.Unlock()
	return slices.Clone(b), nil
}

// evalKind is scope.EvalKind, with the value of a constant body (no
// reference to anything, no function call: `argv = ["echo", "1"]`)
// evaluated once per run instead of once per host. Decoding a body costs
// more than its command's bookkeeping.
func (e *Engine) evalKind(scope *eval.Scope, st *config.Step) (cty.Value, hcl.Diagnostics) {
	if c, ok := e.constKinds.Load(st); ok {
		if k := c.(constKind); k.constant {
			return k.v, nil
		}
		return scope.EvalKind(st)
	}
	v, diags := scope.EvalKind(st)
	switch {
	case !constantBody(st):
		e.constKinds.Store(st, constKind{})
	case len(diags) == 0 && v.IsWhollyKnown():
		e.constKinds.Store(st, constKind{v: v, constant: true})
	}
	return v, diags
}

// constKind is what evalKind knows of a step: its value, if constant.
type constKind struct {
	v        cty.Value
	constant bool
}

// constantBody reports whether st's kind attributes evaluate to the same
// value in any context: they read no variable and call no function (a
// function may read a file). Only native syntax bodies are inspected; the
// whole body is, common attributes too, which errs on the safe side.
func constantBody(st *config.Step) bool {
	body, ok := st.Body.(*hclsyntax.Body)
	if !ok {
		return false
	}
	constant := true
	_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		switch n.(type) {
		case *hclsyntax.FunctionCallExpr, *hclsyntax.ScopeTraversalExpr:
			constant = false
		}
		return nil
	})
	return constant
}
