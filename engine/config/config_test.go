package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

// parse parses src and fails the test on any error.
func parse(t *testing.T, src string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse([]byte(src), "test.hcl", steps.Builtin())
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics:\n%s", diagList(diags))
	}
	return cfg
}

func diagList(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		b.WriteString("  ")
		if d.Severity == hcl.DiagWarning {
			b.WriteString("warning ")
		}
		b.WriteString(strings.Join([]string{strconv.Itoa(line), d.Summary, d.Detail}, ": "))
		b.WriteString("\n")
	}
	return b.String()
}

// findDiag returns the first diagnostic of severity sev with summary.
func findDiag(diags hcl.Diagnostics, sev hcl.DiagnosticSeverity, summary string) *hcl.Diagnostic {
	for _, d := range diags {
		if d.Severity == sev && d.Summary == summary {
			return d
		}
	}
	return nil
}

func names(ss []*config.Step) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, cfg *config.Config)
	}{
		{
			name: "runbook block with a host list",
			src: `
runbook "phase2" {
  title       = "Phase 2"
  description = "QOS and accounts"
  hosts       = ["login01", "slurm"]
}`,
			check: func(t *testing.T, cfg *config.Config) {
				rb := cfg.Runbook
				if rb == nil {
					t.Fatal("Runbook is nil")
				}
				if rb.Name != "phase2" || rb.Title != "Phase 2" || rb.Description != "QOS and accounts" {
					t.Errorf("runbook = %+v", rb)
				}
				if !reflect.DeepEqual(rb.Hosts, []string{"login01", "slurm"}) {
					t.Errorf("Hosts = %q", rb.Hosts)
				}
				if rb.DeclRange.Start.Line != 2 {
					t.Errorf("DeclRange line = %d, want 2", rb.DeclRange.Start.Line)
				}
			},
		},
		{
			name: "runbook hosts as one string",
			src:  `runbook "r" { hosts = "compute" }`,
			check: func(t *testing.T, cfg *config.Config) {
				if !reflect.DeepEqual(cfg.Runbook.Hosts, []string{"compute"}) {
					t.Errorf("Hosts = %q", cfg.Runbook.Hosts)
				}
			},
		},
		{
			name: "variables with type, default, sensitive and validation",
			src: `
runbook "r" {}
variable "ids" {
  type        = list(number)
  default     = [1, "2"]
  description = "ids"
}
variable "token" {
  type      = string
  sensitive = true
}
variable "account" {
  default = "hpc"
  validation {
    condition     = can(regex("^[a-z]+$", var.account))
    error_message = "lower case"
  }
  validation {
    condition     = length(var.account) < 10
    error_message = "short"
  }
}`,
			check: func(t *testing.T, cfg *config.Config) {
				if got := len(cfg.Variables); got != 3 {
					t.Fatalf("%d variables, want 3", got)
				}
				ids := cfg.Variable("ids")
				if !ids.Type.Equals(cty.List(cty.Number)) {
					t.Errorf("ids type = %s", ids.Type.FriendlyName())
				}
				// The default is converted to the type: "2" becomes 2.
				want := cty.ListVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2)})
				if !ids.Default.RawEquals(want) {
					t.Errorf("ids default = %#v, want %#v", ids.Default, want)
				}
				if ids.Description != "ids" || ids.Sensitive {
					t.Errorf("ids = %+v", ids)
				}
				tok := cfg.Variable("token")
				if !tok.Sensitive || tok.Default != cty.NilVal || !tok.Type.Equals(cty.String) {
					t.Errorf("token: sensitive=%v default=%#v type=%s", tok.Sensitive, tok.Default, tok.Type.FriendlyName())
				}
				acc := cfg.Variable("account")
				if acc.Type != cty.DynamicPseudoType {
					t.Errorf("untyped variable has type %s, want any", acc.Type.FriendlyName())
				}
				if len(acc.Validations) != 2 {
					t.Errorf("%d validations, want 2", len(acc.Validations))
				}
				if cfg.Variable("nope") != nil {
					t.Error("Variable(nope) is not nil")
				}
			},
		},
		{
			name: "locals keep source order",
			src: `
runbook "r" {}
locals {
  zeta  = "z"
  alpha = "${local.zeta}-a"
}
locals {
  mid = 1
}`,
			check: func(t *testing.T, cfg *config.Config) {
				var got []string
				for _, l := range cfg.Locals {
					got = append(got, l.Name)
				}
				if !reflect.DeepEqual(got, []string{"zeta", "alpha", "mid"}) {
					t.Errorf("locals = %q", got)
				}
			},
		},
		{
			name: "steps with common attributes",
			src: `
runbook "r" {}
step "check" "probe" {
  argv = ["true"]
}
step "command" "make" {
  title      = "Make it"
  checklist  = ["one", "two"]
  when       = true
  become     = true
  timeout    = "5m"
  retries    = 2
  delay      = "10s"
  until      = self.exit_code == 0
  depends_on = [step.probe]
  command    = "true"
  creates    = "/tmp/x"
}`,
			check: func(t *testing.T, cfg *config.Config) {
				if got := names(cfg.Steps); !reflect.DeepEqual(got, []string{"probe", "make"}) {
					t.Fatalf("steps = %q", got)
				}
				s := cfg.Step("make")
				if s.Kind != "command" || s.KindImpl == nil {
					t.Errorf("kind = %q impl=%v", s.Kind, s.KindImpl)
				}
				for name, e := range map[string]hcl.Expression{
					"title": s.Title, "checklist": s.Checklist, "when": s.When, "become": s.Become,
					"timeout": s.Timeout, "retries": s.Retries, "delay": s.Delay, "until": s.Until,
				} {
					if e == nil {
						t.Errorf("%s not recorded", name)
					}
				}
				if !reflect.DeepEqual(s.DependsOn, []string{"probe"}) {
					t.Errorf("DependsOn = %q", s.DependsOn)
				}
				if len(s.Refs) != 0 {
					t.Errorf("Refs = %q; depends_on is not a reference", s.Refs)
				}
				if got := s.AttrRange("timeout").Start.Line; got != 11 {
					t.Errorf("timeout on line %d, want 11", got)
				}
				if got := s.AttrRange("creates").Start.Line; got != 17 {
					t.Errorf("kind attribute creates on line %d, want 17", got)
				}
				if got := s.AttrRange("nonexistent").Start.Line; got != s.DeclRange.Start.Line || got != 6 {
					t.Errorf("missing attribute falls back to line %d, want the block's line 6", got)
				}
				if cfg.Step("probe").Title != nil {
					t.Error("probe has a title expression it does not declare")
				}
				if cfg.Step("nope") != nil {
					t.Error("Step(nope) is not nil")
				}
			},
		},
		{
			name: "references found in every expression, sorted and deduplicated",
			src: `
runbook "r" {}
step "check" "zz" {
  command = "true"
}
step "check" "aa" {
  command = "true"
}
step "check" "mm" {
  command = "true"
}
step "command" "user" {
  title   = "after ${step.zz.stdout}"
  when    = step.aa.exit_code == 0 && length(step.zz.lines) > 0
  command = "echo ${step.zz.stdout} ${join(",", [for l in step.mm.lines : upper(l)])}"
  until   = self.changed || step.aa.changed
}
step "check" "independent" {
  command = "echo ${var.v} ${local.l} ${host.name} ${runbook.name}"
}
variable "v" {
  default = "x"
}
locals {
  l = "y"
}`,
			check: func(t *testing.T, cfg *config.Config) {
				if got := cfg.Step("user").Refs; !reflect.DeepEqual(got, []string{"aa", "mm", "zz"}) {
					t.Errorf("Refs = %q, want [aa mm zz]", got)
				}
				if got := cfg.Step("independent").Refs; len(got) != 0 {
					t.Errorf("independent Refs = %q, want none", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, parse(t, tt.src))
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		summary string
		line    int
		detail  string
	}{
		{"unknown kind suggests", "runbook \"r\" {}\nstep \"comand\" \"a\" {\n command = \"true\"\n}", `Unknown step kind "comand"`, 2, `Did you mean "command"?`},
		{"unknown kind far from any", "runbook \"r\" {}\nstep \"frobnicate\" \"a\" {}", `Unknown step kind "frobnicate"`, 2, `"assert", "check", "command"`},
		{"duplicate step", "runbook \"r\" {}\nstep \"check\" \"a\" {\n command = \"true\"\n}\nstep \"check\" \"a\" {\n command = \"true\"\n}", `Duplicate step "a"`, 5, "test.hcl:2"},
		{"duplicate variable", "runbook \"r\" {}\nvariable \"x\" {}\nvariable \"x\" {}", `Duplicate variable "x"`, 3, "already declared"},
		{"undeclared variable suggests", "runbook \"r\" {}\nvariable \"account\" {}\nstep \"check\" \"a\" {\n command = var.acount\n}", "Reference to undeclared variable", 4, `Did you mean "account"?`},
		{"undeclared local", "runbook \"r\" {}\nlocals {\n a = local.b\n}", "Reference to undeclared local value", 3, `"b"`},
		{"undeclared step in depends_on", "runbook \"r\" {}\nstep \"check\" \"a\" {\n command = \"true\"\n depends_on = [step.b]\n}", "Reference to undeclared step", 4, `"b"`},
		{"step in local", "runbook \"r\" {}\nstep \"check\" \"a\" {\n command = \"true\"\n}\nlocals {\n x = step.a.stdout\n}", "Invalid reference", 6, "only var, local and host"},
		{"self outside until", "runbook \"r\" {}\nstep \"check\" \"a\" {\n command = \"true\"\n when = self.changed\n}", "Invalid reference to self", 4, "until"},
		{"step refers to itself", "runbook \"r\" {}\nstep \"check\" \"a\" {\n command = step.a.stdout\n}", "Step refers to itself", 3, "self"},
		{"validation reads a local", "runbook \"r\" {}\nlocals {\n a = 1\n}\nvariable \"x\" {\n default = 1\n validation {\n  condition = var.x > local.a\n  error_message = \"no\"\n }\n}", "Invalid reference in variable validation", 8, "var.<name>"},
		{"invalid step name", "runbook \"r\" {}\nstep \"check\" \"has space\" {\n command = \"true\"\n}", "Invalid step name", 2, `"has space"`},
		{"bad depends_on entry", "runbook \"r\" {}\nstep \"check\" \"a\" {\n command = \"true\"\n}\nstep \"check\" \"b\" {\n command = \"true\"\n depends_on = [var.a]\n}", "Invalid depends_on entry", 7, "step.<name>"},
		{"second runbook", "runbook \"a\" {}\n\nrunbook \"b\" {}", "Duplicate runbook block", 3, "test.hcl:1"},
		{"no runbook", "variable \"x\" {}", "Missing runbook block", 1, `runbook "name"`},
		{"default of wrong type", "runbook \"r\" {}\nvariable \"n\" {\n type = number\n default = \"x\"\n}", "Invalid default value for variable", 4, "var.n"},
		{"hosts as a map", "runbook \"r\" {\n hosts = { a = 1 }\n}", "Invalid hosts", 2, "got object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := config.Parse([]byte(tt.src), "test.hcl", steps.Builtin())
			d := findDiag(diags, hcl.DiagError, tt.summary)
			if d == nil {
				t.Fatalf("no error %q; got:\n%s", tt.summary, diagList(diags))
			}
			if d.Subject == nil || d.Subject.Start.Line != tt.line {
				t.Errorf("error %q at %v, want line %d", tt.summary, d.Subject, tt.line)
			}
			if !strings.Contains(d.Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", d.Detail, tt.detail)
			}
		})
	}
}

// TestParseNoSuggestionForFarNames checks that a "Did you mean" is only
// offered for near misses.
func TestParseNoSuggestionForFarNames(t *testing.T) {
	_, diags := config.Parse([]byte("runbook \"r\" {}\nvariable \"account\" {}\nstep \"check\" \"a\" {\n command = var.zzzzzzzz\n}"), "t.hcl", steps.Builtin())
	d := findDiag(diags, hcl.DiagError, "Reference to undeclared variable")
	if d == nil {
		t.Fatalf("no error; got:\n%s", diagList(diags))
	}
	if strings.Contains(d.Detail, "Did you mean") {
		t.Errorf("detail %q suggests a name that is not close", d.Detail)
	}
}

func TestParseFileMissing(t *testing.T) {
	cfg, diags := config.ParseFile(filepath.Join(t.TempDir(), "nope.hcl"), steps.Builtin())
	if cfg == nil || cfg.Parser == nil {
		t.Fatal("ParseFile must return a config with a parser even when the file is missing")
	}
	if d := findDiag(diags, hcl.DiagError, "Cannot read runbook"); d == nil {
		t.Fatalf("no read error; got:\n%s", diagList(diags))
	}
}

const varsRunbook = `
runbook "r" {}
variable "name" {
  type    = string
  default = "default"
}
variable "n" {
  type    = number
  default = 1
}
variable "ids" {
  type    = list(number)
  default = []
}
variable "anything" {
  default = "d"
}
variable "account" {
  type    = string
  default = "hpc"
  validation {
    condition     = can(regex("^[a-z][a-z0-9_-]*$", var.account))
    error_message = "account must be lower-case letters, digits, _ or -."
  }
}
`

func TestResolveVariables(t *testing.T) {
	dir := t.TempDir()
	writeFile := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fileA := writeFile("a.hcl", "name = \"file-a\"\nn = 7\n")
	fileB := writeFile("b.hcl", "name = \"file-b\"\nids = [4, 5]\n")
	list := func(ns ...int64) cty.Value {
		if len(ns) == 0 {
			return cty.ListValEmpty(cty.Number)
		}
		var vs []cty.Value
		for _, n := range ns {
			vs = append(vs, cty.NumberIntVal(n))
		}
		return cty.ListVal(vs)
	}
	assign := func(s string) config.VarSource { return config.VarSource{Assign: s} }
	file := func(p string) config.VarSource { return config.VarSource{File: p} }

	tests := []struct {
		name    string
		sources []config.VarSource
		env     []string
		want    map[string]cty.Value
	}{
		{
			name: "defaults",
			want: map[string]cty.Value{"name": cty.StringVal("default"), "n": cty.NumberIntVal(1), "ids": list(), "anything": cty.StringVal("d")},
		},
		{
			name: "environment beats default",
			env:  []string{"PATH=/bin", "RUNBOOK_VAR_name=from-env", "RUNBOOK_VAR_n=5", "RUNBOOK_VAR_ids=[3]", "RUNBOOK_VAR_undeclared=ignored"},
			want: map[string]cty.Value{"name": cty.StringVal("from-env"), "n": cty.NumberIntVal(5), "ids": list(3)},
		},
		{
			name:    "--var beats environment",
			env:     []string{"RUNBOOK_VAR_name=from-env"},
			sources: []config.VarSource{assign("name=from-cli")},
			want:    map[string]cty.Value{"name": cty.StringVal("from-cli")},
		},
		{
			name:    "--var-file beats environment",
			env:     []string{"RUNBOOK_VAR_name=from-env", "RUNBOOK_VAR_n=2"},
			sources: []config.VarSource{file(fileA)},
			want:    map[string]cty.Value{"name": cty.StringVal("file-a"), "n": cty.NumberIntVal(7)},
		},
		{
			name:    "--var then --var-file: the file wins",
			sources: []config.VarSource{assign("name=cli"), file(fileA)},
			want:    map[string]cty.Value{"name": cty.StringVal("file-a")},
		},
		{
			name:    "--var-file then --var: the --var wins",
			sources: []config.VarSource{file(fileA), assign("name=cli")},
			want:    map[string]cty.Value{"name": cty.StringVal("cli"), "n": cty.NumberIntVal(7)},
		},
		{
			name:    "two files: the later wins per variable",
			sources: []config.VarSource{file(fileA), file(fileB)},
			want:    map[string]cty.Value{"name": cty.StringVal("file-b"), "n": cty.NumberIntVal(7), "ids": list(4, 5)},
		},
		{
			name:    "repeated --var: last wins",
			sources: []config.VarSource{assign("n=1"), assign("n=2"), assign("n=3")},
			want:    map[string]cty.Value{"n": cty.NumberIntVal(3)},
		},
		{
			name:    "typed values parsed from --var",
			sources: []config.VarSource{assign("ids=[1,2]"), assign("n=42")},
			want:    map[string]cty.Value{"ids": list(1, 2), "n": cty.NumberIntVal(42)},
		},
		{
			name:    "string variables take the text as is",
			sources: []config.VarSource{assign("name=[1,2]"), assign("anything=a=b c")},
			want:    map[string]cty.Value{"name": cty.StringVal("[1,2]"), "anything": cty.StringVal("a=b c")},
		},
		{
			name:    "empty value",
			sources: []config.VarSource{assign("name=")},
			want:    map[string]cty.Value{"name": cty.StringVal("")},
		},
		{
			name:    "validation with can(regex()) passes",
			sources: []config.VarSource{assign("account=hpc-users")},
			want:    map[string]cty.Value{"account": cty.StringVal("hpc-users")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, varsRunbook)
			vals, diags := cfg.ResolveVariables(tt.sources, tt.env)
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", diagList(diags))
			}
			if len(vals) != len(cfg.Variables) {
				t.Errorf("%d values for %d variables", len(vals), len(cfg.Variables))
			}
			for name, want := range tt.want {
				if got := vals[name]; !got.RawEquals(want) {
					t.Errorf("var.%s = %#v, want %#v", name, got, want)
				}
			}
		})
	}
}

func TestResolveVariablesErrors(t *testing.T) {
	dir := t.TempDir()
	undeclared := filepath.Join(dir, "undeclared.hcl")
	if err := os.WriteFile(undeclared, []byte("name = \"ok\"\n\nnmae = \"typo\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		src     string
		sources []config.VarSource
		env     []string
		summary string
		detail  string
		line    int // 0: no subject check
	}{
		{name: "number from bad text", src: varsRunbook, sources: []config.VarSource{{Assign: "n=abc"}}, summary: "Invalid value for variable", detail: `var.n is a number, and "abc" is not one`, line: 1},
		{name: "list from a number", src: varsRunbook, sources: []config.VarSource{{Assign: "ids=5"}}, summary: "Invalid value for variable", detail: "var.ids is list(number)", line: 1},
		{name: "bad environment value", src: varsRunbook, env: []string{"RUNBOOK_VAR_ids=[1,"}, summary: "Invalid value for variable", detail: "RUNBOOK_VAR_ids=[1,: var.ids is list(number)", line: 1},
		{name: "undeclared --var", src: varsRunbook, sources: []config.VarSource{{Assign: "nmae=x"}}, summary: "Value for undeclared variable", detail: `Did you mean "name"?`},
		{name: "not name=value", src: varsRunbook, sources: []config.VarSource{{Assign: "name"}}, summary: "Invalid --var"},
		{name: "no name", src: varsRunbook, sources: []config.VarSource{{Assign: "=x"}}, summary: "Invalid --var"},
		{name: "undeclared in a var file", src: varsRunbook, sources: []config.VarSource{{File: undeclared}}, summary: "Value for undeclared variable", detail: `Did you mean "name"?`, line: 3},
		{name: "missing var file", src: varsRunbook, sources: []config.VarSource{{File: filepath.Join(dir, "nope.hcl")}}, summary: "Cannot read variable file"},
		{name: "validation fails on --var", src: varsRunbook, sources: []config.VarSource{{Assign: "account=Bad Name"}}, summary: "Invalid value for variable", detail: "account must be lower-case letters", line: 18},
		{name: "validation fails on env", src: varsRunbook, env: []string{"RUNBOOK_VAR_account=UPPER"}, summary: "Invalid value for variable", detail: "account must be lower-case letters"},
		{name: "validation fails on default", src: "runbook \"r\" {}\nvariable \"x\" {\n default = 5\n validation {\n  condition = var.x > 10\n  error_message = \"x must be more than 10\"\n }\n}", summary: "Invalid value for variable", detail: "x must be more than 10", line: 2},
		{name: "required variable", src: "runbook \"r\" {}\n\nvariable \"account\" {\n type = string\n}", summary: "No value for required variable", detail: "RUNBOOK_VAR_account", line: 3},
		{name: "validation not a bool", src: "runbook \"r\" {}\nvariable \"x\" {\n default = 5\n validation {\n  condition = \"yes\"\n  error_message = \"m\"\n }\n}", summary: "Invalid validation condition", line: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, tt.src)
			_, diags := cfg.ResolveVariables(tt.sources, tt.env)
			d := findDiag(diags, hcl.DiagError, tt.summary)
			if d == nil {
				t.Fatalf("no error %q; got:\n%s", tt.summary, diagList(diags))
			}
			if !strings.Contains(d.Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", d.Detail, tt.detail)
			}
			if tt.line != 0 && (d.Subject == nil || d.Subject.Start.Line != tt.line) {
				t.Errorf("subject %v, want line %d", d.Subject, tt.line)
			}
		})
	}
}

// TestResolveVariablesRequiredGiven checks a required variable is satisfied
// by each source.
func TestResolveVariablesRequiredGiven(t *testing.T) {
	src := "runbook \"r\" {}\nvariable \"account\" {\n type = string\n}"
	for _, tc := range []struct {
		name    string
		sources []config.VarSource
		env     []string
	}{
		{"env", nil, []string{"RUNBOOK_VAR_account=a"}},
		{"var", []config.VarSource{{Assign: "account=a"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals, diags := parse(t, src).ResolveVariables(tc.sources, tc.env)
			if diags.HasErrors() {
				t.Fatalf("diagnostics:\n%s", diagList(diags))
			}
			if !vals["account"].RawEquals(cty.StringVal("a")) {
				t.Errorf("account = %#v", vals["account"])
			}
		})
	}
}

func TestOrder(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "no references: declaration order",
			src: `runbook "r" {}
step "check" "c" { command = "true" }
step "check" "a" { command = "true" }
step "check" "b" { command = "true" }`,
			want: []string{"c", "a", "b"},
		},
		{
			name: "a reference moves a step after its dependency, ties by declaration",
			src: `runbook "r" {}
step "check" "uses_last" { command = "echo ${step.last.stdout}" }
step "check" "first" { command = "true" }
step "check" "second" { command = "true" }
step "check" "last" { command = "true" }`,
			want: []string{"first", "second", "last", "uses_last"},
		},
		{
			name: "depends_on orders like a reference",
			src: `runbook "r" {}
step "check" "b" {
  command    = "true"
  depends_on = [step.a]
}
step "check" "a" { command = "true" }
step "check" "c" { command = "true" }`,
			want: []string{"a", "b", "c"},
		},
		{
			name: "diamond",
			src: `runbook "r" {}
step "check" "join" { command = "echo ${step.left.stdout}${step.right.stdout}" }
step "check" "right" { command = "echo ${step.top.stdout}" }
step "check" "left" { command = "echo ${step.top.stdout}" }
step "check" "top" { command = "true" }`,
			want: []string{"top", "right", "left", "join"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order, diags := parse(t, tt.src).Order()
			if diags.HasErrors() {
				t.Fatalf("diagnostics:\n%s", diagList(diags))
			}
			if got := names(order); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("order = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOrderCycles(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		cycles [][]string // each cycle's steps, and the line of the diagnostic
		lines  []int
		absent []string // steps that must not be named
	}{
		{
			name: "two steps",
			src: `runbook "r" {}
step "check" "a" { command = "echo ${step.b.stdout}" }
step "check" "b" { command = "echo ${step.a.stdout}" }`,
			cycles: [][]string{{"a", "b"}},
			lines:  []int{2},
		},
		{
			name: "three steps and a bystander",
			src: `runbook "r" {}
step "check" "bystander" { command = "true" }
step "check" "x" {
  command    = "true"
  depends_on = [step.z]
}
step "check" "y" { command = "echo ${step.x.stdout}" }
step "check" "z" { command = "echo ${step.y.stdout}" }
step "check" "after" { command = "echo ${step.z.stdout}" }`,
			cycles: [][]string{{"x", "y", "z"}},
			lines:  []int{3},
			absent: []string{"step.bystander", "step.after"},
		},
		{
			name: "self depends_on",
			src: `runbook "r" {}
step "check" "a" { command = "true" }
step "check" "me" {
  command    = "true"
  depends_on = [step.me]
}`,
			cycles: [][]string{{"me"}},
			lines:  []int{3},
			absent: []string{"step.a"},
		},
		{
			name: "two separate cycles",
			src: `runbook "r" {}
step "check" "a" { command = "echo ${step.b.stdout}" }
step "check" "b" { command = "echo ${step.a.stdout}" }
step "check" "c" { command = "echo ${step.d.stdout}" }
step "check" "d" { command = "echo ${step.c.stdout}" }`,
			cycles: [][]string{{"a", "b"}, {"c", "d"}},
			lines:  []int{2, 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order, diags := parse(t, tt.src).Order()
			if order != nil {
				t.Errorf("order = %q, want nil on a cycle", names(order))
			}
			var cyc hcl.Diagnostics
			for _, d := range diags {
				if d.Severity == hcl.DiagError && d.Summary == "Dependency cycle between steps" {
					cyc = append(cyc, d)
				}
			}
			if len(cyc) != len(tt.cycles) {
				t.Fatalf("%d cycle diagnostics, want %d:\n%s", len(cyc), len(tt.cycles), diagList(diags))
			}
			for i, members := range tt.cycles {
				d := cyc[i]
				for _, m := range members {
					if !strings.Contains(d.Detail, "step."+m+",") && !strings.Contains(d.Detail, "step."+m+".") {
						t.Errorf("cycle %d detail %q does not name step.%s", i, d.Detail, m)
					}
				}
				for _, a := range tt.absent {
					if strings.Contains(d.Detail, a+",") || strings.Contains(d.Detail, a+".") {
						t.Errorf("cycle %d detail %q names %s, which is not in the cycle", i, d.Detail, a)
					}
				}
				if d.Subject == nil || d.Subject.Start.Line != tt.lines[i] {
					t.Errorf("cycle %d subject %v, want line %d", i, d.Subject, tt.lines[i])
				}
			}
		})
	}
}

func TestLint(t *testing.T) {
	const vars = `
runbook "r" {}
variable "free" {
  default = "x"
}
variable "checked" {
  default = "x"
  validation {
    condition     = can(regex("^[a-z]+$", var.checked))
    error_message = "letters"
  }
}
`
	tests := []struct {
		name  string
		step  string
		warns []string // variables that must be warned about, in order
	}{
		{"unquoted variable", `command = "ls ${var.free}"`, []string{"free"}},
		{"shellquote", `command = "ls ${shellquote(var.free)}"`, nil},
		{"validated variable", `command = "ls ${var.checked}"`, nil},
		{"two uses, one quoted", `command = "ls ${var.free} ${shellquote(var.free)} ${var.checked}"`, []string{"free"}},
		{"unless too", "command = \"true\"\nunless = \"test -d ${var.free}\"", []string{"free"}},
		{"heredoc", "command = <<-SH\n  mkdir -p /tmp/${var.free}\n  SH", []string{"free"}},
		{"argv is safe", `argv = ["ls", var.free]`, nil},
		{"a command that is only the variable", `command = "${var.free}"`, []string{"free"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := vars + "step \"command\" \"s\" {\n" + tt.step + "\n}\n"
			cfg := parse(t, src)
			vals, diags := cfg.ResolveVariables(nil, nil)
			if diags.HasErrors() {
				t.Fatalf("diagnostics:\n%s", diagList(diags))
			}
			var got []string
			for _, d := range cfg.Lint(vals) {
				if d.Severity != hcl.DiagWarning || d.Summary != "Unquoted variable in a shell command" {
					t.Errorf("unexpected diagnostic: %s", diagList(hcl.Diagnostics{d}))
					continue
				}
				if d.Subject == nil || d.Subject.Start.Line < 14 {
					t.Errorf("warning subject %v is not in the step", d.Subject)
				}
				for _, v := range []string{"free", "checked"} {
					if strings.Contains(d.Detail, "var."+v+" ") {
						got = append(got, v)
					}
				}
				if !strings.Contains(d.Detail, "shellquote(") {
					t.Errorf("warning detail %q does not say how to fix it", d.Detail)
				}
			}
			if !reflect.DeepEqual(got, tt.warns) {
				t.Errorf("warned about %q, want %q", got, tt.warns)
			}
		})
	}
}
