package main

import (
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/zclconf/go-cty/cty"
)

// diagRedactor is what printDiags hides: the secrets it is given, and
// every value of a sensitive variable of cfg it can find without them:
// the values the diagnostics' expressions were evaluated with (HCL
// prints them: `with var.pw as "…"`), RUNBOOK_VAR_ environment variables
// and defaults. A diagnostic that repeats a value in its text
// (`cannot convert "…" to number`, a kind's `mode "…" is not an octal
// mode`) has no context of its own: the caller's secrets cover it. Nil
// when there is nothing to hide, the common case, which then costs nothing.
func diagRedactor(cfg *config.Config, diags hcl.Diagnostics, secrets []string) *evidence.Redactor {
	if cfg != nil {
		for _, v := range cfg.Variables {
			if !v.Sensitive {
				continue
			}
			if text, ok := os.LookupEnv(config.EnvPrefix + v.Name); ok {
				secrets = append(secrets, text)
			}
			secrets = append(secrets, valueSecrets(v.Default)...)
			for _, d := range diags {
				for ctx := d.EvalContext; ctx != nil; ctx = ctx.Parent() {
					if vars, ok := ctx.Variables["var"]; ok && vars.Type().IsObjectType() && vars.Type().HasAttribute(v.Name) && vars.IsKnown() && !vars.IsNull() {
						secrets = append(secrets, valueSecrets(vars.GetAttr(v.Name))...)
					}
				}
			}
		}
	}
	if len(secrets) == 0 {
		return nil
	}
	return evidence.NewRedactor(secrets...)
}

// valueSecrets is every string and number inside v (none for NilVal, a
// variable without a default).
func valueSecrets(v cty.Value) []string {
	if v == cty.NilVal {
		return nil
	}
	return secretStrings(v)
}

// varSourceSecrets are the values the sources give sensitive variables,
// as they were written (the text of --var and RUNBOOK_VAR_, the values of
// a var file) and as they were resolved: a value that does not convert to
// its variable's type is reported as written.
func varSourceSecrets(cfg *config.Config, sources []config.VarSource, resolved map[string]cty.Value) []string {
	sensitive := map[string]bool{}
	var out []string
	for _, v := range cfg.Variables {
		if v.Sensitive {
			sensitive[v.Name] = true
			if val, ok := resolved[v.Name]; ok {
				out = append(out, secretStrings(val)...)
			}
		}
	}
	for _, src := range sources {
		switch {
		case src.Values != nil:
			for name, val := range src.Values {
				if sensitive[name] {
					out = append(out, secretStrings(val)...)
				}
			}
		case src.File != "":
			out = append(out, varFileSecrets(cfg, src.File, sensitive)...)
		case src.Assign != "":
			if name, text, ok := strings.Cut(src.Assign, "="); ok && sensitive[name] {
				out = append(out, text)
			}
		}
	}
	return out
}

// varFileSecrets is what a var file gives the sensitive variables, read
// from the parser's copy: the file itself may be a pipe that cannot be
// read twice (--var-file <(vault read …)).
func varFileSecrets(cfg *config.Config, path string, sensitive map[string]bool) []string {
	if cfg.Parser == nil || cfg.Parser.Files()[path] == nil {
		return nil
	}
	attrs, _ := cfg.Parser.Files()[path].Body.JustAttributes()
	var out []string
	for name, a := range attrs {
		if !sensitive[name] {
			continue
		}
		if val, d := a.Expr.Value(nil); !d.HasErrors() {
			out = append(out, secretStrings(val)...)
		}
	}
	return out
}

// redactDiag returns a copy of d that shows no secret: its summary and
// detail redacted, and the values its expression was evaluated with
// redacted (strings) or hidden (a number HCL would print).
func redactDiag(d *hcl.Diagnostic, red *evidence.Redactor) *hcl.Diagnostic {
	if red == nil {
		return d
	}
	c := *d
	c.Summary = red.Redact(d.Summary)
	c.Detail = red.Redact(d.Detail)
	if d.EvalContext != nil {
		c.EvalContext = redactedContext(d.EvalContext, red)
	}
	return &c
}

// redactedContext is ctx's variables, its parents' included, with every
// string redacted and every number that is a secret marked, which HCL's
// diagnostic writer leaves out. It serves only to print diagnostics.
func redactedContext(ctx *hcl.EvalContext, red *evidence.Redactor) *hcl.EvalContext {
	var chain []*hcl.EvalContext
	for c := ctx; c != nil; c = c.Parent() {
		chain = append(chain, c)
	}
	vars := map[string]cty.Value{}
	for i := len(chain) - 1; i >= 0; i-- {
		for name, v := range chain[i].Variables {
			vars[name] = v
		}
	}
	for name, v := range vars {
		vars[name], _ = cty.Transform(v, func(_ cty.Path, v cty.Value) (cty.Value, error) {
			if !v.IsKnown() || v.IsNull() || v.IsMarked() {
				return v, nil
			}
			switch v.Type() {
			case cty.String:
				return cty.StringVal(red.Redact(v.AsString())), nil
			case cty.Number:
				if s := v.AsBigFloat().Text('f', -1); red.Redact(s) != s {
					return v.Mark(evidence.Redacted), nil
				}
			}
			return v, nil
		})
	}
	return &hcl.EvalContext{Variables: vars}
}
