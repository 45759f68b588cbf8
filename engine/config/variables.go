package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/hcllimits"
	"github.com/runbook-hpc/runbook/engine/lang"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// VarSource is one place a variable value came from, in the order given
// on the command line: later sources win, like Terraform.
type VarSource struct {
	// Assign is "name=value" from --var; File is a --var-file path.
	Assign string
	File   string
	// Values are values already typed, e.g. the ones a saved plan fixes.
	Values map[string]cty.Value
}

// EnvPrefix names environment variables that set runbook variables.
const EnvPrefix = "RUNBOOK_VAR_"

// ResolveVariables computes var.* from defaults, RUNBOOK_VAR_* (lowest),
// then the --var and --var-file sources in order, converts each to its
// type and runs its validation rules with only var in scope.
func (c *Config) ResolveVariables(sources []VarSource, environ []string) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	raw := map[string]cty.Value{}
	// where[name] is the var-file line a value came from, so a bad value
	// is reported where it was written, not at the variable block.
	where := map[string]*hcl.Range{}
	// cli[name] is the text a value was given as on the command line or in
	// the environment, for a message that says what was typed and how to
	// write it instead.
	cli := map[string]*cliValue{}
	setCLI := func(vr *Variable, cv *cliValue) {
		val, d := c.parseCLIValue(vr, cv)
		diags = append(diags, d...)
		raw[vr.Name] = val
		cli[vr.Name] = cv
		delete(where, vr.Name)
	}
	setRaw := func(name string, v cty.Value, rng *hcl.Range) {
		if c.Variable(name) == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("The runbook declares no variable %q.%s", name, suggest(name, c.variableNames())),
				Subject:  rng,
			})
			return
		}
		raw[name] = v
		where[name] = rng
		delete(cli, name)
	}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvPrefix) {
			continue
		}
		name := strings.TrimPrefix(k, EnvPrefix)
		if vr := c.Variable(name); vr != nil {
			setCLI(vr, &cliValue{env: true, name: name, text: v})
		}
	}
	for _, src := range sources {
		switch {
		case src.Values != nil:
			for n, v := range src.Values {
				setRaw(n, v, nil)
			}
		case src.File != "":
			vals, d := c.parseVarFile(src.File)
			diags = append(diags, d...)
			for n, v := range vals {
				setRaw(n, v.val, v.rng)
			}
		case src.Assign != "":
			name, value, ok := strings.Cut(src.Assign, "=")
			if !ok || name == "" {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid --var",
					Detail:   fmt.Sprintf("%q is not name=value.", src.Assign),
				})
				continue
			}
			vr := c.Variable(name)
			if vr == nil {
				setRaw(name, cty.NilVal, nil)
				continue
			}
			setCLI(vr, &cliValue{name: name, text: value})
		}
	}

	values := map[string]cty.Value{}
	for _, v := range c.Variables {
		val, given := raw[v.Name]
		if !given || val == cty.NilVal {
			if v.Default == cty.NilVal {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "No value for required variable",
					Detail:   fmt.Sprintf("var.%s has no default; set it with --var %s=..., a --var-file, or %s%s.", v.Name, v.Name, EnvPrefix, v.Name),
					Subject:  v.DeclRange.Ptr(),
				})
				values[v.Name] = cty.UnknownVal(v.Type)
				continue
			}
			val = v.Default
		}
		conv, err := convert.Convert(val, v.Type)
		if err != nil && cli[v.Name] != nil {
			diags = append(diags, c.cliTypeDiag(v, cli[v.Name], err))
			conv = cty.UnknownVal(v.Type)
		} else if err != nil {
			subject := v.DeclRange.Ptr()
			if r := where[v.Name]; r != nil && given {
				subject = r
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid value for variable",
				Detail:   fmt.Sprintf("var.%s must be %s: %s.", v.Name, v.Type.FriendlyName(), err),
				Subject:  subject,
			})
			conv = cty.UnknownVal(v.Type)
		}
		values[v.Name] = conv
	}
	if diags.HasErrors() {
		return values, diags
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(values)},
		Functions: lang.Functions(filepath.Dir(c.Filename)),
	}
	for _, v := range c.Variables {
		for _, rule := range v.Validations {
			d := evalValidation(v, rule, ctx)
			if r := where[v.Name]; r != nil {
				for _, x := range d {
					if x.Summary == "Invalid value for variable" {
						x.Subject = r
					}
				}
			}
			diags = append(diags, d...)
		}
	}
	return values, diags
}

func (c *Config) variableNames() []string {
	names := make([]string, len(c.Variables))
	for i, v := range c.Variables {
		names[i] = v.Name
	}
	return names
}

func evalValidation(v *Variable, rule *Validation, ctx *hcl.EvalContext) hcl.Diagnostics {
	result, diags := rule.Condition.Value(ctx)
	if diags.HasErrors() {
		return diags
	}
	if result.IsNull() || !result.IsKnown() || result.Type() != cty.Bool {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid validation condition",
			Detail:   "A validation condition must be true or false.",
			Subject:  rule.Condition.Range().Ptr(),
		}}
	}
	if result.True() {
		return nil
	}
	msg, d := rule.ErrorMessage.Value(ctx)
	text := fmt.Sprintf("var.%s is invalid.", v.Name)
	if !d.HasErrors() && msg.Type() == cty.String && msg.IsKnown() && !msg.IsNull() {
		text = msg.AsString()
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid value for variable",
		Detail:   text + fmt.Sprintf("\n\nThis was checked by the validation rule at %s.", rule.DeclRange),
		Subject:  v.DeclRange.Ptr(),
	}}
}

type fileVal struct {
	val cty.Value
	rng *hcl.Range
}

func (c *Config) parseVarFile(path string) (map[string]fileVal, hcl.Diagnostics) {
	src, over, err := hcllimits.ReadCapped(path, hcllimits.MaxFileBytes)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variable file", Detail: err.Error()}}
	}
	if over {
		return nil, hcl.Diagnostics{hcllimits.TooLarge("Variable file", path, src)}
	}
	if diags := hcllimits.CheckNesting(path, src); diags.HasErrors() {
		return nil, diags
	}
	f, diags := c.Parser.ParseHCL(src, path)
	if diags.HasErrors() {
		return nil, diags
	}
	attrs, d := f.Body.JustAttributes()
	diags = append(diags, d...)
	out := map[string]fileVal{}
	for name, a := range attrs {
		val, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			out[name] = fileVal{val: val, rng: a.NameRange.Ptr()}
		}
	}
	return out, diags
}
