// Package eval evaluates a parsed runbook for one host: locals, the
// common step attributes and each kind's own attributes. Values that only
// apply can produce (results of steps not yet run) are cty unknowns, so a
// plan can say "known after apply" instead of guessing.
package eval

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/facts"
	"github.com/runbook-hpc/runbook/engine/lang"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Host is what a runbook can read about its target as host.*.
type Host struct {
	Name    string
	Address string
	User    string
	Vars    map[string]cty.Value
	// Facts is host.facts (facts.Facts.Value()); cty.NilVal when they were
	// not gathered (nothing reads them), which reads as unknown.
	Facts cty.Value
}

func (h Host) value() cty.Value {
	vars := cty.EmptyObjectVal
	if len(h.Vars) > 0 {
		vars = cty.ObjectVal(h.Vars)
	}
	facts := h.Facts
	if facts == cty.NilVal {
		// Unknown but typed: host.facts.os.famly is an error at validate.
		facts = cty.UnknownVal(factsType)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name":    cty.StringVal(h.Name),
		"address": cty.StringVal(h.Address),
		"user":    cty.StringVal(h.User),
		"vars":    vars,
		"facts":   facts,
	})
}

// factsType is host.facts' type, known before any facts are gathered.
var factsType = facts.Type()

// Scope holds everything expressions of one host's run can see.
type Scope struct {
	cfg    *config.Config
	vars   cty.Value
	locals map[string]cty.Value
	host   cty.Value
	// steps holds each step's results once known; absent means unknown.
	steps  map[string]cty.Value
	funcs  map[string]function.Function
	cached *hcl.EvalContext
	// base is var, local, host and runbook for contextFor; unlike cached
	// it survives SetResult.
	base map[string]cty.Value
	// mods are each module call's variables and locals.
	mods map[*config.ModuleCall]*moduleScope
}

// NewScope evaluates locals (and each module's inputs and locals) for
// host and returns the scope steps run in.
func NewScope(cfg *config.Config, vars map[string]cty.Value, host Host) (*Scope, hcl.Diagnostics) {
	return newScope(cfg, vars, host.value())
}

// StaticScope is a scope with no host, for what must be known before any
// host is contacted (checklists, validation).
func StaticScope(cfg *config.Config, vars map[string]cty.Value) (*Scope, hcl.Diagnostics) {
	// Which host, and its variables, are known only once one is chosen:
	// host.vars.x must validate whatever inventory is used later.
	return newScope(cfg, vars, cty.ObjectVal(map[string]cty.Value{
		"name": cty.UnknownVal(cty.String), "address": cty.UnknownVal(cty.String),
		"user": cty.UnknownVal(cty.String), "vars": cty.DynamicVal, "facts": cty.UnknownVal(factsType),
	}))
}

func newScope(cfg *config.Config, vars map[string]cty.Value, host cty.Value) (*Scope, hcl.Diagnostics) {
	s := &Scope{
		cfg:    cfg,
		vars:   objectOrEmpty(vars),
		locals: map[string]cty.Value{},
		host:   host,
		steps:  map[string]cty.Value{},
		funcs:  lang.Functions(filepath.Dir(cfg.Filename)),
		mods:   map[*config.ModuleCall]*moduleScope{},
	}
	diags := s.evalLocals(cfg.Locals, s.locals, func() *hcl.EvalContext { return s.plainContext(nil) })
	if diags.HasErrors() {
		return s, diags
	}
	s.cached, s.base = nil, nil
	// Parents come before the modules they call (config.Config.Modules).
	for _, call := range cfg.Modules {
		diags = append(diags, s.evalModule(call)...)
		if diags.HasErrors() {
			return s, diags
		}
	}
	return s, diags
}

// moduleScope is what a module's expressions see as var and local.
type moduleScope struct {
	vars   cty.Value
	locals map[string]cty.Value
	base   map[string]cty.Value
	funcs  map[string]function.Function
}

// evalModule sets a module's variables from the call's inputs (evaluated
// where the call is written), checks their types and validations, and
// evaluates the module's locals.
func (s *Scope) evalModule(call *config.ModuleCall) hcl.Diagnostics {
	var diags hcl.Diagnostics
	parent := s.plainContext(call.Parent)
	vals := map[string]cty.Value{}
	for _, v := range call.Variables {
		val := v.Default
		attr, given := call.Inputs[v.Name]
		if given {
			var d hcl.Diagnostics
			val, d = attr.Expr.Value(parent)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			conv, err := convert.Convert(val, v.Type)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid value for module input",
					Detail:   fmt.Sprintf("Module %q: the value of %s does not match its variable's type %s: %s.", call.Name, v.Name, v.Type.FriendlyName(), err),
					Subject:  attr.Expr.Range().Ptr(),
				})
				continue
			}
			val = conv
		}
		if val == cty.NilVal {
			val = cty.NullVal(v.Type)
		}
		vals[v.Name] = val
	}
	if diags.HasErrors() {
		return diags
	}
	m := &moduleScope{vars: objectOrEmpty(vals), locals: map[string]cty.Value{}}
	s.mods[call] = m
	for _, v := range call.Variables {
		for _, val := range v.Validations {
			ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": m.vars}, Functions: s.funcsOf(call)}
			ok, d := val.Condition.Value(ctx)
			if d.HasErrors() || !ok.IsKnown() || ok.IsNull() || ok.Type() != cty.Bool || ok.True() {
				diags = append(diags, d...)
				continue
			}
			msg, _ := val.ErrorMessage.Value(ctx)
			detail := "The value is not valid."
			if msg.Type() == cty.String && msg.IsKnown() && !msg.IsNull() {
				detail = msg.AsString()
			}
			subject := val.DeclRange
			if attr, given := call.Inputs[v.Name]; given {
				subject = attr.Expr.Range()
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Invalid value for module %q input %s", call.Name, v.Name),
				Detail:   detail,
				Subject:  subject.Ptr(),
			})
		}
	}
	if diags.HasErrors() {
		return diags
	}
	return s.evalLocals(call.Locals, m.locals, func() *hcl.EvalContext { return s.plainContext(call) })
}

// plainContext is var, local, host and runbook of a namespace (the
// runbook's for nil): what locals, module inputs and for_each see.
func (s *Scope) plainContext(call *config.ModuleCall) *hcl.EvalContext {
	return &hcl.EvalContext{Variables: s.baseOf(call), Functions: s.funcsOf(call)}
}

// baseOf is var, local, host and runbook of a namespace, cached.
func (s *Scope) baseOf(call *config.ModuleCall) map[string]cty.Value {
	if call == nil {
		if s.base == nil {
			s.base = map[string]cty.Value{
				"var":     s.vars,
				"local":   objectOrEmpty(s.locals),
				"host":    s.host,
				"runbook": s.runbookValue(),
			}
		}
		return s.base
	}
	m := s.mods[call]
	if m == nil {
		// Not evaluated (its inputs failed): everything unknown.
		return map[string]cty.Value{"var": cty.DynamicVal, "local": cty.DynamicVal, "host": s.host, "runbook": s.runbookValue()}
	}
	if m.base == nil {
		m.base = map[string]cty.Value{
			"var":     m.vars,
			"local":   objectOrEmpty(m.locals),
			"host":    s.host,
			"runbook": s.runbookValue(),
		}
	}
	return m.base
}

// localName is how a step of call's namespace is written there: the
// address without the module prefix.
func localName(call *config.ModuleCall, base string) string {
	if call == nil {
		return base
	}
	return strings.TrimPrefix(base, call.Prefix+"step.")
}

// moduleValue is module.NAME as the calling namespace sees it: an object
// of the module's outputs, each evaluated with the module's own var,
// local, steps and modules; an output not known yet (or failing) is
// unknown.
func (s *Scope) moduleValue(call *config.ModuleCall) cty.Value {
	outs := make(map[string]cty.Value, len(call.Outputs))
	for _, o := range call.Outputs {
		v, diags := o.Value.Value(s.namespaceContext(call, o.Refs, o.ModuleRefs))
		if diags.HasErrors() {
			v = cty.DynamicVal
		}
		outs[o.Name] = v
	}
	return objectOrEmpty(outs)
}

// namespaceContext is a namespace's var, local, host and runbook with the
// given steps (addresses) and module calls as step.* and module.*.
func (s *Scope) namespaceContext(call *config.ModuleCall, stepBases []string, mods []*config.ModuleCall) *hcl.EvalContext {
	base := s.baseOf(call)
	vars := make(map[string]cty.Value, len(base)+3)
	for k, v := range base {
		vars[k] = v
	}
	stepVals := make(map[string]cty.Value, len(stepBases))
	for _, b := range stepBases {
		if blk := s.cfg.Block(b); blk == nil || blk.Module != call {
			continue // a step behind a module output: read through module.*
		}
		stepVals[localName(call, b)] = s.stepValue(b)
	}
	vars["step"] = objectOrEmpty(stepVals)
	if len(mods) > 0 {
		mv := make(map[string]cty.Value, len(mods))
		for _, m := range mods {
			mv[m.Name] = s.moduleValue(m)
		}
		vars["module"] = cty.ObjectVal(mv)
	}
	return &hcl.EvalContext{Variables: vars, Functions: s.funcsOf(call)}
}

// funcsOf are the functions of a namespace: file() and templatefile()
// read relative to the module's own directory, as Terraform's
// path.module does.
func (s *Scope) funcsOf(call *config.ModuleCall) map[string]function.Function {
	if call == nil {
		return s.funcs
	}
	m := s.mods[call]
	if m == nil {
		return lang.Functions(call.Dir)
	}
	if m.funcs == nil {
		m.funcs = lang.Functions(call.Dir)
	}
	return m.funcs
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// evalLocals evaluates locals in dependency order into into; locals may
// refer to each other, so it repeats passes until nothing new resolves.
func (s *Scope) evalLocals(locals []*config.Local, into map[string]cty.Value, ctx func() *hcl.EvalContext) hcl.Diagnostics {
	pending := append([]*config.Local(nil), locals...)
	for len(pending) > 0 {
		var next []*config.Local
		for _, l := range pending {
			ready := true
			for _, tr := range l.Expr.Variables() {
				if tr.RootName() == "local" && len(tr) > 1 {
					if a, ok := tr[1].(hcl.TraverseAttr); ok {
						if _, done := into[a.Name]; !done {
							ready = false
						}
					}
				}
			}
			if !ready {
				next = append(next, l)
				continue
			}
			v, diags := l.Expr.Value(ctx())
			if diags.HasErrors() {
				return diags
			}
			into[l.Name] = v
			s.cached, s.base = nil, nil
			for _, m := range s.mods {
				m.base = nil
			}
		}
		if len(next) == len(pending) {
			names := make([]string, len(next))
			for i, l := range next {
				names[i] = "local." + l.Name
			}
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Local values refer to each other in a cycle",
				Detail:   "None of these can be computed first: " + strings.Join(names, ", ") + ".",
				Subject:  next[0].Expr.Range().Ptr(),
			}}
		}
		pending = next
	}
	return nil
}

// Context builds the evaluation context; self, when not nil, is the
// current step's own results (for until). The context is cached and
// rebuilt only when a step result or local changes: rebuilding the object
// of every step for every expression made validating a 4,000-step
// runbook take 16 s.
func (s *Scope) Context(self *cty.Value) *hcl.EvalContext {
	if s.cached == nil {
		var bases []string
		for _, st := range s.cfg.Steps {
			if st.Module == nil {
				bases = append(bases, st.Base)
			}
		}
		var calls []*config.ModuleCall
		for _, m := range s.cfg.Modules {
			if m.Parent == nil {
				calls = append(calls, m)
			}
		}
		s.cached = s.namespaceContext(nil, bases, calls)
	}
	if self == nil {
		return s.cached
	}
	vars := make(map[string]cty.Value, len(s.cached.Variables)+1)
	for k, v := range s.cached.Variables {
		vars[k] = v
	}
	vars["self"] = *self
	return &hcl.EvalContext{Variables: vars, Functions: s.funcs}
}

func (s *Scope) runbookValue() cty.Value {
	name, title := "", ""
	if s.cfg.Runbook != nil {
		name, title = s.cfg.Runbook.Name, s.cfg.Runbook.Title
	}
	return cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name), "title": cty.StringVal(title)})
}

// stepValue is what expressions see as step.<base>: the step's results
// (unknown until set), or for a for_each step an object of its instances'
// results by key, as Terraform shows a resource with for_each.
func (s *Scope) stepValue(base string) cty.Value {
	insts, forEach := s.cfg.Instances(base)
	if !forEach {
		if v, ok := s.steps[base]; ok {
			return v
		}
		return cty.DynamicVal
	}
	m := make(map[string]cty.Value, len(insts))
	for _, i := range insts {
		if v, ok := s.steps[i.Name]; ok {
			m[i.Key] = v
		} else {
			m[i.Key] = cty.DynamicVal
		}
	}
	return cty.ObjectVal(m)
}

// SetResult makes a step's results visible to later steps.
func (s *Scope) SetResult(step string, v cty.Value) {
	s.steps[step] = v
	s.cached = nil
}

// contextFor is the context of st's own expressions: the cached var,
// local, host and runbook, and a step object holding only the steps st
// refers to (config checked that it refers to no other). Context's object
// of every step is rebuilt after each SetResult, which made a run of n
// steps that all produce results O(n²); this is O(refs) per step.
func (s *Scope) contextFor(st *config.Step, self *cty.Value) *hcl.EvalContext {
	ctx := s.namespaceContext(st.Module, st.RefBases, st.ModuleRefs)
	if st.Each != cty.NilVal {
		ctx.Variables["each"] = st.Each
	}
	if self != nil {
		ctx.Variables["self"] = *self
	}
	return ctx
}

// UnknownRefs lists the steps st reads whose results are not known yet.
func (s *Scope) UnknownRefs(st *config.Step) []string {
	var out []string
	for _, r := range st.Refs {
		if v, ok := s.steps[r]; !ok || !v.IsWhollyKnown() {
			out = append(out, r)
		}
	}
	return out
}

// Common are a step's evaluated common attributes.
type Common struct {
	Title  string
	When   bool
	Become bool
	// BecomeUser is who Become runs commands as (root when empty); setting
	// it implies Become.
	BecomeUser string
	Timeout    time.Duration
	Retries    int
	Delay      time.Duration
}

// EvalCommon evaluates the attributes every step has. known is false when
// when/become/... depend on results not available yet (in a plan).
func (s *Scope) EvalCommon(st *config.Step) (c Common, known bool, diags hcl.Diagnostics) {
	c = Common{Title: st.DefaultTitle(), When: true, Delay: time.Second}
	ctx := s.contextFor(st, nil)
	known = true
	get := func(e hcl.Expression, ty cty.Type, name string) (cty.Value, bool) {
		if e == nil {
			return cty.NilVal, false
		}
		v, d := e.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			return cty.NilVal, false
		}
		v, err := convert.Convert(v, ty)
		if err != nil {
			diags = append(diags, attrDiag(st, name, fmt.Sprintf("%s must be %s: %s.", name, ty.FriendlyName(), err)))
			return cty.NilVal, false
		}
		if !v.IsKnown() {
			known = false
			return cty.NilVal, false
		}
		if v.IsNull() {
			return cty.NilVal, false
		}
		return v, true
	}
	if v, ok := get(st.Title, cty.String, "title"); ok {
		c.Title = v.AsString()
	}
	if v, ok := get(st.When, cty.Bool, "when"); ok {
		c.When = v.True()
	}
	if v, ok := get(st.Become, cty.Bool, "become"); ok {
		c.Become = v.True()
	}
	if v, ok := get(st.BecomeUser, cty.String, "become_user"); ok {
		switch u := v.AsString(); {
		case !validUser(u):
			diags = append(diags, attrDiag(st, "become_user", fmt.Sprintf("become_user must be a user name or #UID (letters, digits, . _ -), not %q.", u)))
		case st.Become != nil && !c.Become:
			diags = append(diags, attrDiag(st, "become_user", "become_user runs the step through sudo, so become cannot be false with it; leave become out."))
		default:
			c.Become, c.BecomeUser = true, u
		}
	}
	if v, ok := get(st.Retries, cty.Number, "retries"); ok {
		if err := gocty.FromCtyValue(v, &c.Retries); err != nil || c.Retries < 0 || c.Retries > MaxRetries {
			diags = append(diags, attrDiag(st, "retries", fmt.Sprintf("retries must be a whole number from 0 to %d, not %s.", MaxRetries, v.AsBigFloat().Text('g', -1))))
			c.Retries = 0
		}
	}
	for _, d := range []struct {
		name string
		expr hcl.Expression
		dst  *time.Duration
		min  time.Duration
		max  time.Duration
	}{
		// A zero timeout would silently mean none: leaving it out says so.
		{"timeout", st.Timeout, &c.Timeout, 1, MaxTimeout},
		{"delay", st.Delay, &c.Delay, 0, MaxDelay},
	} {
		if v, ok := get(d.expr, cty.String, d.name); ok {
			dur, err := ParseDuration(v.AsString())
			if err != nil {
				diags = append(diags, attrDiag(st, d.name, fmt.Sprintf("%s: %s", d.name, err)))
				continue
			}
			if dur < d.min || dur > d.max {
				limit := fmt.Sprintf("at most %s", d.max)
				if d.min > 0 {
					limit = "more than 0s and " + limit + " (leave it out for no bound on the step)"
				}
				diags = append(diags, attrDiag(st, d.name, fmt.Sprintf("%s must be %s, not %s.", d.name, limit, dur)))
				continue
			}
			*d.dst = dur
		}
	}
	return c, known, diags
}

// Bounds on the common attributes. A value past them is a typo or a
// misunderstanding (retries = 1e12 would retry for ever, timeout = 1e9 is
// 31 years), so it is refused when the runbook is validated or planned
// rather than discovered during an apply.
const (
	// MaxRetries: every try runs the step's commands again and keeps their
	// evidence in the run record; 1000 tries at the default 1s delay is
	// about 17 minutes of polling, at delay = "1m" about 17 hours. A longer
	// wait is a longer delay, not more tries.
	MaxRetries = 1000
	// MaxTimeout: the longest step worth bounding is a test job or burn-in
	// of a few days; a week leaves room for that while still catching a
	// number of seconds mistaken for something else.
	MaxTimeout = 7 * 24 * time.Hour
	// MaxDelay: a pause of more than an hour between tries is a schedule,
	// not a retry, and with MaxRetries it already spans 41 days.
	MaxDelay = time.Hour
)

// ParseDuration reads "30s", "5m", "1h30m" or a bare number of seconds.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	var secs float64
	if _, err := fmt.Sscanf(s, "%g", &secs); err == nil && strconv.FormatFloat(secs, 'f', -1, 64) == s && secs >= 0 && secs*float64(time.Second) < 1<<63 {
		return time.Duration(secs * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("%q is not a duration; write it like \"30s\", \"5m\" or \"1h30m\"", s)
}

// EvalUntil evaluates a step's until condition against its own results.
func (s *Scope) EvalUntil(st *config.Step, self cty.Value) (bool, hcl.Diagnostics) {
	if st.Until == nil {
		return true, nil
	}
	v, diags := st.Until.Value(s.contextFor(st, &self))
	if diags.HasErrors() {
		return false, diags
	}
	v, err := convert.Convert(v, cty.Bool)
	if err != nil || v.IsNull() || !v.IsKnown() {
		return false, hcl.Diagnostics{attrDiag(st, "until", "until must be true or false.")}
	}
	return v.True(), nil
}

// EvalKind evaluates the kind's own attributes. The result may hold
// unknowns during a plan; callers check IsWhollyKnown.
func (s *Scope) EvalKind(st *config.Step) (cty.Value, hcl.Diagnostics) {
	return hcldec.Decode(st.Body, st.Spec(), s.contextFor(st, nil))
}

// Checklist evaluates a step's checklist lines in every language given.
// A checklist is a string, a list of strings, or a map from a language
// code to either ("en", "ko"); lines without a language are "en".
func (s *Scope) Checklist(st *config.Step) (map[string][]string, hcl.Diagnostics) {
	if st.Checklist == nil {
		return nil, nil
	}
	for _, tr := range st.Checklist.Variables() {
		if r := tr.RootName(); r != "var" && r != "local" && r != "runbook" && r != "each" {
			return nil, hcl.Diagnostics{attrDiag(st, "checklist", "checklist lines are printed before any host is contacted, so they may only use var, local, runbook and each.")}
		}
	}
	v, diags := st.Checklist.Value(s.contextFor(st, nil))
	if diags.HasErrors() {
		return nil, diags
	}
	bad := hcl.Diagnostics{attrDiag(st, "checklist", `checklist is a string, a list of strings, or a map of language to those, like { en = "...", ko = "..." }.`)}
	lines := func(v cty.Value) ([]string, bool) {
		if v.IsNull() || !v.IsWhollyKnown() {
			return nil, false
		}
		if v.Type() == cty.String {
			return []string{v.AsString()}, true
		}
		if !v.Type().IsListType() && !v.Type().IsTupleType() {
			return nil, false
		}
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			e, err := convert.Convert(e, cty.String)
			if err != nil || e.IsNull() {
				return nil, false
			}
			out = append(out, e.AsString())
		}
		return out, true
	}
	if l, ok := lines(v); ok {
		return map[string][]string{"en": l}, nil
	}
	if !v.Type().IsObjectType() && !v.Type().IsMapType() {
		return nil, bad
	}
	out := map[string][]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		l, ok := lines(e)
		if !ok {
			return nil, bad
		}
		out[k.AsString()] = l
	}
	return out, nil
}

// PickLanguage returns the lines for lang, falling back to English, then
// to the first language in alphabetical order.
func PickLanguage(byLang map[string][]string, lang string) []string {
	if l, ok := byLang[lang]; ok {
		return l
	}
	if l, ok := byLang["en"]; ok {
		return l
	}
	keys := make([]string, 0, len(byLang))
	for k := range byLang {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return nil
	}
	return byLang[keys[0]]
}

func attrDiag(st *config.Step, attr, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid %s in step %q", attr, st.Name),
		Detail:   detail,
		Subject:  st.AttrRange(attr).Ptr(),
	}
}

// KindError turns a kind's decode error into a diagnostic on the attribute
// it names.
func KindError(st *config.Step, err error) *hcl.Diagnostic {
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid step %q", st.Name),
		Detail:   err.Error(),
		Subject:  st.DeclRange.Ptr(),
	}
	if attr, ok := asAttrError(err); ok {
		d.Subject = st.AttrRange(attr).Ptr()
	}
	return d
}

// validUser: a name sudo -u takes without surprises (no option, no
// space), or #UID.
func validUser(u string) bool {
	if u == "" || len(u) > 64 || u[0] == '-' {
		return false
	}
	for i, r := range u {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.':
		case r == '-' && i > 0:
		case r == '#' && i == 0 && len(u) > 1:
		default:
			return false
		}
	}
	return true
}

// ForEach evaluates a step's for_each into its instances. It runs in a
// scope with no host (StaticScope): every host runs the same instances,
// so keys only a host or an apply can give are an error naming what is
// unknown, as in Terraform.
func (s *Scope) ForEach(st *config.Step) ([]config.Instance, hcl.Diagnostics) {
	ctx := s.plainContext(st.Module)
	v, diags := st.ForEach.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	insts, err := config.ForEachKeys(v)
	if err == nil {
		return insts, nil
	}
	detail := err.Error() + "."
	if !v.IsWhollyKnown() {
		var unknown []string
		for _, tr := range st.ForEach.Variables() {
			if tv, d := tr.TraverseAbs(ctx); !d.HasErrors() && !tv.IsWhollyKnown() {
				unknown = append(unknown, traversalString(tr))
			}
		}
		detail = "The keys of for_each must be known before any host is contacted (they may use var and local), so that plan can show every instance."
		if len(unknown) > 0 {
			detail += " Unknown here: " + strings.Join(unknown, ", ") + "."
		}
	}
	return nil, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid for_each in step %q", st.Name),
		Detail:   detail,
		Subject:  st.AttrRange("for_each").Ptr(),
	}}
}

// traversalString writes a traversal as a runbook would: local.keys,
// var.qos["a"].
func traversalString(tr hcl.Traversal) string {
	var b strings.Builder
	for _, t := range tr {
		switch t := t.(type) {
		case hcl.TraverseRoot:
			b.WriteString(t.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + t.Name)
		case hcl.TraverseIndex:
			if t.Key.Type() == cty.String {
				b.WriteString("[" + strconv.Quote(t.Key.AsString()) + "]")
			} else {
				b.WriteString("[…]")
			}
		}
	}
	return b.String()
}

// Output evaluates an output block's value with every step's results as
// known so far.
func (s *Scope) Output(o *config.Output) (cty.Value, hcl.Diagnostics) {
	return o.Value.Value(s.Context(nil))
}
