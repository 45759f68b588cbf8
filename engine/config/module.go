package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/hcllimits"
	"github.com/zclconf/go-cty/cty"
)

// ModuleCall is a `module "NAME" { source = "./modules/x" … }` block: a
// directory of .hcl files (variables, locals, steps, outputs, further
// module calls; no runbook block) whose variables are set by the block's
// other attributes, as in Terraform. Its steps join the runbook's graph,
// addressed module.NAME.step.STEP; its outputs are module.NAME.OUTPUT.
type ModuleCall struct {
	Name string
	// Source is as written; Dir is the directory it names.
	Source string
	Dir    string
	// Prefix starts the addresses of the module's steps: "module.NAME."
	// (a call inside a module adds its own: "module.a.module.b.").
	Prefix string
	// Parent is the module the call is written in; nil in the runbook.
	Parent *ModuleCall
	// Inputs are the values given to the module's variables, evaluated
	// where the call is written (var, local and host of that namespace).
	Inputs    map[string]*hcl.Attribute
	Variables []*Variable
	Locals    []*Local
	Outputs   []*Output
	DeclRange hcl.Range
}

// Address is "module.NAME" (nested: "module.a.module.b").
func (m *ModuleCall) Address() string { return strings.TrimSuffix(m.Prefix, ".") }

// Output returns the module's output called name, or nil.
func (m *ModuleCall) Output(name string) *Output {
	for _, o := range m.Outputs {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// Variable returns the module's variable called name, or nil.
func (m *ModuleCall) Variable(name string) *Variable {
	for _, v := range m.Variables {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// readsSteps are the steps the module's outputs read: a step that reads
// module.NAME.x runs after them.
func (m *ModuleCall) readsSteps() []string {
	seen := map[string]bool{}
	for _, o := range m.Outputs {
		for _, r := range o.Refs {
			seen[r] = true
		}
	}
	return mapKeys(seen)
}

func sortedCalls(m map[*ModuleCall]bool) []*ModuleCall {
	out := make([]*ModuleCall, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Prefix < out[j].Prefix })
	return out
}

// dir is the directory relative sources of this namespace start from.
func (ns *namespace) dir() string {
	if ns.call != nil {
		return ns.call.Dir
	}
	return filepath.Dir(ns.cfg.Filename)
}

// loadModule reads a module block and the module's files.
func (ns *namespace) loadModule(block *hcl.Block) hcl.Diagnostics {
	cfg := ns.cfg
	name := block.Labels[0]
	diags := validName("module", name, block.LabelRanges[0])
	if diags.HasErrors() {
		return diags
	}
	if prev, dup := ns.calls[name]; dup {
		return append(diags, duplicate("module", name, prev.DeclRange, block.DefRange))
	}
	attrs, d := block.Body.JustAttributes()
	diags = append(diags, d...)
	if d.HasErrors() {
		return diags
	}
	src, ok := attrs["source"]
	if !ok {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing module source",
			Detail:   `A module block names its directory: source = "./modules/NAME".`,
			Subject:  block.DefRange.Ptr(),
		})
	}
	delete(attrs, "source")
	v, d := src.Expr.Value(nil)
	if d.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type().FriendlyName() != "string" {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid module source",
			Detail:   `source is a literal path to a directory, relative to the file that calls it: source = "./modules/NAME".`,
			Subject:  src.Expr.Range().Ptr(),
		})
	}
	source := v.AsString()
	if !strings.HasPrefix(source, "./") && !strings.HasPrefix(source, "../") {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid module source",
			Detail:   fmt.Sprintf("source %q is not a local directory: it must start with ./ or ../ (runbook reads modules from disk only, no registry or git).", source),
			Subject:  src.Expr.Range().Ptr(),
		})
	}
	dir, err := filepath.Abs(filepath.Join(ns.dir(), source))
	if err != nil {
		dir = filepath.Join(ns.dir(), source)
	}
	call := &ModuleCall{Name: name, Source: source, Dir: dir, Prefix: ns.prefix() + "module." + name + ".",
		Parent: ns.call, Inputs: attrs, DeclRange: block.DefRange}
	// A module that calls itself, directly or through others, would
	// never end.
	var chain []string
	for c := ns.call; c != nil; c = c.Parent {
		chain = append([]string{c.Source}, chain...)
		if c.Dir == dir {
			return append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Module cycle",
				Detail:   fmt.Sprintf("Module %q calls %s, which is already being read: %s → %s. A module cannot call itself, directly or through others.", name, source, strings.Join(chain, " → "), source),
				Subject:  src.Expr.Range().Ptr(),
			})
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no .hcl files")
	}
	if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
		err = fmt.Errorf("no such directory")
	}
	if err != nil {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Module source missing",
			Detail:   fmt.Sprintf("Module %q: %s (%s): %v. A module is a directory of .hcl files.", name, source, dir, err),
			Subject:  src.Expr.Range().Ptr(),
		})
	}
	sort.Strings(files)
	var bodies []hcl.Body
	for _, f := range files {
		b, over, err := hcllimits.ReadCapped(f, hcllimits.MaxFileBytes)
		switch {
		case err != nil:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read module file", Detail: err.Error(), Subject: src.Expr.Range().Ptr()})
			continue
		case over:
			diags = append(diags, hcllimits.TooLarge("Module file", f, b))
			continue
		}
		if d := hcllimits.CheckNesting(f, b); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		file, d := cfg.Parser.ParseHCL(b, f)
		diags = append(diags, d...)
		if file != nil && !d.HasErrors() {
			bodies = append(bodies, file.Body)
		}
	}
	if diags.HasErrors() {
		return diags
	}
	ns.calls[name] = call
	cfg.Modules = append(cfg.Modules, call)
	child := newNamespace(cfg, call, ns.kinds)
	ns.children = append(ns.children, child)
	return append(diags, child.load(hcl.MergeBodies(bodies), moduleFileSchema)...)
}

// checkAll checks references in this namespace and the modules it calls
// (theirs first: a reference to a module output reads the steps behind
// it), and each call's inputs against the module's variables.
func (ns *namespace) checkAll() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, child := range ns.children {
		diags = append(diags, child.checkAll()...)
		diags = append(diags, ns.checkInputs(child)...)
	}
	return append(diags, ns.checkRefs()...)
}

// checkInputs: every attribute of a module block sets a declared
// variable, and every variable without a default is set. The values may
// use var, local and host of the calling namespace: they are known before
// any step runs.
func (ns *namespace) checkInputs(child *namespace) hcl.Diagnostics {
	var diags hcl.Diagnostics
	call := child.call
	for _, name := range sortedAttrNames(call.Inputs) {
		attr := call.Inputs[name]
		if _, ok := child.vars[name]; !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported module input",
				Detail:   fmt.Sprintf("Module %q (%s) declares no variable %q.%s", call.Name, call.Source, name, suggest(name, mapKeys(child.vars))),
				Subject:  attr.NameRange.Ptr(),
			})
			continue
		}
		for _, tr := range attr.Expr.Variables() {
			switch tr.RootName() {
			case "var", "local", "host", "runbook":
			default:
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid reference in module input",
					Detail:   "A module's inputs are set before any step runs, so they may use var, local and host only.",
					Subject:  tr.SourceRange().Ptr(),
				})
			}
		}
	}
	for _, v := range call.Variables {
		if _, set := call.Inputs[v.Name]; !set && v.Default == cty.NilVal {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing required module input",
				Detail:   fmt.Sprintf("Module %q (%s) needs %s = …: its variable %q has no default.", call.Name, call.Source, v.Name, v.Name),
				Subject:  call.DeclRange.Ptr(),
			})
		}
	}
	return diags
}

func sortedAttrNames(attrs map[string]*hcl.Attribute) []string { return mapKeys(attrs) }
