package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/runbook-hpc/runbook/engine/lang/tforacle"
	"github.com/zclconf/go-cty/cty"
)

// validateJSONRun runs validate --json and decodes what it printed; the
// JSON is all it prints: stderr stays empty.
func validateJSONRun(t *testing.T, args ...string) (validateOutput, result) {
	t.Helper()
	r := runCLI(t, append([]string{"validate", "--json"}, args...)...)
	noCrash(t, r)
	var doc validateOutput
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("validate --json printed no JSON: %v\n%s", err, r)
	}
	if r.stderr != "" {
		t.Errorf("validate --json wrote to stderr:\n%s", r.stderr)
	}
	errs, warns := 0, 0
	for _, d := range doc.Diagnostics {
		switch d.Severity {
		case "error":
			errs++
		case "warning":
			warns++
		default:
			t.Errorf("severity %q", d.Severity)
		}
	}
	if doc.FormatVersion != "1.0" || doc.ErrorCount != errs || doc.WarningCount != warns || doc.Valid != (errs == 0) {
		t.Errorf("header %+v does not agree with the diagnostics (%d errors, %d warnings)", doc, errs, warns)
	}
	if want := map[bool]int{true: exitOK, false: exitInvalid}[doc.Valid]; r.code != want {
		t.Errorf("valid=%v, exit %d; want %d", doc.Valid, r.code, want)
	}
	return doc, r
}

// checkRanges: each range points at the bytes it names (line, column and
// byte agree with the file), and the snippet's highlight is the same text.
func checkRanges(t *testing.T, doc validateOutput) {
	t.Helper()
	for _, d := range doc.Diagnostics {
		if d.Range == nil {
			continue
		}
		src, err := os.ReadFile(d.Range.Filename)
		if err != nil {
			t.Errorf("%s: range names %q: %v", d.Summary, d.Range.Filename, err)
			continue
		}
		for _, p := range []jsonPos{d.Range.Start, d.Range.End} {
			if p.Byte < 0 || p.Byte > len(src) {
				t.Fatalf("%s: byte %d outside the file", d.Summary, p.Byte)
			}
			before := src[:p.Byte]
			line := bytes.Count(before, []byte("\n")) + 1
			col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
			if p.Line != line || p.Column != col {
				t.Errorf("%s: %+v, but byte %d is line %d column %d", d.Summary, p, p.Byte, line, col)
			}
		}
		text := string(src[d.Range.Start.Byte:d.Range.End.Byte])
		s := d.Snippet
		if s == nil {
			t.Errorf("%s: no snippet", d.Summary)
			continue
		}
		if s.StartLine != d.Range.Start.Line || !strings.Contains(string(src), s.Code) {
			t.Errorf("%s: snippet from line %d %q is not the range's line %d", d.Summary, s.StartLine, s.Code, d.Range.Start.Line)
		}
		if got := s.Code[s.HighlightStartOffset:s.HighlightEndOffset]; got != text {
			t.Errorf("%s: the highlight is %q, the range %q", d.Summary, got, text)
		}
	}
}

func TestValidateJSON(t *testing.T) {
	doc, _ := validateJSONRun(t, exampleRunbook)
	if !doc.Valid || len(doc.Diagnostics) != 0 {
		t.Errorf("example: %+v", doc)
	}
	// An empty list, not null, as Terraform's.
	r := runCLI(t, "validate", "--json", exampleRunbook)
	if !strings.Contains(r.stdout, `"diagnostics": []`) {
		t.Errorf("no empty diagnostics list:\n%s", r.stdout)
	}

	broken := writeRunbook(t, `runbook "demo" {}

variable "n" {
  type    = string
  default = "abc"
}

step "check" "hello" {
  argv  = ["echo", var.n + 1]
  bogus = 1
}
`)
	doc, _ = validateJSONRun(t, broken)
	checkRanges(t, doc)
	bySummary := map[string]jsonDiagnostic{}
	for _, d := range doc.Diagnostics {
		bySummary[d.Summary] = d
	}
	arg, op := bySummary["Unsupported argument"], bySummary["Invalid operand"]
	if arg.Range == nil || arg.Range.Start.Line != 10 || arg.Snippet.Code != "  bogus = 1" ||
		arg.Snippet.Context == nil || *arg.Snippet.Context != `step "check" "hello"` {
		t.Errorf("unsupported argument: %+v %+v", arg.Range, arg.Snippet)
	}
	if op.Snippet == nil || len(op.Snippet.Values) != 1 || op.Snippet.Values[0] != (jsonValue{"var.n", `is "abc"`}) {
		t.Errorf("invalid operand values: %+v", op.Snippet)
	}
	if doc.Valid || doc.ErrorCount != 2 {
		t.Errorf("broken: %d errors, want 2", doc.ErrorCount)
	}

	// A syntax error, at the top level: no enclosing block (context null).
	syntax := writeRunbook(t, "runbook \"demo\" {}\n\nstep \"check\" {\n")
	doc, _ = validateJSONRun(t, syntax)
	checkRanges(t, doc)
	if doc.Valid || doc.Diagnostics[0].Snippet == nil {
		t.Errorf("syntax error: %+v", doc)
	}

	// A warning alone: valid, exit 0.
	warn := writeRunbook(t, `runbook "demo" {}

variable "pw" {
  type      = string
  sensitive = true
  default   = "not-a-real-one"
}

step "check" "x" { argv = ["echo", var.pw] }
`)
	doc, _ = validateJSONRun(t, warn)
	if !doc.Valid || doc.WarningCount != 1 || doc.ErrorCount != 0 {
		t.Errorf("warning only: %+v", doc)
	}
	checkRanges(t, doc)

	// Errors that are no diagnostic (the inventory where -i points is
	// not there; the runbook's hosts are not in the inventory) are
	// diagnostics without a range.
	doc, _ = validateJSONRun(t, exampleRunbook, "-i", filepath.Join(t.TempDir(), "missing.hcl"))
	if doc.Valid || len(doc.Diagnostics) != 1 || doc.Diagnostics[0].Range != nil || doc.Diagnostics[0].Summary == "" {
		t.Errorf("missing inventory: %+v", doc)
	}
	inv := filepath.Join(t.TempDir(), "inventory.hcl")
	if err := os.WriteFile(inv, []byte("host \"other\" {\n  local = true\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hosts := writeRunbook(t, "runbook \"demo\" {\n  hosts = [\"ctl\"]\n}\n\nstep \"check\" \"x\" { argv = [\"true\"] }\n")
	doc, _ = validateJSONRun(t, hosts, "-i", inv)
	if doc.Valid || len(doc.Diagnostics) != 1 || !strings.Contains(doc.Diagnostics[0].Summary, "ctl") {
		t.Errorf("hosts not in the inventory: %+v", doc)
	}
	// An inventory's own diagnostics point into it.
	if err := os.WriteFile(inv, []byte("host \"other\" {\n  bogus = true\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, _ = validateJSONRun(t, hosts, "-i", inv)
	if doc.Valid || len(doc.Diagnostics) == 0 || doc.Diagnostics[0].Range == nil || doc.Diagnostics[0].Range.Filename != inv {
		t.Errorf("broken inventory: %+v", doc)
	}
	checkRanges(t, doc)

	// The text output is unchanged by all this: diagnostics on stderr.
	r = runCLI(t, "validate", broken)
	if r.code != exitInvalid || r.stdout != "" || !strings.Contains(r.stderr, "Error: Unsupported argument") {
		t.Errorf("validate without --json:\n%s", r)
	}
}

// TestValidateJSONHidesSensitiveValues: validate --json hides what
// validate hides (TestDiagnosticsHideSensitiveValues): no value of a
// sensitive variable, however given, in the summary, detail, snippet code,
// context or values; a secret number's value is "has a sensitive value".
func TestValidateJSONHidesSensitiveValues(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	secrets := []string{"DiagSecret99", `Diag'Sec"ret<&>99`, "multi\nline 'diag'", randomSecret(rng), randomSecret(rng)}
	for name, rb := range diagRunbooks {
		path := writeRunbook(t, `runbook "diag" {}`+"\n"+rb.src)
		for _, secret := range secrets {
			varFile := filepath.Join(t.TempDir(), "secret.hcl")
			quoted := hclwrite.TokensForValue(cty.StringVal(secret)).Bytes()
			if err := os.WriteFile(varFile, append([]byte("pw = "), quoted...), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, given := range []struct {
				how  string
				env  string
				args []string
			}{
				{how: "RUNBOOK_VAR_pw", env: secret},
				{how: "--var", args: []string{"--var", "pw=" + secret}},
				{how: "--var-file", args: []string{"--var-file", varFile}},
			} {
				if given.how == "--var-file" && !utf8.ValidString(secret) {
					continue
				}
				t.Setenv("RUNBOOK_VAR_pw", given.env)
				if given.env == "" {
					os.Unsetenv("RUNBOOK_VAR_pw")
				}
				doc, r := validateJSONRun(t, append([]string{path}, given.args...)...)
				if doc.Valid {
					t.Errorf("%s via %s: want a diagnostic:\n%s", name, given.how, r)
					continue
				}
				// The decoded text too: JSON escapes what the raw check
				// might not recognise.
				var decoded strings.Builder
				for _, d := range doc.Diagnostics {
					fmt.Fprintln(&decoded, d.Summary, d.Detail)
					if s := d.Snippet; s != nil {
						fmt.Fprintln(&decoded, s.Code)
						if s.Context != nil {
							fmt.Fprintln(&decoded, *s.Context)
						}
						for _, v := range s.Values {
							fmt.Fprintln(&decoded, v.Traversal, v.Statement)
						}
					}
				}
				if leak := secretLeak(secret, r.stdout+decoded.String()); leak != "" {
					t.Errorf("%s via %s: secret %q shows: %s\n%s", name, given.how, secret, leak, r.stdout)
				}
			}
		}
	}
	// A sensitive number in an expression's values.
	path := writeRunbook(t, `runbook "diag" {}

variable "pw" {
  type      = number
  sensitive = true
}

step "check" "x" {
  env     = { N = length(var.pw) }
  command = "echo $N"
}
`)
	doc, r := validateJSONRun(t, path, "--var", "pw=918273645")
	if len(doc.Diagnostics) != 1 || doc.Diagnostics[0].Snippet == nil ||
		fmt.Sprint(doc.Diagnostics[0].Snippet.Values) != "[{var.pw has a sensitive value}]" || strings.Contains(r.stdout, "918273645") {
		t.Errorf("sensitive number: %s", r.stdout)
	}
}

// jsonShape is the structure of a JSON document, as the set of its paths
// with the type found there ("diagnostics[].range.start.line number");
// what an array holds is under "[]", and an empty array is "array".
func jsonShape(t *testing.T, b []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	set := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			set[path+" object"] = true
			for k, e := range x {
				walk(strings.TrimPrefix(path+"."+k, "."), e)
			}
		case []any:
			set[path+" array"] = true
			for _, e := range x {
				walk(path+"[]", e)
			}
		case string:
			set[path+" string"] = true
		case float64:
			set[path+" number"] = true
		case bool:
			set[path+" bool"] = true
		case nil:
			set[path+" null"] = true
		}
	}
	walk("", v)
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestValidateJSONShapeIsTerraforms holds validate --json against a real
// terraform's validate -json: for configurations broken in the same ways
// (an unknown argument in a block, an operator on a string a reference
// holds, an unknown argument at the top level), the two documents have
// the same keys with the same JSON types at every depth; and so do the
// documents of valid files. The messages differ and are not compared;
// runbook exits 3 where terraform exits 1.
func TestValidateJSONShapeIsTerraforms(t *testing.T) {
	tf := tforacle.Require(t)
	// terraform validate reports argument errors before it evaluates
	// anything, so each kind of error is a file of its own.
	tfBrokenFiles := []string{
		"locals {\n  a = \"abc\"\n  b = local.a + 1\n}\n",
		"variable \"x\" {\n  type  = string\n  bogus = 1\n}\n",
		"bogus_top = 1\n",
	}
	rbBrokenFiles := []string{
		"runbook \"demo\" {}\n\nvariable \"n\" {\n  type    = string\n  default = \"abc\"\n}\n\nstep \"check\" \"x\" {\n  argv = [\"echo\", var.n + 1]\n}\n",
		"runbook \"demo\" {}\n\nvariable \"x\" {\n  type  = string\n  bogus = 1\n}\n",
		"runbook \"demo\" {}\n\nbogus_top = 1\n",
	}
	tfValidate := func(src string) ([]byte, int) {
		if err := os.WriteFile(filepath.Join(tf.Dir, "main.tf"), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		c := tf.Command("validate", "-json", "-no-color")
		c.Stdout, c.Stderr = &stdout, &stderr
		code := 0
		if err := c.Run(); err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatalf("terraform validate: %v\n%s", err, stderr.String())
			}
			code = ee.ExitCode()
		}
		return stdout.Bytes(), code
	}

	var tfShape []string
	var tfBroken, tfOperand []byte
	for _, src := range tfBrokenFiles {
		out, code := tfValidate(src)
		if code != 1 {
			t.Fatalf("terraform validate exit %d on a broken file:\n%s\n%s", code, src, out)
		}
		tfShape = union(tfShape, jsonShape(t, out))
		tfBroken = append(tfBroken, out...)
		if strings.HasPrefix(src, "locals") {
			tfOperand = out
		}
	}
	tfValid, code := tfValidate("variable \"x\" {\n  type = string\n}\n")
	if code != 0 {
		t.Fatalf("terraform validate exit %d on a valid file:\n%s", code, tfValid)
	}

	var rbShape []string
	var rbBroken, rbOperand []byte
	for i, src := range rbBrokenFiles {
		r := runCLI(t, "validate", "--json", writeRunbook(t, src))
		if r.code != exitInvalid {
			t.Fatalf("runbook validate --json: %s", r)
		}
		rbShape = union(rbShape, jsonShape(t, []byte(r.stdout)))
		rbBroken = append(rbBroken, r.stdout...)
		if i == 0 {
			rbOperand = []byte(r.stdout)
		}
	}
	if got, want := strings.Join(rbShape, "\n"), strings.Join(tfShape, "\n"); got != want {
		t.Errorf("validate --json of broken files differs in shape from terraform's:\n%s\nrunbook:\n%s\n\nterraform:\n%s", shapeDiff(rbShape, tfShape), rbBroken, tfBroken)
	}
	rbValid := runCLI(t, "validate", "--json", exampleRunbook)
	if got, want := jsonShape(t, []byte(rbValid.stdout)), jsonShape(t, tfValid); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("validate --json of a valid file differs in shape from terraform's:\n%s", shapeDiff(got, want))
	}
	// The values of a reference are stated alike.
	var tfDoc, rbDoc validateOutput
	_ = json.Unmarshal(tfOperand, &tfDoc)
	_ = json.Unmarshal(rbOperand, &rbDoc)
	statement := func(doc validateOutput) string {
		for _, d := range doc.Diagnostics {
			if d.Snippet != nil && len(d.Snippet.Values) > 0 {
				return d.Snippet.Values[0].Statement
			}
		}
		return ""
	}
	if a, b := statement(tfDoc), statement(rbDoc); a != `is "abc"` || a != b {
		t.Errorf("a string reference's value: terraform %q, runbook %q", a, b)
	}
}

func union(a, b []string) []string {
	set := map[string]bool{}
	for _, s := range append(append([]string{}, a...), b...) {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func shapeDiff(got, want []string) string {
	in := func(xs []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var b strings.Builder
	for _, x := range want {
		if !g[x] {
			fmt.Fprintf(&b, "  missing: %s\n", x)
		}
	}
	for _, x := range got {
		if !w[x] {
			fmt.Fprintf(&b, "  extra:   %s\n", x)
		}
	}
	return b.String()
}
