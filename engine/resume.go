package engine

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/runbook-hpc/runbook/engine/planfile"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// --resume continues a failed or interrupted apply. Only a step that would
// run again without any probe (a test job) is carried over from the
// earlier run, with its evidence and results, labelled as coming from
// that run; every step with a probe is re-checked against the live state.
// Evidence is carried over only to an apply of the same runbook with the
// same variable values: a test job run with x=A proves nothing about x=B.
// A resume with other inputs is refused rather than half-resumed: without
// --resume the apply re-checks every probe anyway, and runs again only
// the steps that cannot be probed.

// LoadRun reads the run a --resume names (a run id or id prefix under
// root, or a run directory), through report.Load: a record from a newer
// schema is refused.
//
// A run that a later apply already resumed is refused (ErrInvalidResume,
// naming that apply): resuming it again would repeat what the resume
// already did from its evidence, such as a pending handler's restart.
func LoadRun(root, ref string) (*report.Run, error) {
	dir, err := report.Resolve(root, ref)
	if err != nil {
		return nil, err
	}
	prev, err := report.Load(dir)
	if err != nil {
		return nil, err
	}
	runs, err := report.List(root)
	if err != nil {
		return nil, err
	}
	id := filepath.Base(dir)
	if prev.ID != "" {
		id = prev.ID
	}
	for _, r := range runs {
		if r.Run != nil && r.Run.ResumeOf == id {
			return nil, fmt.Errorf("%w %s: run %s already resumed it (result: %s); resume that run instead, or apply without --resume", ErrInvalidResume, id, r.ID, r.Run.Result)
		}
	}
	return prev, nil
}

// bindInputs records what an apply is made from as a saved plan records
// it (planfile.Build): the runbook file's SHA-256 and each variable's
// digest, a salted Argon2id one for a sensitive value. A runbook not read
// from a file gets no digests, and its runs cannot be resumed.
func (e *Engine) bindInputs(r *report.Run) {
	sensitive := map[string]bool{}
	for _, v := range e.cfg.Variables {
		sensitive[v.Name] = v.Sensitive
	}
	f, err := planfile.Build(&report.Run{}, e.cfg.Filename, "", e.vars, sensitive)
	if err != nil {
		return
	}
	r.RunbookSHA256 = f.RunbookSHA256
	r.VariableDigests = make(map[string]report.VariableDigest, len(f.Variables))
	for name, v := range f.Variables {
		r.VariableDigests[name] = report.VariableDigest{Sensitive: v.Sensitive, SHA256: v.SHA256, Argon2id: v.Argon2id}
	}
}

// resumable reports why prev cannot be resumed by this apply, or nil: it
// must be a failed or interrupted apply of the same runbook file, made
// with the same variable values. The message names what differs, never a
// value.
func (e *Engine) resumable(prev *report.Run) error {
	if name := e.cfg.Runbook.Name; prev.Runbook != name {
		return fmt.Errorf("that run is of runbook %q, not %q", prev.Runbook, name)
	}
	if prev.Mode != string(ModeApply) {
		return fmt.Errorf("that run is a %s, not an apply", prev.Mode)
	}
	switch prev.Result {
	case ResultFailed, ResultInterrupted:
	case ResultRunning:
		// A record left "running" is of an apply that was killed.
	default:
		return fmt.Errorf("that run's result is %s: only a failed or interrupted apply can be resumed; apply again without --resume", prev.Result)
	}
	const advice = "its evidence is carried over only to an apply of the same runbook with the same variable values; apply without --resume (every step with a probe is re-checked either way)"
	if prev.RunbookSHA256 == "" {
		return fmt.Errorf("that run recorded no digest of its runbook and variables, so nothing shows it was made from the same ones; %s", advice)
	}
	if now, err := planfile.FileSHA256(e.cfg.Filename); err != nil || now != prev.RunbookSHA256 {
		return fmt.Errorf("the runbook %s changed since that run; %s", e.cfg.Filename, advice)
	}
	switch differ := e.variablesDiffering(prev.VariableDigests); len(differ) {
	case 0:
	case 1:
		return fmt.Errorf("the value of %s differs from that run's; %s", differ[0], advice)
	default:
		return fmt.Errorf("the values of %s differ from that run's; %s", strings.Join(differ, ", "), advice)
	}
	return nil
}

// variablesDiffering names the variables whose value differs from the
// digests of an earlier run ("var.pw (sensitive)"), as a saved plan's
// variables are checked (planfile.File.CheckVariables), one at a time so
// that each is named in words of its own.
func (e *Engine) variablesDiffering(digests map[string]report.VariableDigest) []string {
	names := map[string]bool{}
	for n := range digests {
		names[n] = true
	}
	for n := range e.vars {
		names[n] = true
	}
	var differ []string
	for n := range names {
		d, then := digests[n]
		_, now := e.vars[n]
		one := planfile.File{Variables: map[string]planfile.Variable{n: {Sensitive: d.Sensitive, SHA256: d.SHA256, Argon2id: d.Argon2id}}}
		if then != now || len(one.CheckVariables(e.vars)) > 0 {
			if d.Sensitive {
				n += " (sensitive)"
			}
			differ = append(differ, "var."+n)
		}
	}
	sort.Strings(differ)
	return differ
}

// resumed is an earlier run's step records, by host and step.
type resumed struct {
	runID string
	steps map[stepKey]*report.Step
}

// pendingHandler returns the run that left handler k notified but not
// run, or "".
func (r *resumed) pendingHandler(k stepKey) string {
	if r == nil {
		return ""
	}
	if prev, ok := r.steps[k]; ok && prev.HandlerPending {
		return r.runID
	}
	return ""
}

// CheckResume says whether an apply of this engine's runbook and values
// may resume prev (ErrInvalidResume, saying why, when not). Apply checks
// it again; a caller checks it first to refuse before it shows a plan.
func (e *Engine) CheckResume(prev *report.Run) error {
	if err := e.resumable(prev); err != nil {
		return fmt.Errorf("%w %s: %w", ErrInvalidResume, prev.ID, err)
	}
	return nil
}

// resumeFrom checks that prev can be resumed by this apply
// (ErrInvalidResume, saying why, when not).
func (e *Engine) resumeFrom(prev *report.Run) (*resumed, error) {
	if err := e.CheckResume(prev); err != nil {
		return nil, err
	}
	r := &resumed{runID: prev.ID, steps: map[stepKey]*report.Step{}}
	for _, h := range prev.Hosts {
		for _, st := range h.Steps {
			r.steps[stepKey{h.Name, st.Name}] = st
		}
	}
	return r, nil
}

// step returns the earlier run's successful record of a step, with its
// results, when it may be reused.
func (r *resumed) step(k stepKey) (*report.Step, map[string]cty.Value) {
	if r == nil {
		return nil, nil
	}
	prev, ok := r.steps[k]
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

// carryOver takes a run-only step's result from the resumed run, if it
// completed there; it reports whether it did.
func (r *stepRun) carryOver(p steps.Proposal) bool {
	prev, vals := r.resume.step(stepKey{r.hostWalk.rec.Name, r.st.Name})
	if prev == nil {
		return false
	}
	r.describe(p)
	r.carried, r.outputs = prev, vals
	r.rec.Status, r.rec.Changed, r.rec.ResumedFrom = prev.Status, prev.Changed, r.resume.runID
	r.rec.Summary = "resumed: " + prev.Summary + " (in run " + r.resume.runID + ")"
	if prev.ResumedFrom != "" {
		// Resumed twice: the evidence, and what it said, are still the
		// first run's.
		r.rec.ResumedFrom, r.rec.Summary = prev.ResumedFrom, prev.Summary
	}
	r.setResult(vals, prev.Changed, prev.Status)
	return true
}
