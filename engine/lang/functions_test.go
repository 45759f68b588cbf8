package lang

import (
	"os"
	"path/filepath"
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

// TestTerraformFunctionsWithUnknowns covers what the oracle cannot: in a
// plan, values that only apply will know are unknown, and each function
// runbook implements itself must give "known after apply" for them, not
// an error or a guess.
func TestTerraformFunctionsWithUnknowns(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.tmpl"), []byte("hello ${who}"), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]cty.Value{
		"s":    cty.UnknownVal(cty.String),
		"list": cty.UnknownVal(cty.List(cty.String)),
		"dyn":  cty.DynamicVal,
		"m":    cty.UnknownVal(cty.Map(cty.Number)),
		"obj":  cty.ObjectVal(map[string]cty.Value{"a": cty.UnknownVal(cty.String)}),
	}
	for _, src := range []string{
		`length(var.s)`, `length(var.list)`, `length(var.dyn)`, `lookup(var.m, "a", 0)`, `lookup(var.obj, "a")`,
		`coalesce(var.s, "x")`, `replace(var.s, "a", "b")`, `templatefile("t.tmpl", { who = var.s })`,
		`templatefile("t.tmpl", var.dyn)`,
	} {
		expr, diags := hclsyntax.ParseExpression([]byte(src), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		v, diags := expr.Value(&hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(vars)},
			Functions: Functions(dir),
		})
		if diags.HasErrors() {
			t.Errorf("%s: %s", src, diags.Error())
			continue
		}
		if v.IsWhollyKnown() {
			t.Errorf("%s = %#v, want unknown", src, v)
		}
	}
	// A tuple's or an object's length is in its type: known even when its
	// elements are not.
	v, diags := hclsyntax.ParseExpression([]byte(`length([var.s, var.s])`), "t.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got, diags := v.Value(&hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(vars)}, Functions: Functions(dir)})
	if diags.HasErrors() || !got.RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("length of a tuple of unknowns = %#v, %v; want 2", got, diags)
	}
}
