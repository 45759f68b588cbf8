package lang

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Runbook authors come from Terraform, so a function that has a
// Terraform function's name must behave as Terraform's does. This test
// asks a real terraform (`terraform console`) for the value of each
// expression below and compares it with runbook's: Terraform is the
// oracle, and no expected value is written here.

// terraformVersion is what testbed/install-terraform builds: the last
// release under the MPL. The test uses any terraform it is pointed at,
// and logs which.
const terraformVersion = "1.5.7"

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

// findTerraform returns the terraform to compare with: $RUNBOOK_TERRAFORM,
// the one testbed/install-terraform caches, or one on PATH.
func findTerraform() string {
	if p := os.Getenv("RUNBOOK_TERRAFORM"); p != "" {
		return p
	}
	if dir, err := os.UserCacheDir(); err == nil {
		p := filepath.Join(dir, "runbook", "terraform-"+terraformVersion, "terraform")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	if p, err := exec.LookPath("terraform"); err == nil {
		return p
	}
	return ""
}

// requireTerraform skips the test when there is no terraform, except
// under RUNBOOK_REQUIRE_ORACLES (set by `make test`), where a missing
// oracle is a failure rather than a silent skip.
func requireTerraform(t *testing.T) *terraformCLI {
	t.Helper()
	bin := findTerraform()
	if bin == "" {
		if os.Getenv("RUNBOOK_REQUIRE_ORACLES") != "" {
			t.Fatal("RUNBOOK_REQUIRE_ORACLES is set and no terraform was found: run testbed/install-terraform, or set RUNBOOK_TERRAFORM")
		}
		t.Skip("no terraform binary (testbed/install-terraform builds one; RUNBOOK_REQUIRE_ORACLES=1 makes this a failure)")
	}
	tf := &terraformCLI{bin: bin, dir: t.TempDir()}
	// Isolate it from the user's CLI configuration, its plugin cache and
	// the network (no version check).
	cliConfig := filepath.Join(tf.dir, ".terraformrc")
	if err := os.WriteFile(cliConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tf.env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
		"TF_CLI_CONFIG_FILE="+cliConfig, "TF_DATA_DIR="+filepath.Join(tf.dir, ".terraform"))
	out, err := tf.command("version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	t.Logf("oracle: %s (%s)", bin, strings.SplitN(string(out), "\n", 2)[0])
	return tf
}

type terraformCLI struct {
	bin string
	dir string
	env []string
}

func (tf *terraformCLI) command(args ...string) *exec.Cmd {
	cmd := exec.Command(tf.bin, args...)
	cmd.Dir = tf.dir
	cmd.Env = tf.env
	return cmd
}

// eval returns what `terraform console` prints for expr, or ok=false when
// terraform reports an error in it. Anything else (terraform not
// running, or failing without a diagnostic) fails the test, so a broken
// oracle is never read as "both fail".
func (tf *terraformCLI) eval(t *testing.T, expr string) (out string, ok bool) {
	t.Helper()
	// Each console gets its own state file: they run in parallel, and
	// they would otherwise wait on one another's lock of the default one.
	state, err := os.CreateTemp(tf.dir, "*.tfstate")
	if err != nil {
		t.Fatal(err)
	}
	state.Close()
	os.Remove(state.Name())
	defer os.Remove(state.Name())
	cmd := tf.command("console", "-state="+state.Name())
	cmd.Stdin = strings.NewReader(expr + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	plain := ansi.ReplaceAllString(stderr.String(), "")
	switch {
	case err == nil:
		return strings.TrimRight(stdout.String(), "\n"), true
	// Only an error about the expression itself counts: its diagnostic
	// points into the console's input.
	case errors.As(err, &ee) && ee.ExitCode() == 1 && strings.Contains(plain, "on <console-input> line 1"):
		return plain, false
	default:
		t.Fatalf("terraform console on %s: %v\nstdout: %s\nstderr: %s", expr, err, stdout.String(), stderr.String())
		return "", false
	}
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
	tf := requireTerraform(t)
	writeOracleFiles(t, tf.dir)
	// A check of the comparison itself: a value terraform and the
	// formatter must agree on, or every other comparison means nothing.
	if out, ok := tf.eval(t, `[tolist(["a"]), {a = 1}, "x\ny", tomap({k = true}), null, 1.5, "q\""]`); !ok {
		t.Fatalf("terraform could not evaluate the self-check: %s", out)
	} else if v, diags := runbookEval(tf.dir, `[tolist(["a"]), {a = 1}, "x\ny", tomap({k = true}), null, 1.5, "q\""]`); diags.HasErrors() || formatValue(v, 0) != out {
		t.Fatalf("the formatter does not print as terraform console does:\nterraform:\n%s\nformatter:\n%s", out, formatValue(v, 0))
	}
	for _, expr := range oracleExprs {
		t.Run(expr, func(t *testing.T) {
			t.Parallel()
			want, tfOK := tf.eval(t, expr)
			v, diags := runbookEval(tf.dir, expr)
			switch {
			case tfOK && diags.HasErrors():
				t.Errorf("%s\nterraform: %s\nrunbook fails: %s", expr, want, diags.Error())
			case !tfOK && !diags.HasErrors():
				t.Errorf("%s\nterraform fails: %s\nrunbook: %s", expr, firstErrorLine(want), formatValue(v, 0))
			case tfOK:
				if got := formatValue(v, 0); got != want {
					t.Errorf("%s\nterraform: %s\nrunbook:   %s", expr, want, got)
				}
			}
		})
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func firstErrorLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if i := strings.Index(l, "Error: "); i >= 0 {
			return strings.TrimSpace(l[i:])
		}
	}
	return strings.TrimSpace(stderr)
}

// TestTerraformOracleHome compares "~" in file paths, which both read as
// $HOME; it cannot run in parallel with the others, as it sets HOME.
func TestTerraformOracleHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.WriteFile(filepath.Join(home, "home.txt"), []byte("at home"), 0o644); err != nil {
		t.Fatal(err)
	}
	tf := requireTerraform(t)
	for _, expr := range []string{`file("~/home.txt")`, `file("~/missing.txt")`, `templatefile("~/home.txt", {})`, `file("~")`} {
		want, tfOK := tf.eval(t, expr)
		v, diags := runbookEval(tf.dir, expr)
		switch {
		case tfOK != !diags.HasErrors():
			t.Errorf("%s\nterraform ok=%v: %s\nrunbook: %s %s", expr, tfOK, want, formatValue(v, 0), diags.Error())
		case tfOK && formatValue(v, 0) != want:
			t.Errorf("%s\nterraform: %s\nrunbook:   %s", expr, want, formatValue(v, 0))
		}
	}
}

// TestTerraformOracleCoversSharedFunctions checks that every function
// runbook's table shares with terraform (as that terraform lists them)
// is called by at least one expression above, so a function added to the
// table is compared too.
func TestTerraformOracleCoversSharedFunctions(t *testing.T) {
	tf := requireTerraform(t)
	out, err := tf.command("metadata", "functions", "-json").Output()
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

// formatValue prints a value as `terraform console` does (Terraform's
// internal/repl FormatValue, which shows each collection's type), so
// runbook's values can be compared with terraform's output as text.
func formatValue(v cty.Value, indent int) string {
	if !v.IsKnown() {
		return "(known after apply)"
	}
	if v.IsNull() {
		ty := v.Type()
		switch {
		case ty == cty.DynamicPseudoType:
			return "null"
		case ty == cty.String:
			return "tostring(null)"
		case ty == cty.Number:
			return "tonumber(null)"
		case ty == cty.Bool:
			return "tobool(null)"
		case ty.IsListType():
			return fmt.Sprintf("tolist(null) /* of %s */", ty.ElementType().FriendlyName())
		case ty.IsSetType():
			return fmt.Sprintf("toset(null) /* of %s */", ty.ElementType().FriendlyName())
		case ty.IsMapType():
			return fmt.Sprintf("tomap(null) /* of %s */", ty.ElementType().FriendlyName())
		default:
			return fmt.Sprintf("null /* %s */", ty.FriendlyName())
		}
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		if s, ok := formatMultiline(v.AsString(), indent); ok {
			return s
		}
		return strconv.Quote(v.AsString())
	case ty == cty.Number:
		return v.AsBigFloat().Text('f', -1)
	case ty == cty.Bool:
		if v.True() {
			return "true"
		}
		return "false"
	case ty.IsObjectType():
		return formatMapping(v, indent)
	case ty.IsTupleType():
		return formatSequence(v, indent)
	case ty.IsListType():
		return "tolist(" + formatSequence(v, indent) + ")"
	case ty.IsSetType():
		return "toset(" + formatSequence(v, indent) + ")"
	case ty.IsMapType():
		return "tomap(" + formatMapping(v, indent) + ")"
	}
	return fmt.Sprintf("%#v", v)
}

func formatMultiline(s string, indent int) (string, bool) {
	lines := strings.Split(s, "\n")
	if len(lines) < 2 {
		return "", false
	}
	op := "<<"
	if indent > 0 {
		op = "<<-"
	}
	delim := "EOT"
outer:
	for {
		for _, l := range lines {
			if strings.TrimSpace(l) == delim {
				delim += "_"
				continue outer
			}
		}
		break
	}
	var b strings.Builder
	b.WriteString(op + delim)
	for _, l := range lines {
		b.WriteString("\n" + strings.Repeat(" ", indent) + l)
	}
	b.WriteString("\n" + strings.Repeat(" ", indent) + delim)
	return b.String(), true
}

func formatMapping(v cty.Value, indent int) string {
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	for it := v.ElementIterator(); it.Next(); {
		n++
		k, e := it.Element()
		b.WriteString("\n" + strings.Repeat(" ", indent+2))
		b.WriteString(formatValue(k, indent+2) + " = " + formatValue(e, indent+2))
	}
	if n > 0 {
		b.WriteString("\n" + strings.Repeat(" ", indent))
	}
	b.WriteByte('}')
	return b.String()
}

func formatSequence(v cty.Value, indent int) string {
	var b strings.Builder
	b.WriteByte('[')
	n := 0
	for it := v.ElementIterator(); it.Next(); {
		n++
		_, e := it.Element()
		b.WriteString("\n" + strings.Repeat(" ", indent+2))
		b.WriteString(formatValue(e, indent+2) + ",")
	}
	if n > 0 {
		b.WriteString("\n" + strings.Repeat(" ", indent))
	}
	b.WriteByte(']')
	return b.String()
}
