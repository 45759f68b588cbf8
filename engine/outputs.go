package engine

import (
	"errors"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Step results: what other steps see as step.NAME.* and what the record
// keeps of them (report.Outputs, read back by --resume).

// outType is a cty type with its JSON encoding (report.Outputs.Type).
type outType struct {
	ty   cty.Type
	json []byte
}

func ctyjsonMarshal(v cty.Value) ([]byte, error) { return ctyjson.Marshal(v, v.Type()) }

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
			return cty.StringVal(e.opts.Redactor.Redact(s.AsString())), nil
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
// function may read a file). each.* counts as constant: an instance's
// each is fixed, and the cache is per instance. The common attributes
// (when, for_each, notify, …) are not the kind's and are left out. Only
// native syntax bodies are inspected.
func constantBody(st *config.Step) bool {
	body, ok := st.Body.(*hclsyntax.Body)
	if !ok {
		return false
	}
	constant := true
	visit := func(n hclsyntax.Node) hcl.Diagnostics {
		switch n := n.(type) {
		case *hclsyntax.FunctionCallExpr:
			constant = false
		case *hclsyntax.ScopeTraversalExpr:
			if n.Traversal.RootName() != "each" {
				constant = false
			}
		}
		return nil
	}
	for name, attr := range body.Attributes {
		if slices.Contains(config.CommonAttributes, name) {
			continue
		}
		_ = hclsyntax.VisitAll(attr.Expr, visit)
	}
	for _, b := range body.Blocks {
		_ = hclsyntax.VisitAll(b.Body, visit)
	}
	return constant
}
