package inventory

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

var hclFileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "host", LabelNames: []string{"name"}},
		{Type: "group", LabelNames: []string{"name"}},
	},
}

var hclHostSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address"},
		{Name: "port"},
		{Name: "user"},
		{Name: "identity_file"},
		{Name: "known_hosts"},
		{Name: "jump"},
		{Name: "become_password_env"},
		{Name: "password_env"},
		{Name: "passphrase_env"},
		{Name: "vars"},
		{Name: "local"},
	},
}

var hclGroupSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "hosts"},
		{Name: "children"},
		{Name: "vars"},
	},
}

// parseHCL reads an HCL inventory into raw declarations. Unknown
// attributes and blocks are errors (hcl reports them with file:line), so
// a misspelt "identity_files" does not silently fall back to defaults.
func parseHCL(path string, src []byte, b *builder) hcl.Diagnostics {
	if diags := checkNesting(path, src); diags.HasErrors() {
		return diags
	}
	p := hclparse.NewParser()
	f, diags := p.ParseHCL(src, path)
	if diags.HasErrors() {
		return diags
	}
	content, d := f.Body.Content(hclFileSchema)
	diags = append(diags, d...)
	seenHost := map[string]hcl.Range{}
	seenGroup := map[string]hcl.Range{}
	for _, blk := range content.Blocks {
		name := blk.Labels[0]
		if strings.TrimSpace(name) == "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Empty name",
				Detail:  fmt.Sprintf("A %s needs a name: %s \"NAME\" { ... }.", blk.Type, blk.Type),
				Subject: blk.LabelRanges[0].Ptr(),
			})
			continue
		}
		switch blk.Type {
		case "host":
			if prev, dup := seenHost[name]; dup {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Duplicate host",
					Detail:  fmt.Sprintf("Host %q is already declared at %s.", name, prev),
					Subject: blk.DefRange.Ptr(),
				})
				continue
			}
			seenHost[name] = blk.DefRange
			if name == "all" || name == "ungrouped" {
				diags = append(diags, reservedName(name, blk))
				continue
			}
			h, d := hclHost(name, blk)
			diags = append(diags, d...)
			if h != nil {
				b.hosts = append(b.hosts, h)
			}
		case "group":
			if prev, dup := seenGroup[name]; dup {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Duplicate group",
					Detail:  fmt.Sprintf("Group %q is already declared at %s.", name, prev),
					Subject: blk.DefRange.Ptr(),
				})
				continue
			}
			seenGroup[name] = blk.DefRange
			g, d := hclGroup(name, blk)
			diags = append(diags, d...)
			if g != nil {
				b.groups = append(b.groups, g)
			}
		}
	}
	return diags
}

func reservedName(name string, blk *hcl.Block) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: "Reserved name",
		Detail:  fmt.Sprintf("%q is the implicit group of every host and cannot name a host.", name),
		Subject: blk.DefRange.Ptr(),
	}
}

func hclHost(name string, blk *hcl.Block) (*rawHost, hcl.Diagnostics) {
	content, diags := blk.Body.Content(hclHostSchema)
	if diags.HasErrors() {
		return nil, diags
	}
	h := &rawHost{name: name, rng: blk.DefRange}
	a := content.Attributes
	diags = append(diags, attrString(a["address"], &h.address)...)
	diags = append(diags, attrString(a["user"], &h.user)...)
	diags = append(diags, attrString(a["become_password_env"], &h.becomeEnv)...)
	diags = append(diags, attrString(a["password_env"], &h.passwordEnv)...)
	diags = append(diags, attrString(a["passphrase_env"], &h.passphraseEnv)...)
	diags = append(diags, attrStrings(a["identity_file"], &h.identityFiles)...)
	diags = append(diags, attrStrings(a["known_hosts"], &h.knownHosts)...)
	if attr := a["jump"]; attr != nil {
		h.jumpSet = true
		diags = append(diags, attrStrings(attr, &h.jump)...)
	}
	if attr := a["port"]; attr != nil {
		v, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			port, ok := toPort(v)
			if !ok {
				diags = append(diags, attrError(attr, "Invalid port", "port must be a whole number from 1 to 65535."))
			}
			h.port = port
		}
	}
	if attr := a["local"]; attr != nil {
		v, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if v.Type() != cty.Bool || v.IsNull() || !v.IsKnown() {
				diags = append(diags, attrError(attr, "Invalid local", "local must be true or false."))
			} else {
				h.local = v.True()
			}
		}
	}
	diags = append(diags, attrVars(a["vars"], &h.vars)...)
	return h, diags
}

func hclGroup(name string, blk *hcl.Block) (*rawGroup, hcl.Diagnostics) {
	content, diags := blk.Body.Content(hclGroupSchema)
	if diags.HasErrors() {
		return nil, diags
	}
	g := &rawGroup{name: name, rng: blk.DefRange}
	a := content.Attributes
	if attr := a["hosts"]; attr != nil {
		g.hostsRng = attr.Range
		diags = append(diags, attrStrings(attr, &g.hosts)...)
	}
	if attr := a["children"]; attr != nil {
		g.childrenRng = attr.Range
		diags = append(diags, attrStrings(attr, &g.children)...)
	}
	diags = append(diags, attrVars(a["vars"], &g.vars)...)
	return g, diags
}

func attrError(attr *hcl.Attribute, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: attr.Expr.Range().Ptr()}
}

func attrString(attr *hcl.Attribute, dst *string) hcl.Diagnostics {
	if attr == nil {
		return nil
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		return diags
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return hcl.Diagnostics{attrError(attr, "Invalid value", fmt.Sprintf("%s must be a string.", attr.Name))}
	}
	*dst = v.AsString()
	return nil
}

// attrStrings accepts a string or a list of strings.
func attrStrings(attr *hcl.Attribute, dst *[]string) hcl.Diagnostics {
	if attr == nil {
		return nil
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		return diags
	}
	bad := hcl.Diagnostics{attrError(attr, "Invalid value", fmt.Sprintf("%s must be a string or a list of strings.", attr.Name))}
	if v.IsNull() || !v.IsWhollyKnown() {
		return bad
	}
	switch {
	case v.Type() == cty.String:
		*dst = []string{v.AsString()}
	case v.Type().IsTupleType() || v.Type().IsListType():
		out := []string{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() || e.Type() != cty.String {
				return bad
			}
			out = append(out, e.AsString())
		}
		*dst = out
	default:
		return bad
	}
	return nil
}

func attrVars(attr *hcl.Attribute, dst *map[string]cty.Value) hcl.Diagnostics {
	*dst = map[string]cty.Value{}
	if attr == nil {
		return nil
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		return diags
	}
	if v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return hcl.Diagnostics{attrError(attr, "Invalid vars", "vars must be an object, like { key = \"value\" }.")}
	}
	for k, e := range v.AsValueMap() {
		(*dst)[k] = e
	}
	return nil
}

func toPort(v cty.Value) (int, bool) {
	if v.IsNull() || !v.IsKnown() {
		return 0, false
	}
	var bf *big.Float
	switch v.Type() {
	case cty.Number:
		bf = v.AsBigFloat()
	case cty.String:
		var ok bool
		bf, ok = new(big.Float).SetString(v.AsString())
		if !ok {
			return 0, false
		}
	default:
		return 0, false
	}
	if !bf.IsInt() {
		return 0, false
	}
	n, _ := bf.Int64()
	if n < 1 || n > 65535 {
		return 0, false
	}
	return int(n), true
}
