package main

import (
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// hclValue writes v as HCL on one line, as a runbook would write it:
// "viz", 64, true, null, ["a", "b"], { cpus = 64, "rack-a" = "x" }.
// Text is quoted and escaped (${ as $${), so what is printed reads back
// as the same value.
func hclValue(v cty.Value) string {
	if v.IsNull() || !v.IsKnown() || v.Type().IsPrimitiveType() {
		return string(hclwrite.TokensForValue(v).Bytes())
	}
	t := v.Type()
	var parts []string
	if t.IsObjectType() || t.IsMapType() {
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			name := k.AsString()
			if !hclsyntax.ValidIdentifier(name) {
				name = hclValue(k)
			}
			parts = append(parts, name+" = "+hclValue(e))
		}
		if len(parts) == 0 {
			return "{}"
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		parts = append(parts, hclValue(e))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
