package engine

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

// Blank is the completion checklist a person would tick by hand: every
// step's lines in the engine's language, each with the step's title and
// the commands that prove it, as far as they are known before any host is
// contacted. It runs nothing.
func (e *Engine) Blank() ([]report.BlankItem, hcl.Diagnostics) {
	// A host with no variables: try(host.vars.x, default) shows the
	// commands a plain host gets; the checklist names no host.
	scope, diags := eval.NewScope(e.cfg, e.vars, eval.Host{Name: "(any host)"})
	if diags.HasErrors() {
		return nil, diags
	}
	red := e.opts.Redactor
	var items []report.BlankItem
	for _, st := range e.order {
		byLang, d := scope.Checklist(st)
		if d.HasErrors() {
			return nil, d
		}
		lines := eval.PickLanguage(byLang, e.opts.Lang)
		if len(lines) == 0 {
			continue
		}
		title := st.DefaultTitle()
		if c, _, d := scope.EvalCommon(st); !d.HasErrors() {
			title = c.Title
		}
		proof := e.proofCommands(scope, st)
		for _, line := range lines {
			items = append(items, report.BlankItem{Text: red.Redact(line), Step: st.Name, Proof: red.Redact(title), Commands: proof})
		}
	}
	return items, nil
}

// proofCommands returns the commands a step runs to prove its checklist
// lines. The step is planned against hosts that run nothing: one refuses
// every command, one answers every command with exit 0 and no output, one
// with exit 1. What the step asks of them (a check's command line, a
// kind's probe) and what it then plans to run (a create's add, a guarded
// command's command, a test job's sbatch) are its commands, in order,
// without repeats. Steps whose attributes depend on other steps' results
// give none.
func (e *Engine) proofCommands(scope *eval.Scope, st *config.Step) []string {
	common, known, diags := scope.EvalCommon(st)
	if diags.HasErrors() || !known {
		return nil
	}
	cfgVal, diags := scope.EvalKind(st)
	if diags.HasErrors() || !cfgVal.IsWhollyKnown() {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(c string) {
		if c = e.opts.Redactor.Redact(c); !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	for _, host := range []offline{{refuse: true}, {exit: 0}, {exit: 1}} {
		rec := &evidence.Recorder{Transport: host, Redactor: e.opts.Redactor, BecomeOn: common.Become, BecomeUser: common.BecomeUser}
		planned := planOffline(st, cfgVal, rec)
		for _, c := range rec.Commands() {
			add(c.Command)
		}
		for _, c := range planned {
			add(c)
		}
	}
	return out
}

// planOffline plans a step against an offline host. A kind is not written
// for answers no real host gives; whatever it makes of them (an error, or
// a panic, as in any walk), the checklist is still printed.
func planOffline(st *config.Step, cfgVal cty.Value, rec *evidence.Recorder) (planned []string) {
	defer func() { _ = recover() }()
	step, err := st.KindImpl.Decode(cfgVal)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if p, err := step.Plan(ctx, rec); err == nil {
		return p.Commands
	}
	return nil
}

// offline is a host that runs nothing.
type offline struct {
	refuse bool
	exit   int
}

var errOffline = errors.New("not connected: printing the checklist contacts no host")

func (o offline) Run(context.Context, transport.Command) (transport.Result, error) {
	if o.refuse {
		return transport.Result{}, errOffline
	}
	return transport.Result{ExitCode: o.exit}, nil
}
func (offline) Describe() string { return "offline" }
func (offline) Close() error     { return nil }
