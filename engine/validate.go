package engine

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

// Validate checks what can be checked before any host is contacted, on a
// parsed runbook whose variables are resolved: the step graph, checklists,
// common attributes and each kind's own attributes with step results
// unknown. It is what `runbook validate` runs after parsing, and what plan
// and apply run before they contact a host.
func Validate(cfg *config.Config, vars map[string]cty.Value) hcl.Diagnostics {
	cfg, diags := Expand(cfg, vars)
	if diags.HasErrors() {
		return diags
	}
	scope, d := eval.StaticScope(cfg, vars)
	diags = append(diags, d...)
	if d.HasErrors() {
		return diags
	}
	for _, st := range cfg.Steps {
		_, d := scope.Checklist(st)
		diags = append(diags, d...)
		_, _, d = scope.EvalCommon(st)
		diags = append(diags, d...)
		val, d := scope.EvalKind(st)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if err := validateKind(st, val); err != nil {
			diags = append(diags, eval.KindError(st, err))
		}
	}
	for _, o := range cfg.Outputs {
		_, d := scope.Output(o)
		diags = append(diags, d...)
	}
	return diags
}

// validateKind runs the kind's own checks; a kind that panics is an
// internal error on its step, not a crash of validate.
func validateKind(st *config.Step, val cty.Value) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = internalError(st.Kind, p)
		}
	}()
	if v, ok := st.KindImpl.(steps.Validator); ok {
		return v.Validate(val)
	}
	if val.IsWhollyKnown() {
		_, err = st.KindImpl.Decode(val)
	}
	return err
}
