package config_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/zclconf/go-cty/cty"
)

const cliVarsRunbook = `
runbook "r" {}
variable "port" {
  type    = number
  default = 22
}
variable "on" {
  type    = bool
  default = false
}
variable "admins" {
  type    = list(string)
  default = []
}
variable "ids" {
  type    = set(number)
  default = []
}
variable "limits" {
  type    = map(number)
  default = {}
}
variable "spec" {
  type    = object({ cpu = number, mem = string })
  default = { cpu = 1, mem = "1G" }
}
variable "pair" {
  type    = tuple([string, number])
  default = ["a", 1]
}
variable "anything" {
  type    = any
  default = null
}
variable "plain" {
  default = "p"
}
`

// cliCase is one mistaken value, given as --var (env false) or as
// RUNBOOK_VAR_ (env true).
type cliCase struct {
	name   string
	env    bool
	assign string
	// want are pieces the detail must hold: the variable, its type and
	// the value written right.
	want []string
}

var cliMistakes = []cliCase{
	{name: "number as a word", assign: "port=eighty", want: []string{"--var port=eighty", "var.port is a number", `"eighty" is not one`, "--var port=12"}},
	{name: "number in the environment", env: true, assign: "port=abc", want: []string{"RUNBOOK_VAR_port=abc", "var.port is a number", "RUNBOOK_VAR_port=12"}},
	{name: "bool as yes", assign: "on=yes", want: []string{"var.on is a bool", "--var on=true", "--var on=false"}},
	{name: "list without brackets", assign: "admins=alice,bob", want: []string{"var.admins is list(string)", `--var 'admins=["alice","bob"]'`, "double quotes"}},
	{name: "list without quotes", assign: "admins=[alice,bob]", want: []string{"var.admins is list(string)", "bare word alice", `--var 'admins=["alice","bob"]'`}},
	{name: "list as one word", assign: "admins=alice", want: []string{`--var 'admins=["alice"]'`}},
	{name: "list in the environment", env: true, assign: "admins=alice,bob", want: []string{"RUNBOOK_VAR_admins=alice,bob", `RUNBOOK_VAR_admins='["alice","bob"]'`}},
	{name: "list cut short", assign: "admins=[\"alice\",", want: []string{"var.admins is list(string)", `--var 'admins=["alice"]'`}},
	{name: "set of numbers from a number", assign: "ids=5", want: []string{"var.ids is set(number)", "--var 'ids=[5]'"}},
	{name: "set of numbers from words", assign: "ids=a,b", want: []string{"--var 'ids=[1,2]'"}},
	{name: "map without braces", assign: "limits=cpu=4,mem=8", want: []string{"var.limits is map(number)", "--var 'limits={cpu=4,mem=8}'"}},
	{name: "object from a word", assign: "spec=big", want: []string{"var.spec is object({cpu=number,mem=string})", "--var 'spec={cpu=1,mem=\"b\"}'"}},
	{name: "object with some fields", assign: "spec=cpu=4,mem=8G", want: []string{"--var 'spec={cpu=4,mem=\"8G\"}'"}},
	{name: "tuple without brackets", assign: "pair=x,3", want: []string{"var.pair is tuple([string,number])", `--var 'pair=["x",3]'`}},
	{name: "any with a bare word", assign: "anything=hello", want: []string{"var.anything is any", `--var 'anything="hello"'`}},
	{name: "single quote in the value", assign: "admins=o'brien", want: []string{`--var 'admins=["o'\''brien"]'`}},
}

func (c cliCase) resolve(cfg *config.Config) (map[string]cty.Value, hcl.Diagnostics) {
	if c.env {
		return cfg.ResolveVariables(nil, []string{config.EnvPrefix + c.assign})
	}
	return cfg.ResolveVariables([]config.VarSource{{Assign: c.assign}}, nil)
}

// TestCLIValueDiagnostics checks that a wrong --var or RUNBOOK_VAR_ is
// explained as well as the same mistake in a var file: which variable,
// its type and how to write the value, with a snippet the diagnostic
// printer can show (never "(source code not available)").
func TestCLIValueDiagnostics(t *testing.T) {
	for _, c := range cliMistakes {
		t.Run(c.name, func(t *testing.T) {
			cfg := parse(t, cliVarsRunbook)
			_, diags := c.resolve(cfg)
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got:\n%s", diagList(diags))
			}
			d := diags[0]
			if d.Summary != "Invalid value for variable" {
				t.Errorf("summary %q", d.Summary)
			}
			for _, w := range c.want {
				if !strings.Contains(d.Detail, w) {
					t.Errorf("detail lacks %q:\n%s", w, d.Detail)
				}
			}
			if d.Subject == nil {
				t.Fatalf("no subject: the value should be shown")
			}
			var out bytes.Buffer
			if err := hcl.NewDiagnosticTextWriter(&out, cfg.Parser.Files(), 0, false).WriteDiagnostic(d); err != nil {
				t.Fatal(err)
			}
			_, text, _ := strings.Cut(c.assign, "=")
			if s := out.String(); strings.Contains(s, "source code not available") || !strings.Contains(s, "1: "+text) {
				t.Errorf("printed without the value's text %q:\n%s", text, s)
			}
		})
	}
}

// TestCLIValueAdviceWorks gives each value exactly as a diagnostic advised
// and checks that it is then accepted: advice that does not parse would be
// worse than none.
func TestCLIValueAdviceWorks(t *testing.T) {
	for _, c := range cliMistakes {
		t.Run(c.name, func(t *testing.T) {
			_, diags := c.resolve(parse(t, cliVarsRunbook))
			if len(diags) == 0 {
				t.Fatal("no diagnostic")
			}
			advice := lastAdvice(diags[0].Detail)
			if len(advice) == 0 {
				t.Fatalf("no advice in %q", diags[0].Detail)
			}
			for _, a := range advice {
				words, err := shellWords(a)
				if err != nil {
					t.Fatalf("advice %q: %v", a, err)
				}
				fixed := cliCase{env: c.env}
				switch {
				case c.env && len(words) == 1 && strings.HasPrefix(words[0], config.EnvPrefix):
					fixed.assign = strings.TrimPrefix(words[0], config.EnvPrefix)
				case !c.env && len(words) == 2 && words[0] == "--var":
					fixed.assign = words[1]
				default:
					t.Fatalf("advice %q is not a --var or %s assignment: %q", a, config.EnvPrefix, words)
				}
				if _, diags := fixed.resolve(parse(t, cliVarsRunbook)); diags.HasErrors() {
					t.Errorf("the advised %s is refused:\n%s", a, diagList(diags))
				}
			}
		})
	}
}

// lastAdvice finds the commands a detail advises: "--var ..." or
// "RUNBOOK_VAR_..." after the last colon or "Write", up to the final stop,
// split at " or ".
func lastAdvice(detail string) []string {
	i := strings.LastIndex(detail, ": ")
	if j := strings.LastIndex(detail, "Write "); j > i {
		i = j + len("Write ") - 2
	}
	if i < 0 {
		return nil
	}
	rest := strings.TrimSuffix(detail[i+2:], ".")
	if k := strings.Index(rest, " as in "); k >= 0 {
		rest = rest[k+len(" as in "):]
	}
	var out []string
	for _, a := range strings.Split(rest, " or ") {
		if strings.HasPrefix(a, "--var ") || strings.HasPrefix(a, config.EnvPrefix) {
			out = append(out, a)
		}
	}
	return out
}

// shellWords splits s as a POSIX shell would for the forms advice uses:
// bare words, single quotes, and 'a'\”b' for a quote inside.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errUnclosed
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '\\' && i+1 < len(s):
			cur.WriteByte(s[i+1])
			i++
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

type shellErr string

func (e shellErr) Error() string { return string(e) }

const errUnclosed = shellErr("unclosed single quote")

// TestCLIValueParsing checks how text becomes a value, as Terraform reads
// -var and TF_VAR_: a string, number or bool variable, or one with no type,
// takes the text as is (then converted to its type); any other type,
// `any` included, reads it as an expression. (The oracle test in this
// package compares the same with a real terraform when there is one.)
func TestCLIValueParsing(t *testing.T) {
	cases := []struct {
		assign string
		want   cty.Value
	}{
		{"port=80", cty.NumberIntVal(80)},
		{"on=true", cty.True},
		{"plain=[1, 2]", cty.StringVal("[1, 2]")},
		{"plain=a=b", cty.StringVal("a=b")},
		{"anything=[1, 2]", cty.TupleVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2)})},
		{`anything="x"`, cty.StringVal("x")},
		{`admins=["alice", "bob"]`, cty.ListVal([]cty.Value{cty.StringVal("alice"), cty.StringVal("bob")})},
		{"limits={cpu=4}", cty.MapVal(map[string]cty.Value{"cpu": cty.NumberIntVal(4)})},
	}
	for _, c := range cases {
		t.Run(c.assign, func(t *testing.T) {
			for _, env := range []bool{false, true} {
				vals, diags := cliCase{env: env, assign: c.assign}.resolve(parse(t, cliVarsRunbook))
				if diags.HasErrors() {
					t.Fatalf("env=%v:\n%s", env, diagList(diags))
				}
				name, _, _ := strings.Cut(c.assign, "=")
				if got := vals[name]; !got.Equals(c.want).True() || !got.Type().Equals(c.want.Type()) {
					t.Errorf("env=%v: var.%s = %#v, want %#v", env, name, got, c.want)
				}
			}
		})
	}
}

// TestCLIValueTooDeep checks that a value nested past the parser's limit
// is refused with a diagnostic and no subject (its text is never handed
// to the recursive parser, not even to show it), not a crash.
func TestCLIValueTooDeep(t *testing.T) {
	cfg := parse(t, cliVarsRunbook)
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	_, diags := cfg.ResolveVariables([]config.VarSource{{Assign: "admins=" + deep}}, nil)
	d := findDiag(diags, hcl.DiagError, "Invalid value for variable")
	if d == nil {
		t.Fatalf("no error:\n%s", diagList(diags))
	}
	if d.Subject != nil {
		t.Errorf("subject %v for a text the printer was not given", d.Subject)
	}
	if !strings.Contains(d.Detail, "nested too deeply") {
		t.Errorf("detail %q does not say why", d.Detail)
	}
}

// TestCLIValueRepeated checks that two wrong values for one variable each
// show their own text.
func TestCLIValueRepeated(t *testing.T) {
	cfg := parse(t, cliVarsRunbook)
	_, diags := cfg.ResolveVariables([]config.VarSource{{Assign: "admins=[x"}, {Assign: "admins=[y"}}, nil)
	if len(diags) != 2 {
		t.Fatalf("want 2 diagnostics:\n%s", diagList(diags))
	}
	files := cfg.Parser.Files()
	for i, want := range []string{"[x", "[y"} {
		s := diags[i].Subject
		if s == nil || files[s.Filename] == nil || string(files[s.Filename].Bytes) != want {
			t.Errorf("diagnostic %d points at %v, not at the text %q", i, s, want)
		}
	}
}

// FuzzCLIValue gives any text to a variable of each type, as --var and
// as RUNBOOK_VAR_: it must never crash; a diagnostic's subject must be a
// source the printer holds (so it never prints "(source code not
// available)"); an accepted value must have the variable's type; and a
// value written as a diagnostic advises must be accepted.
func FuzzCLIValue(f *testing.F) {
	for _, c := range cliMistakes {
		_, text, _ := strings.Cut(c.assign, "=")
		f.Add(text)
	}
	for _, s := range []string{"", "80", `{cpu = 4, mem = "8G"}`, `["a${b}"]`, "a,\x00,b", "Inf,0x10", `"\u00e9"`, "[[[[", "%{", "a\nb"} {
		f.Add(s)
	}
	names := []string{"port", "on", "admins", "ids", "limits", "spec", "pair", "anything", "plain"}
	f.Fuzz(func(t *testing.T, text string) {
		for _, name := range names {
			for _, env := range []bool{false, true} {
				if env && strings.ContainsRune(text, 0) {
					continue // no environment variable holds a NUL
				}
				cfg := parse(t, cliVarsRunbook)
				c := cliCase{env: env, assign: name + "=" + text}
				vals, diags := c.resolve(cfg)
				if !diags.HasErrors() {
					v := cfg.Variable(name)
					if got := vals[name]; got != cty.NilVal && !got.IsNull() && !got.Type().Equals(v.Type) && v.Type != cty.DynamicPseudoType {
						t.Fatalf("%s: var.%s has type %s, want %s", c.assign, name, got.Type().FriendlyName(), v.Type.FriendlyName())
					}
					continue
				}
				var out bytes.Buffer
				if err := hcl.NewDiagnosticTextWriter(&out, cfg.Parser.Files(), 0, false).WriteDiagnostics(diags); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(out.String(), "source code not available") {
					t.Fatalf("%s:\n%s", c.assign, out.String())
				}
				for _, a := range lastAdvice(diags[0].Detail) {
					words, err := shellWords(a)
					if err != nil || len(words) == 0 {
						t.Fatalf("%s: advice %q does not split: %v", c.assign, a, err)
					}
					fixed := cliCase{env: env}
					if env {
						fixed.assign = strings.TrimPrefix(words[0], config.EnvPrefix)
					} else if len(words) == 2 {
						fixed.assign = words[1]
					}
					if _, d := fixed.resolve(parse(t, cliVarsRunbook)); d.HasErrors() {
						t.Fatalf("%s: the advised %s is refused:\n%s", c.assign, a, diagList(d))
					}
				}
			}
		}
	})
}
