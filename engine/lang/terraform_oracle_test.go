package lang

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-hpc/runbook/engine/lang/tforacle"
	"github.com/zclconf/go-cty/cty"
)

// Runbook authors come from Terraform, so a function that has a
// Terraform function's name must behave as Terraform's does. This test
// asks a real terraform (`terraform console`) for the value of each
// expression below and compares it with runbook's: Terraform is the
// oracle, and no expected value is written here.

// oracleExprs exercise every function runbook shares with Terraform
// (TestTerraformOracleCoversSharedFunctions checks that none is missed),
// with the edge cases where implementations tend to differ: empty and
// non-ASCII strings, negative indexes, nulls, mixed types, errors.
var oracleExprs = []string{
	// numbers
	`abs(-3)`, `abs(0)`, `abs(2.5)`,
	`ceil(1.2)`, `ceil(-1.2)`, `floor(1.8)`, `floor(-1.5)`,
	`max(1, 5, 3)`, `max(-1)`, `max()`, `min(4, 2.5, 9)`, `min("3", 2)`,
	`parseint("ff", 16)`, `parseint("-101", 2)`, `parseint("zz", 10)`, `parseint("10", 1)`, `parseint("FF", 16)`,
	// strings
	`chomp("a\n")`, `chomp("a\r\n\n")`, `chomp("a\nb")`,
	`format("%d-%s", 1, "a")`, `format("%.2f", 3.14159)`, `format("%q", "x")`, `format("%5s|%-5s|", "ab", "cd")`,
	`format("%v %v %v", true, 1.5, "s")`, `format("%#v", {a = 1})`, `format("%d", 1.5)`, `format("%s")`, `format("100%%")`,
	`formatlist("%s=%d", ["a", "b"], [1, 2])`, `formatlist("%s-%s", "x", ["a", "b"])`, `formatlist("%s", [])`, `formatlist("%s %s", ["a"], ["b", "c"])`,
	`indent(2, "a\nb\n")`, `indent(4, "one")`,
	`join(",", ["a", "b"])`, `join("-", [], ["c", "d"])`, `join(",", [])`, `join(",", [1, true])`,
	`lower("ÀBC")`, `upper("straße")`, `upper("abc")`,
	`regex("[0-9]+", "ab123cd")`, `regex("(\\d)(\\d)", "12")`, `regex("(?P<first>a)(?P<second>b)", "ab")`, `regex("z", "a")`,
	`regexall("[a-z]", "a1b2")`, `regexall("(\\d)", "x")`, `regexall("(a)(b)?", "a ab")`,
	`replace("hello world", "o", "0")`, `replace("hello", "/l+/", "L")`, `replace("a.b.c", ".", "-")`,
	`replace("2024-03-01", "/(\\d+)-(\\d+)-(\\d+)/", "$3.$2.$1")`, `replace("/x/", "/", "|")`,
	`split(",", "a,b,,c")`, `split(",", "")`, `split("", "abc")`,
	`strrev("abc")`, `strrev("héllo")`, `strrev("")`,
	`substr("hello", 1, 3)`, `substr("hello", -3, -1)`, `substr("héllo", 1, 2)`, `substr("hi", 5, 1)`, `substr("hello", 1, 100)`,
	`title("hello world-wide")`, `title("")`,
	`trim("?!hello?!", "!?")`, `trim("  a  ", " ")`, `trimprefix("helloworld", "hello")`, `trimprefix("hi", "x")`,
	`trimsuffix("helloworld", "world")`, `trimspace("  a b \n\t")`, `trimspace("\u00a0x\u3000")`,
	`startswith("hello", "he")`, `startswith("hello", "")`, `startswith("", "a")`, `startswith(1, "1")`,
	`endswith("hello", "lo")`, `endswith("hello", "he")`,
	`strcontains("hello", "ll")`, `strcontains("hello", "L")`, `strcontains("", "")`,
	// length counts a string's characters, as Terraform's does
	`length("abc")`, `length("")`, `length("héllo")`, `length("🇰🇷한국")`, `length("e\u0301")`,
	`length(["a", "b"])`, `length({a = 1, b = 2})`, `length(tolist([]))`,
	`length(tomap({a = 1}))`, `length(5)`, `length(true)`, `length(null)`,
	// collections
	`concat([1], [2, 3])`, `concat(["a"], [1])`, `concat()`, `concat(tolist(["a"]), ["b"])`,
	`contains(["a", "b"], "a")`, `contains([1, 2], 3)`, `contains([1, 2], "1")`,
	`distinct(["a", "b", "a", "c", "b"])`, `distinct([])`,
	// Not element(list, -1): Terraform 1.5.7 refuses a negative index,
	// Terraform since go-cty 1.15 (Terraform 1.13 ships 1.16.3) counts it
	// from the end, as runbook (go-cty 1.20) does; the pinned oracle
	// predates that, so it cannot judge it.
	`element(["a", "b"], 3)`, `element(["a", "b"], 0)`, `element([], 0)`, `element(["a"], 1.5)`,
	`flatten([[1, [2]], 3, []])`, `flatten([])`, `flatten([["a"], ["b", ["c"]]])`,
	`keys({b = 1, a = 2})`, `keys(tomap({z = "1"}))`, `keys({})`, `keys([1])`,
	`values({b = 1, a = 2})`, `values(tomap({x = "1", y = "2"}))`,
	`lookup({a = 1}, "a")`, `lookup({a = 1}, "b", 0)`, `lookup({a = 1}, "b")`, `lookup(tomap({a = "x"}), "b", "d")`,
	`lookup({a = "x", b = 1}, "b", "d")`, `lookup({a = "x"}, "z", 5)`, `lookup([1], "a", 0)`,
	`merge({a = 1}, {b = 2})`, `merge({a = 1}, {a = "x"})`, `merge(tomap({a = "1"}), tomap({b = "2"}))`, `merge()`, `merge({a = 1}, null)`,
	`range(3)`, `range(1, 4)`, `range(0, 10, 3)`, `range(5, 0, -2)`, `range(0)`, `range(1, 1)`, `range(0, 1, 0)`,
	`reverse([1, 2, 3])`, `reverse([])`, `reverse("abc")`,
	`slice(["a", "b", "c"], 1, 3)`, `slice(["a"], 0, 0)`, `slice(["a"], 1, 0)`, `slice(["a"], 0, 2)`,
	`sort(["b", "a", "10", "9"])`, `sort([3, 1])`, `sort([])`,
	`zipmap(["a", "b"], [1, 2])`, `zipmap(["a"], [1, 2])`, `zipmap([], [])`,
	`coalesce("", "a")`, `coalesce(null, 1)`, `coalesce("", null)`, `coalesce(1, "a")`, `coalesce(null, "", "b")`, `coalesce([], ["a"])`,
	`compact(["a", "", "b"])`, `compact(["a", null])`, `compact([])`,
	// encodings
	`jsonencode({a = [1, "x", true, null], b = {c = 1.5}})`, `jsonencode("<>&")`, `jsonencode(1e30)`, `jsonencode(tolist([]))`,
	`jsondecode("{\"a\": [1, 2], \"b\": null}")`, `jsondecode("[1, \"x\"]")`, `jsondecode("1.5")`, `jsondecode("{")`,
	`csvdecode("a,b\n1,2\n3,4\n")`, `csvdecode("a,b\n1\n")`, `csvdecode("a\n")`,
	// conversions
	`tostring(1)`, `tostring(true)`, `tostring("x")`, `tostring(null)`, `tostring([1])`,
	`tonumber("1.5")`, `tonumber("x")`, `tonumber(null)`, `tonumber(true)`,
	`tobool("true")`, `tobool("yes")`, `tobool(null)`,
	`tolist(["a", 1])`, `tolist([])`, `tolist("a")`,
	`tomap({a = 1, b = "x"})`, `tomap({})`, `tomap({a = [1]})`,
	`toset(["b", "a", "b"])`, `toset([])`, `toset([1, "a"])`, `length(toset(["x", "x"]))`,
	`alltrue([true, true])`, `alltrue([])`, `alltrue([true, false])`, `alltrue(["true"])`, `alltrue([true, null])`, `alltrue("x")`, `alltrue([1])`,
	`anytrue([false, true])`, `anytrue([])`, `anytrue([false, null])`, `anytrue(["true"])`, `anytrue(toset([false]))`,
	`sum([1, 2.5, 3])`, `sum([])`, `sum(["1", 2])`, `sum([1, null])`, `sum(toset([4, 5]))`, `sum("x")`, `sum([true])`, `sum(tolist([-1, 1]))`,
	`setunion(["a"], ["b", "a"])`, `setintersection(["a", "b"], ["b", "c"])`, `setsubtract(["a", "b"], ["b"])`,
	`try(tonumber("x"), 0)`, `try(upper("a"), 0)`, `try(tonumber("x"))`,
	`can(tonumber("x"))`, `can(regex("a", "a"))`,
	// dates
	`formatdate("YYYY-MM-DD hh:mm:ss", "2024-03-01T10:20:30Z")`, `formatdate("EEE, DD MMM YYYY h:mmaa ZZZ", "2024-03-01T23:05:00+09:00")`,
	`formatdate("'literal' YY M D", "2024-03-01T10:20:30Z")`, `formatdate("YYYY", "not a date")`,
	`timeadd("2024-01-01T00:00:00Z", "25h")`, `timeadd("2024-01-01T00:00:00Z", "-1m30s")`, `timeadd("2024-01-01T00:00:00+02:00", "1h")`, `timeadd("2024-01-01", "1h")`,
	// files (relative to the test's directory, which both tools start in)
	`file("hello.txt")`, `file("missing.txt")`, `file("latin1.txt")`, `file("sub/inner.txt")`,
	`templatefile("greet.tmpl", {name = "admin", items = ["a", "b"]})`, `templatefile("greet.tmpl", {name = "x"})`,
	`templatefile("greet.tmpl", {name = "x", items = [], extra = 1})`, `templatefile("greet.tmpl", "vars")`,
	`templatefile("plain.tmpl", {})`, `templatefile("nested.tmpl", {})`, `templatefile("uses_fn.tmpl", {n = "ab"})`, `templatefile("missing.tmpl", {})`,
	`templatefile("plain.tmpl", null)`, `templatefile("list.tmpl", {items = ["a", "b"]})`, `templatefile("plain.tmpl", {"not-an-identifier" = 1})`,
	`templatefile("latin1.txt", {})`, `templatefile("bad.tmpl", {})`, `file("sub")`,
}

// oracleFiles are the files the file functions read, written into the
// directory both tools evaluate in.
var oracleFiles = map[string]string{
	"hello.txt":     "hello\nworld\n",
	"latin1.txt":    "caf\xe9\n",
	"sub/inner.txt": "inner",
	"greet.tmpl":    "Hello ${name}!\n%{ for i in items ~}\n- ${i}\n%{ endfor ~}\n",
	"plain.tmpl":    "no interpolation",
	"nested.tmpl":   "${templatefile(\"plain.tmpl\", {})}",
	"uses_fn.tmpl":  "${upper(n)} ${length(n)}",
	"list.tmpl":     "${items}",
	"bad.tmpl":      "${",
}

// eval asks terraform for expr; an error counts only when it is about the
// expression itself (its diagnostic points into the console's input).
func eval(t *testing.T, tf *tforacle.Terraform, expr string, env ...string) (string, bool) {
	t.Helper()
	out, ok := tf.Console(t, expr, env)
	if !ok && !strings.Contains(out, "on <console-input> line 1") {
		t.Fatalf("terraform failed on %s, not in the expression:\n%s", expr, out)
	}
	return out, ok
}

// runbookEval evaluates expr as runbook does, with its function table
// and files resolved against dir.
func runbookEval(dir, expr string) (cty.Value, hcl.Diagnostics) {
	e, diags := hclsyntax.ParseExpression([]byte(expr), "oracle.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	return e.Value(&hcl.EvalContext{Functions: Functions(dir)})
}

func writeOracleFiles(t *testing.T, dir string) {
	t.Helper()
	for name, content := range oracleFiles {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTerraformOracleFunctions compares every expression's value (or
// failure) in runbook with terraform's.
func TestTerraformOracleFunctions(t *testing.T) {
	tf := tforacle.Require(t)
	writeOracleFiles(t, tf.Dir)
	// A check of the comparison itself: a value terraform and the
	// formatter must agree on, or every other comparison means nothing.
	if out, ok := eval(t, tf, `[tolist(["a"]), {a = 1}, "x\ny", tomap({k = true}), null, 1.5, "q\""]`); !ok {
		t.Fatalf("terraform could not evaluate the self-check: %s", out)
	} else if v, diags := runbookEval(tf.Dir, `[tolist(["a"]), {a = 1}, "x\ny", tomap({k = true}), null, 1.5, "q\""]`); diags.HasErrors() || tforacle.FormatValue(v) != out {
		t.Fatalf("the formatter does not print as terraform console does:\nterraform:\n%s\nformatter:\n%s", out, tforacle.FormatValue(v))
	}
	for _, expr := range oracleExprs {
		t.Run(expr, func(t *testing.T) {
			t.Parallel()
			want, tfOK := eval(t, tf, expr)
			v, diags := runbookEval(tf.Dir, expr)
			switch {
			case tfOK && diags.HasErrors():
				t.Errorf("%s\nterraform: %s\nrunbook fails: %s", expr, want, diags.Error())
			case !tfOK && !diags.HasErrors():
				t.Errorf("%s\nterraform fails: %s\nrunbook: %s", expr, tforacle.FirstError(want), tforacle.FormatValue(v))
			case tfOK:
				if got := tforacle.FormatValue(v); got != want {
					t.Errorf("%s\nterraform: %s\nrunbook:   %s", expr, want, got)
				}
			}
		})
	}
}

// TestTerraformOracleHome compares "~" in file paths, which both read as
// $HOME; it cannot run in parallel with the others, as it sets HOME.
func TestTerraformOracleHome(t *testing.T) {
	// Found before HOME moves: the cached terraform is under it.
	tf := tforacle.Require(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.WriteFile(filepath.Join(home, "home.txt"), []byte("at home"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{`file("~/home.txt")`, `file("~/missing.txt")`, `templatefile("~/home.txt", {})`, `file("~")`} {
		want, tfOK := eval(t, tf, expr, "HOME="+home)
		v, diags := runbookEval(tf.Dir, expr)
		switch {
		case tfOK != !diags.HasErrors():
			t.Errorf("%s\nterraform ok=%v: %s\nrunbook: %s %s", expr, tfOK, want, tforacle.FormatValue(v), diags.Error())
		case tfOK && tforacle.FormatValue(v) != want:
			t.Errorf("%s\nterraform: %s\nrunbook:   %s", expr, want, tforacle.FormatValue(v))
		}
	}
}

// TestTerraformOracleCoversSharedFunctions checks that every function
// runbook's table shares with terraform (as that terraform lists them)
// is called by at least one expression above, so a function added to the
// table is compared too.
func TestTerraformOracleCoversSharedFunctions(t *testing.T) {
	tf := tforacle.Require(t)
	out, err := tf.Command("metadata", "functions", "-json").Output()
	if err != nil {
		t.Fatalf("terraform metadata functions: %v", err)
	}
	var meta struct {
		Signatures map[string]json.RawMessage `json:"function_signatures"`
	}
	if err := json.Unmarshal(out, &meta); err != nil || len(meta.Signatures) == 0 {
		t.Fatalf("terraform metadata functions: %v (%d functions)", err, len(meta.Signatures))
	}
	called := map[string]bool{}
	for _, expr := range oracleExprs {
		e, diags := hclsyntax.ParseExpression([]byte(expr), "oracle.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", expr, diags.Error())
		}
		_ = hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
			if c, ok := n.(*hclsyntax.FunctionCallExpr); ok {
				called[c.Name] = true
			}
			return nil
		})
	}
	var shared, runbookOnly []string
	for name := range Functions(t.TempDir()) {
		if _, ok := meta.Signatures[name]; ok {
			shared = append(shared, name)
			if !called[name] {
				t.Errorf("%s is a terraform function, and no expression here compares it", name)
			}
		} else {
			runbookOnly = append(runbookOnly, name)
		}
	}
	sort.Strings(shared)
	sort.Strings(runbookOnly)
	if len(shared) < 40 {
		t.Errorf("only %d functions shared with terraform: is the metadata right?", len(shared))
	}
	t.Logf("compared: %d functions shared with terraform; runbook's own: %s", len(shared), strings.Join(runbookOnly, ", "))
}
