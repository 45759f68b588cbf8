package lang

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// TestLengthOfVariable is issue 14's bug 8 as a user met it:
// length(var.s) on a string. It runs without terraform; the oracle test
// compares length, and the rest of the table, with a real one.
func TestLengthOfVariable(t *testing.T) {
	for s, want := range map[string]int64{"abc": 3, "": 0, "héllo": 5, "한국": 2} {
		expr, diags := hclsyntax.ParseExpression([]byte(`length(var.s)`), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		v, diags := expr.Value(&hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"s": cty.StringVal(s)})},
			Functions: Functions(t.TempDir()),
		})
		if diags.HasErrors() {
			t.Fatalf("length(%q): %s", s, diags.Error())
		}
		if !v.RawEquals(cty.NumberIntVal(want)) {
			t.Errorf("length(%q) = %#v, want %d", s, v, want)
		}
	}
}
