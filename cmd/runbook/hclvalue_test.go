package main

import (
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func TestHCLValue(t *testing.T) {
	for _, c := range []struct {
		v    cty.Value
		want string
	}{
		{cty.StringVal("viz"), `"viz"`},
		{cty.StringVal(`say "hi" ${x} %{y}`), `"say \"hi\" $${x} %%{y}"`},
		{cty.NumberIntVal(64), "64"},
		{cty.NumberFloatVal(3.0), "3"},
		{cty.NumberFloatVal(0.5), "0.5"},
		{cty.NumberVal(new(big.Float).SetInt(new(big.Int).Lsh(big.NewInt(1), 100))), "1267650600228229401496703205376"},
		{cty.True, "true"},
		{cty.NullVal(cty.DynamicPseudoType), "null"},
		{cty.EmptyTupleVal, "[]"},
		{cty.EmptyObjectVal, "{}"},
		{cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.NumberIntVal(1), cty.False}), `["a", 1, false]`},
		{cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("hq"), "rack-count": cty.NumberIntVal(12), "two words": cty.True, "1": cty.NullVal(cty.DynamicPseudoType)}),
			`{ "1" = null, name = "hq", rack-count = 12, "two words" = true }`},
		{cty.ObjectVal(map[string]cty.Value{"n": cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"o": cty.NullVal(cty.DynamicPseudoType)})})}), `{ n = [{ o = null }] }`},
	} {
		got := hclValue(c.v)
		if got != c.want {
			t.Errorf("%#v: got %s, want %s", c.v, got, c.want)
			continue
		}
		// What is printed is HCL that reads back as the value.
		expr, diags := hclsyntax.ParseExpression([]byte(got), "v", hcl.InitialPos)
		if diags.HasErrors() {
			t.Errorf("%s does not parse: %v", got, diags)
			continue
		}
		back, diags := expr.Value(nil)
		if diags.HasErrors() || !back.Equals(c.v).True() {
			t.Errorf("%s reads back as %#v", got, back)
		}
	}
}

// `runbook inventory` prints host variables in HCL, not Go's syntax.
func TestInventoryPrintsHCLValues(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "hosts.ini")
	src := "[viz]\nviz01 slurm_partition=viz cpus=64 gpus=\"['a100', 'a100']\"\n[viz:vars]\nsite={'name': 'hq'}\n"
	if err := os.WriteFile(inv, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "inventory", "-i", inv)
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{`var slurm_partition = "viz"`, "var cpus = 64", `var gpus = ["a100", "a100"]`, `var site = { name = "hq" }`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no %q in:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "cty.") {
		t.Errorf("Go syntax in:\n%s", r.stdout)
	}
}
