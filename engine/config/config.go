// Package config parses a runbook file into a Config: the first stage of
// runbook file → parsed config → graph → plan → apply → report. Parsing
// never evaluates step attributes; it only records expressions and the
// references between steps, found with expr.Variables().
package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/runbook-hpc/runbook/engine/hcllimits"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Config is one parsed runbook.
type Config struct {
	Filename  string
	Runbook   *Runbook
	Variables []*Variable
	Locals    []*Local
	// Steps in declaration order; declaration order breaks ties in the graph.
	// In an expanded config (Expand) they are the step instances in the
	// order they run.
	Steps  []*Step
	byName map[string]*Step
	// Outputs are the `output` blocks: values shown after plan and apply.
	Outputs []*Output
	// Modules are every module call, a call before the calls inside it;
	// their steps are in Steps, addressed module.NAME.step.STEP.
	Modules []*ModuleCall
	// instances maps a step block's name to its instances, in an expanded
	// config; nil before Expand.
	instances map[string][]*Step
	forEach   map[string]bool
	// blocks are the step blocks by address, in an expanded config.
	blocks map[string]*Step
	// Parser holds the sources, for rendering diagnostics with snippets.
	Parser *hclparse.Parser
}

// Runbook is the `runbook "name" { ... }` block.
type Runbook struct {
	Name        string
	Title       string
	Description string
	// Hosts selects targets: a group, a host, or a list of them.
	Hosts     []string
	DeclRange hcl.Range
}

// Variable is a `variable "name" { ... }` block, with Terraform's semantics.
type Variable struct {
	Name        string
	Description string
	Type        cty.Type
	Default     cty.Value // cty.NilVal when the variable is required
	Sensitive   bool
	Validations []*Validation
	DeclRange   hcl.Range
	// cliExpr is true when a --var or RUNBOOK_VAR_ value is read as an HCL
	// expression rather than taken as text: as in Terraform, for a type
	// that is neither a string, a number nor a bool (so `any` too), while
	// a variable with no type takes its value as text.
	cliExpr bool
}

// Validation is a condition on a variable's value, evaluated with only
// `var` in scope.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

// Local is one attribute of a `locals { }` block.
type Local struct {
	Name string
	Expr hcl.Expression
}

// Output is an `output "name" { value = ... }` block: a named value shown
// after plan and apply and kept in the run record, so a read-only runbook
// can show its answers.
type Output struct {
	Name        string
	Description string
	Value       hcl.Expression
	Sensitive   bool
	// Refs are the steps the value reads (step block addresses), sorted,
	// through module outputs too.
	Refs []string
	// ModuleRefs are the module calls whose outputs the value reads.
	ModuleRefs []*ModuleCall
	DeclRange  hcl.Range
}

// Step is one `step "kind" "name" { ... }` block, or (in an expanded
// config) one instance of it.
type Step struct {
	Kind string
	// Name is the step's address: the block's name, or for an instance of
	// a for_each step NAME["key"].
	Name string
	// Base is the block's name (Name without the instance key), with the
	// module prefix of a step inside a module: module.NAME.step.STEP.
	Base string
	// LocalName is the name as written in the step block.
	LocalName string
	// Module is the module call the step comes from; nil in the runbook
	// itself. Its expressions see the module's var, local and step.
	Module *ModuleCall
	// ModuleRefs are the module calls (of the step's own namespace) whose
	// outputs the step reads as module.NAME.OUTPUT.
	ModuleRefs []*ModuleCall
	KindImpl   steps.Kind
	// ForEach makes one instance of the step per key of a map or element
	// of a set of strings; nil for a single step.
	ForEach hcl.Expression
	// Each is each.key and each.value of an instance (an object), or
	// cty.NilVal for a step without for_each.
	Each cty.Value
	// Key is the instance key ("" without for_each).
	Key string
	// Notify names the steps (handlers) this one notifies when it changes.
	Notify []string
	// Handler: some step notifies this one. It runs after them, and only
	// when one of them changed (or, in a plan, will change).
	Handler bool
	// NotifiedBy are the instance addresses that notify this handler
	// instance (expanded config only).
	NotifiedBy []string
	// BecomeUser runs the step's commands as this user through sudo.
	BecomeUser hcl.Expression
	Title      hcl.Expression
	Checklist  hcl.Expression
	When       hcl.Expression
	Become     hcl.Expression
	Timeout    hcl.Expression
	Retries    hcl.Expression
	Delay      hcl.Expression
	Until      hcl.Expression
	// DependsOn names steps that must run first although nothing is
	// referenced from them.
	DependsOn []string
	// Body holds the kind's own attributes, decoded with Spec().
	Body hcl.Body
	// Refs are the steps this one reads (step.<name>.…), sorted: block
	// names when parsed, instance addresses in an expanded config.
	Refs []string
	// RefBases are the block names Refs come from (what step.<name> is
	// built from in an expression's scope).
	RefBases  []string
	DeclRange hcl.Range
	// attrRanges lets a kind's AttrError point at the attribute's line.
	attrRanges map[string]hcl.Range
	// spec is KindImpl.Spec(), built once at parse time: the body is
	// decoded with it for every host, and kinds build a fresh spec per call.
	spec hcldec.ObjectSpec
}

// DefaultTitle is the title of a step that sets none: "KIND NAME".
func (s *Step) DefaultTitle() string { return steps.DefaultTitle(s.Kind, s.Name) }

// Spec returns the spec the step's Body is decoded with (KindImpl.Spec()).
// It is shared: callers must not modify it.
func (s *Step) Spec() hcldec.ObjectSpec {
	if s.spec != nil {
		return s.spec
	}
	return s.KindImpl.Spec()
}

// AttrRange returns where attribute name is written, or the block itself.
func (s *Step) AttrRange(name string) hcl.Range {
	if r, ok := s.attrRanges[name]; ok {
		return r
	}
	return s.DeclRange
}

// Step returns the step called name, or nil.
func (c *Config) Step(name string) *Step { return c.byName[name] }

// Variable returns the variable called name, or nil.
func (c *Config) Variable(name string) *Variable {
	for _, v := range c.Variables {
		if v.Name == name {
			return v
		}
	}
	return nil
}

var topSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "runbook", LabelNames: []string{"name"}},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "step", LabelNames: []string{"kind", "name"}},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: "module", LabelNames: []string{"name"}},
	},
}

// moduleFileSchema is what a module's files hold: a runbook without its
// runbook block.
var moduleFileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "step", LabelNames: []string{"kind", "name"}},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: "module", LabelNames: []string{"name"}},
	},
}

var outputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "value", Required: true}, {Name: "description"}, {Name: "sensitive"},
	},
}

var runbookSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "title"}, {Name: "description"}, {Name: "hosts"},
	},
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true}, {Name: "error_message", Required: true},
	},
}

// CommonAttributes are the attributes every step may have, whatever its kind.
var CommonAttributes = []string{"title", "checklist", "depends_on", "when", "become", "become_user", "timeout", "retries", "delay", "until", "for_each", "notify"}

var stepCommonSchema = func() *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, n := range CommonAttributes {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n})
	}
	return s
}()

// ParseFile reads and parses a runbook file with the given step kinds.
func ParseFile(filename string, kinds steps.Registry) (*Config, hcl.Diagnostics) {
	src, over, err := hcllimits.ReadCapped(filename, hcllimits.MaxFileBytes)
	if err != nil {
		return &Config{Filename: filename, Parser: hclparse.NewParser()}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read runbook",
			Detail:   err.Error(),
		}}
	}
	if over {
		return &Config{Filename: filename, Parser: hclparse.NewParser()}, hcl.Diagnostics{hcllimits.TooLarge("Runbook", filename, src)}
	}
	return Parse(src, filename, kinds)
}

// Parse parses runbook source. It always returns a Config (possibly
// partial) so callers can render diagnostics against its sources.
func Parse(src []byte, filename string, kinds steps.Registry) (*Config, hcl.Diagnostics) {
	p := hclparse.NewParser()
	cfg := &Config{Filename: filename, Parser: p, byName: map[string]*Step{}}
	if diags := hcllimits.CheckNesting(filename, src); diags.HasErrors() {
		return cfg, diags
	}
	f, diags := p.ParseHCL(src, filename)
	if diags.HasErrors() {
		return cfg, diags
	}
	root := newNamespace(cfg, nil, kinds)
	diags = append(diags, root.load(f.Body, topSchema)...)
	if cfg.Runbook == nil && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing runbook block",
			Detail:   `A runbook file needs one block: runbook "name" { title = "..." }.`,
			Subject:  &hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos},
		})
	}
	diags = append(diags, root.checkAll()...)
	return cfg, diags
}

// namespace is the root runbook or one module call: its own variables,
// locals, steps (by the name written in it), outputs and module calls.
// References in a module's expressions are to its own namespace.
type namespace struct {
	cfg    *Config
	call   *ModuleCall // nil for the root
	kinds  steps.Registry
	vars   map[string]*Variable
	locals map[string]*Local
	steps  map[string]*Step
	calls  map[string]*ModuleCall
	// children are the namespaces of calls, in declaration order.
	children []*namespace
}

func newNamespace(cfg *Config, call *ModuleCall, kinds steps.Registry) *namespace {
	return &namespace{cfg: cfg, call: call, kinds: kinds, vars: map[string]*Variable{}, locals: map[string]*Local{},
		steps: map[string]*Step{}, calls: map[string]*ModuleCall{}}
}

// prefix is what the addresses of this namespace's steps start with:
// "" for the root, "module.NAME." for a module (nested: repeated).
func (ns *namespace) prefix() string {
	if ns.call == nil {
		return ""
	}
	return ns.call.Prefix
}

// fullName is a step's address from the name written in its namespace.
func (ns *namespace) fullName(local string) string {
	if ns.call == nil {
		return local
	}
	return ns.call.Prefix + "step." + local
}

// load reads the blocks of a runbook file or of a module's files.
func (ns *namespace) load(body hcl.Body, schema *hcl.BodySchema) hcl.Diagnostics {
	cfg := ns.cfg
	content, diags := body.Content(schema)
	for _, block := range content.Blocks {
		switch block.Type {
		case "runbook":
			if cfg.Runbook != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate runbook block",
					Detail:   fmt.Sprintf("A file holds one runbook; the first is at %s.", cfg.Runbook.DeclRange),
					Subject:  block.DefRange.Ptr(),
				})
				continue
			}
			rb, d := decodeRunbook(block)
			diags = append(diags, d...)
			cfg.Runbook = rb
		case "variable":
			v, d := decodeVariable(block)
			diags = append(diags, d...)
			if prev, dup := ns.vars[v.Name]; dup {
				diags = append(diags, duplicate("variable", v.Name, prev.DeclRange, block.DefRange))
				continue
			}
			ns.vars[v.Name] = v
			if ns.call == nil {
				cfg.Variables = append(cfg.Variables, v)
			} else {
				ns.call.Variables = append(ns.call.Variables, v)
			}
		case "locals":
			attrs, d := block.Body.JustAttributes()
			diags = append(diags, d...)
			for _, a := range sortedAttrs(attrs) {
				if _, dup := ns.locals[a.Name]; dup {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Duplicate local value",
						Detail:   fmt.Sprintf("local.%s is defined more than once.", a.Name),
						Subject:  a.NameRange.Ptr(),
					})
					continue
				}
				l := &Local{Name: a.Name, Expr: a.Expr}
				ns.locals[a.Name] = l
				if ns.call == nil {
					cfg.Locals = append(cfg.Locals, l)
				} else {
					ns.call.Locals = append(ns.call.Locals, l)
				}
			}
		case "step":
			s, d := decodeStep(block, ns.kinds)
			diags = append(diags, d...)
			if s == nil {
				continue
			}
			if prev, dup := ns.steps[s.Name]; dup {
				diags = append(diags, duplicate("step", s.Name, prev.DeclRange, block.DefRange))
				continue
			}
			ns.steps[s.Name] = s
			s.LocalName, s.Module = s.Name, ns.call
			s.Name = ns.fullName(s.Name)
			s.Base = s.Name
			cfg.byName[s.Name] = s
			cfg.Steps = append(cfg.Steps, s)
		case "output":
			o, d := decodeOutput(block)
			diags = append(diags, d...)
			outs := &cfg.Outputs
			if ns.call != nil {
				outs = &ns.call.Outputs
			}
			for _, prev := range *outs {
				if prev.Name == o.Name {
					diags = append(diags, duplicate("output", o.Name, prev.DeclRange, block.DefRange))
					o = nil
					break
				}
			}
			if o != nil {
				*outs = append(*outs, o)
			}
		case "module":
			diags = append(diags, ns.loadModule(block)...)
		}
	}
	return diags
}

func duplicate(what, name string, first, again hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s %q", what, name),
		Detail:   fmt.Sprintf("A %s named %q was already declared at %s; names must be unique.", what, name, first),
		Subject:  again.Ptr(),
	}
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Range.Start.Byte < out[j].Range.Start.Byte })
	return out
}

func decodeRunbook(block *hcl.Block) (*Runbook, hcl.Diagnostics) {
	rb := &Runbook{Name: block.Labels[0], DeclRange: block.DefRange}
	diags := validName("runbook", rb.Name, block.LabelRanges[0])
	content, d := block.Body.Content(runbookSchema)
	diags = append(diags, d...)
	for name, attr := range content.Attributes {
		switch name {
		case "title":
			diags = append(diags, gohcl.DecodeExpression(attr.Expr, nil, &rb.Title)...)
		case "description":
			diags = append(diags, gohcl.DecodeExpression(attr.Expr, nil, &rb.Description)...)
		case "hosts":
			v, d := attr.Expr.Value(nil)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			hosts, err := stringOrList(v)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid hosts",
					Detail:   "hosts is a group or host name, or a list of them: " + err.Error(),
					Subject:  attr.Expr.Range().Ptr(),
				})
			}
			rb.Hosts = hosts
		}
	}
	return rb, diags
}

// stringOrList accepts "a" or ["a", "b"].
func stringOrList(v cty.Value) ([]string, error) {
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsWhollyKnown() {
		return nil, fmt.Errorf("value is not known")
	}
	if v.Type() == cty.String {
		return []string{v.AsString()}, nil
	}
	lv, err := convert.Convert(v, cty.List(cty.String))
	if err != nil {
		return nil, fmt.Errorf("want a string or a list of strings, got %s", v.Type().FriendlyName())
	}
	var out []string
	for it := lv.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			return nil, fmt.Errorf("list holds a null")
		}
		out = append(out, e.AsString())
	}
	return out, nil
}

func decodeVariable(block *hcl.Block) (*Variable, hcl.Diagnostics) {
	v := &Variable{Name: block.Labels[0], Type: cty.DynamicPseudoType, DeclRange: block.DefRange}
	diags := validName("variable", v.Name, block.LabelRanges[0])
	content, d := block.Body.Content(variableSchema)
	diags = append(diags, d...)
	if attr, ok := content.Attributes["type"]; ok {
		ty, d := typeexpr.TypeConstraint(attr.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			v.Type = ty
			v.cliExpr = !ty.IsPrimitiveType()
		}
	}
	if attr, ok := content.Attributes["description"]; ok {
		diags = append(diags, gohcl.DecodeExpression(attr.Expr, nil, &v.Description)...)
	}
	if attr, ok := content.Attributes["sensitive"]; ok {
		diags = append(diags, gohcl.DecodeExpression(attr.Expr, nil, &v.Sensitive)...)
	}
	if attr, ok := content.Attributes["default"]; ok {
		val, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			conv, err := convert.Convert(val, v.Type)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid default value for variable",
					Detail:   fmt.Sprintf("The default of var.%s does not match its type: %s.", v.Name, err),
					Subject:  attr.Expr.Range().Ptr(),
				})
			} else {
				v.Default = conv
			}
		}
	}
	for _, vb := range content.Blocks {
		vc, d := vb.Body.Content(validationSchema)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		val := &Validation{Condition: vc.Attributes["condition"].Expr, ErrorMessage: vc.Attributes["error_message"].Expr, DeclRange: vb.DefRange}
		for _, tr := range val.Condition.Variables() {
			if tr.RootName() != "var" {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid reference in variable validation",
					Detail:   "A validation condition may only refer to var.<name>; it runs before anything else is known.",
					Subject:  tr.SourceRange().Ptr(),
				})
			}
		}
		v.Validations = append(v.Validations, val)
	}
	return v, diags
}

func decodeStep(block *hcl.Block, kinds steps.Registry) (*Step, hcl.Diagnostics) {
	s := &Step{Kind: block.Labels[0], Name: block.Labels[1], Base: block.Labels[1], DeclRange: block.DefRange, attrRanges: map[string]hcl.Range{}}
	diags := validName("step", s.Name, block.LabelRanges[1])
	kind, ok := kinds[s.Kind]
	if !ok {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Unknown step kind %q", s.Kind),
			Detail:   fmt.Sprintf("Step kinds are: %s.%s", joinQuoted(kinds.Names()), suggest(s.Kind, kinds.Names())),
			Subject:  block.LabelRanges[0].Ptr(),
		})
		return nil, diags
	}
	s.KindImpl = kind
	s.spec = kind.Spec()
	content, rest, d := block.Body.PartialContent(stepCommonSchema)
	diags = append(diags, d...)
	s.Body = rest
	for name, attr := range content.Attributes {
		s.attrRanges[name] = attr.Expr.Range()
		switch name {
		case "title":
			s.Title = attr.Expr
		case "checklist":
			s.Checklist = attr.Expr
		case "when":
			s.When = attr.Expr
		case "become":
			s.Become = attr.Expr
		case "become_user":
			s.BecomeUser = attr.Expr
		case "for_each":
			s.ForEach = attr.Expr
		case "notify":
			s.Notify, diags = stepList(attr, "notify", "notify = [step.restart_slurmctld]", s.Notify, diags)
		case "timeout":
			s.Timeout = attr.Expr
		case "retries":
			s.Retries = attr.Expr
		case "delay":
			s.Delay = attr.Expr
		case "until":
			s.Until = attr.Expr
		case "depends_on":
			s.DependsOn, diags = stepList(attr, "depends_on", "depends_on = [step.create_qos]", s.DependsOn, diags)
		}
	}
	if attrs, d := rest.JustAttributes(); !d.HasErrors() {
		for n, a := range attrs {
			s.attrRanges[n] = a.Expr.Range()
		}
	}
	return s, diags
}

// stepList reads a list of step references (step.<name>), as depends_on
// and notify hold them, appending the names to into.
func stepList(attr *hcl.Attribute, what, example string, into []string, diags hcl.Diagnostics) ([]string, hcl.Diagnostics) {
	exprs, d := hcl.ExprList(attr.Expr)
	diags = append(diags, d...)
	for _, e := range exprs {
		tr, d := hcl.AbsTraversalForExpr(e)
		if d.HasErrors() || len(tr) != 2 || tr.RootName() != "step" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Invalid %s entry", what),
				Detail:   fmt.Sprintf("%s lists steps as step.<name>, for example %s.", what, example),
				Subject:  e.Range().Ptr(),
			})
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok {
			into = append(into, a.Name)
		}
	}
	return into, diags
}

func decodeOutput(block *hcl.Block) (*Output, hcl.Diagnostics) {
	o := &Output{Name: block.Labels[0], DeclRange: block.DefRange}
	diags := validName("output", o.Name, block.LabelRanges[0])
	content, d := block.Body.Content(outputSchema)
	diags = append(diags, d...)
	if attr, ok := content.Attributes["value"]; ok {
		o.Value = attr.Expr
	}
	if attr, ok := content.Attributes["description"]; ok {
		diags = append(diags, gohcl.DecodeExpression(attr.Expr, nil, &o.Description)...)
	}
	if attr, ok := content.Attributes["sensitive"]; ok {
		diags = append(diags, gohcl.DecodeExpression(attr.Expr, nil, &o.Sensitive)...)
	}
	return o, diags
}

// Expressions returns every expression of a step (common and kind-specific)
// whose references matter for the graph and for reference checks.
func (s *Step) traversals() []hcl.Traversal {
	var trs []hcl.Traversal
	for _, e := range []hcl.Expression{s.Title, s.Checklist, s.When, s.Become, s.BecomeUser, s.Timeout, s.Retries, s.Delay, s.Until} {
		if e != nil {
			trs = append(trs, e.Variables()...)
		}
	}
	trs = append(trs, hcldec.Variables(s.Body, s.Spec())...)
	return trs
}

// checkRefs reports references to undeclared variables, locals, steps
// and module outputs in this namespace, and records each step's (and
// output's) references to steps, as addresses.
func (ns *namespace) checkRefs() hcl.Diagnostics {
	var diags hcl.Diagnostics
	// where says what may be referred to: step results (and module
	// outputs), self (until), each (a for_each step's own expressions),
	// host.
	type where struct{ step, self, each, host bool }
	// refs collects what an expression list reads: step addresses, and
	// module calls whose outputs it reads.
	type refs struct {
		steps map[string]bool
		mods  map[*ModuleCall]bool
	}
	check := func(tr hcl.Traversal, w where, into *refs) {
		root := tr.RootName()
		name := ""
		if len(tr) > 1 {
			if a, ok := tr[1].(hcl.TraverseAttr); ok {
				name = a.Name
			}
		}
		bad := func(summary, detail string) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: tr.SourceRange().Ptr()})
		}
		switch root {
		case "var":
			if _, ok := ns.vars[name]; !ok {
				bad("Reference to undeclared variable", fmt.Sprintf("No variable %q is declared%s.%s", name, ns.where(), suggest(name, mapKeys(ns.vars))))
			}
		case "local":
			if _, ok := ns.locals[name]; !ok {
				bad("Reference to undeclared local value", fmt.Sprintf("No local value %q is declared%s.%s", name, ns.where(), suggest(name, mapKeys(ns.locals))))
			}
		case "step":
			if !w.step {
				bad("Invalid reference", "Step results are not known here; only var, local and host may be used.")
				return
			}
			st, ok := ns.steps[name]
			if !ok {
				bad("Reference to undeclared step", fmt.Sprintf("No step %q is declared%s.%s", name, ns.where(), suggest(name, mapKeys(ns.steps))))
				return
			}
			into.steps[st.Name] = true
		case "module":
			if !w.step {
				bad("Invalid reference", "Module outputs may read step results, so they are not known here; only var, local and host may be used.")
				return
			}
			call, ok := ns.calls[name]
			if !ok {
				bad("Reference to undeclared module", fmt.Sprintf("No module %q is called%s.%s", name, ns.where(), suggest(name, mapKeys(ns.calls))))
				return
			}
			if len(tr) < 3 {
				bad("Invalid module reference", fmt.Sprintf("Name one of the module's outputs: module.%s.OUTPUT.", name))
				return
			}
			out := ""
			if a, ok := tr[2].(hcl.TraverseAttr); ok {
				out = a.Name
			}
			o := call.Output(out)
			if o == nil {
				var names []string
				for _, o := range call.Outputs {
					names = append(names, o.Name)
				}
				bad("Reference to undeclared module output", fmt.Sprintf("Module %q (%s) has no output %q.%s", name, call.Source, out, suggest(out, names)))
				return
			}
			into.mods[call] = true
			for _, r := range call.readsSteps() {
				into.steps[r] = true
			}
		case "host":
			if !w.host {
				bad("Invalid reference", "for_each is expanded before any host is contacted, so it may only use var and local (the same instances run on every host).")
			}
		case "runbook":
		case "self":
			if !w.self {
				bad("Invalid reference to self", "self (this step's own results) may only be used in until.")
			}
		case "each":
			if !w.each {
				bad("Invalid reference to each", "each.key and each.value exist only in a step with for_each (and not in its for_each itself).")
			}
		default:
			bad("Unknown reference", fmt.Sprintf("%q is not something a runbook can refer to; use var., local., step., module., host. or runbook.", root))
		}
	}
	newRefs := func() *refs { return &refs{steps: map[string]bool{}, mods: map[*ModuleCall]bool{}} }
	// In declaration order, so diagnostics come out in the same order on
	// every run.
	locals := ns.cfg.Locals
	if ns.call != nil {
		locals = ns.call.Locals
	}
	for _, l := range locals {
		for _, tr := range l.Expr.Variables() {
			check(tr, where{host: true}, newRefs())
		}
	}
	for _, s := range ns.orderedSteps() {
		r := newRefs()
		var untilRanges []hcl.Range
		if s.Until != nil {
			for _, u := range s.Until.Variables() {
				untilRanges = append(untilRanges, u.SourceRange())
			}
		}
		for _, tr := range s.traversals() {
			isUntil := slices.Contains(untilRanges, tr.SourceRange())
			if tr.RootName() == "step" && len(tr) > 1 {
				if a, ok := tr[1].(hcl.TraverseAttr); ok && a.Name == s.LocalName {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Step refers to itself",
						Detail:   "A step cannot read its own results; use self.<attr> inside until.",
						Subject:  tr.SourceRange().Ptr(),
					})
					continue
				}
			}
			check(tr, where{step: true, self: isUntil, each: s.ForEach != nil, host: true}, r)
		}
		if s.ForEach != nil {
			for _, tr := range s.ForEach.Variables() {
				check(tr, where{}, newRefs())
			}
		}
		for _, list := range []struct {
			attr  string
			names *[]string
		}{{"depends_on", &s.DependsOn}, {"notify", &s.Notify}} {
			var full []string
			for _, d := range *list.names {
				target, ok := ns.steps[d]
				switch {
				case !ok:
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Reference to undeclared step",
						Detail:   fmt.Sprintf("%s names step %q, which is not declared%s.%s", list.attr, d, ns.where(), suggest(d, mapKeys(ns.steps))),
						Subject:  s.AttrRange(list.attr).Ptr(),
					})
					continue
				case list.attr == "notify" && target == s:
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Step notifies itself",
						Detail:   fmt.Sprintf("Step %q lists itself in notify: a handler runs after the steps that notify it, so it cannot be one of them.", s.LocalName),
						Subject:  s.AttrRange("notify").Ptr(),
					})
					continue
				case list.attr == "notify":
					target.Handler = true
				}
				full = append(full, target.Name)
			}
			*list.names = full
		}
		s.Refs = mapKeys(r.steps)
		s.RefBases = s.Refs
		s.ModuleRefs = sortedCalls(r.mods)
	}
	outs := ns.cfg.Outputs
	if ns.call != nil {
		outs = ns.call.Outputs
	}
	for _, o := range outs {
		if o.Value == nil {
			continue
		}
		r := newRefs()
		for _, tr := range o.Value.Variables() {
			check(tr, where{step: true, host: true}, r)
		}
		o.Refs = mapKeys(r.steps)
		o.ModuleRefs = sortedCalls(r.mods)
	}
	return diags
}

// orderedSteps are the namespace's steps in declaration order.
func (ns *namespace) orderedSteps() []*Step {
	var out []*Step
	for _, s := range ns.cfg.Steps {
		if s.Module == ns.call {
			out = append(out, s)
		}
	}
	return out
}

// where names the namespace in messages: "" for the runbook, " in module
// NAME" for a module.
func (ns *namespace) where() string {
	if ns.call == nil {
		return ""
	}
	return fmt.Sprintf(" in module %q (%s)", strings.TrimSuffix(ns.call.Prefix, "."), ns.call.Source)
}
