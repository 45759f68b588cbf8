package steps

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-hpc/runbook/engine/lang"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// template renders `source`, a file beside the runbook, with `vars` and
// puts the result at dest, otherwise exactly as copy does. It renders
// with templatefile() itself (engine/lang), so a template behaves the
// same in a step and in an expression.
//
//	step "template" "slurm_conf" {
//	  dest   = "/etc/slurm/slurm.conf"
//	  source = "templates/slurm.conf.tftpl"
//	  vars   = { cluster = var.cluster, nodes = var.nodes }
//	  become = true
//	}
type templateKind struct{}

func init() { register("template", templateKind{}) }

func (templateKind) Spec() hcldec.ObjectSpec {
	s := contentSpec()
	s["source"] = &hcldec.AttrSpec{Name: "source", Type: cty.String, Required: true}
	s["vars"] = &hcldec.AttrSpec{Name: "vars", Type: cty.DynamicPseudoType}
	return s
}

func (templateKind) ReadOnly() bool { return false }

func (templateKind) Validate(cfg cty.Value) error {
	if _, err := decodeContentCommon(cfg); err != nil {
		return err
	}
	_, err := templateVars(cfg)
	return err
}

// templateVars reads vars: an object or map whose keys are identifiers
// (templatefile's rule), checked here so a bad key fails validate.
func templateVars(cfg cty.Value) (cty.Value, error) {
	v := cfg.GetAttr("vars")
	if v.IsNull() {
		return cty.EmptyObjectVal, nil
	}
	if !v.IsKnown() {
		return v, nil
	}
	if ty := v.Type(); !ty.IsObjectType() && !ty.IsMapType() {
		return cty.NilVal, &AttrError{Attr: "vars", Err: fmt.Errorf("vars is a map like { name = value }, not a %s", ty.FriendlyName())}
	}
	for it := v.ElementIterator(); it.Next(); {
		k, _ := it.Element()
		if !k.IsKnown() {
			continue
		}
		if name := k.AsString(); !hclsyntax.ValidIdentifier(name) {
			return cty.NilVal, &AttrError{Attr: "vars", Err: fmt.Errorf("vars key %q is not a name a template can use (a letter, then letters, digits, underscores or dashes)", name)}
		}
	}
	return v, nil
}

func (k templateKind) Decode(cfg cty.Value) (Step, error) {
	if err := k.Validate(cfg); err != nil {
		return nil, err
	}
	s, err := decodeContentCommon(cfg)
	if err != nil {
		return nil, err
	}
	source, _, _ := rfString(cfg, "source")
	vars, _ := templateVars(cfg)
	s.desired = func(ex Exec) ([]byte, error) { return renderTemplate(ex.SourceDir(), source, vars) }
	return s, nil
}

// renderTemplate is templatefile(source, vars) evaluated as an
// expression would evaluate it, relative to the runbook's directory.
func renderTemplate(dir, source string, vars cty.Value) ([]byte, error) {
	fn := lang.Functions(dir)["templatefile"]
	v, err := fn.Call([]cty.Value{cty.StringVal(source), vars})
	if err != nil {
		return nil, &Failure{Msg: fmt.Sprintf("template %s: %s", source, strings.TrimSpace(err.Error()))}
	}
	// A template that is one "${…}" gives that value's type; a number or
	// bool is rfWritten as text, anything else is a mistake.
	s, err := convert.Convert(v, cty.String)
	if err != nil || s.IsNull() || !s.IsKnown() {
		return nil, &Failure{Msg: fmt.Sprintf("template %s renders a %s, not text", source, v.Type().FriendlyName())}
	}
	return []byte(s.AsString()), nil
}
