package eval_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

func load(t *testing.T, src string) (*config.Config, map[string]cty.Value) {
	t.Helper()
	cfg, diags := config.Parse([]byte(src), "eval.hcl", steps.Builtin())
	if diags.HasErrors() {
		t.Fatalf("parse: %s", diags.Error())
	}
	vars, diags := cfg.ResolveVariables(nil, nil)
	if diags.HasErrors() {
		t.Fatalf("variables: %s", diags.Error())
	}
	return cfg, vars
}

func scopeFor(t *testing.T, src string) (*config.Config, *eval.Scope) {
	t.Helper()
	cfg, vars := load(t, src)
	s, diags := eval.NewScope(cfg, vars, eval.Host{Name: "node01", Address: "10.0.0.1", User: "admin"})
	if diags.HasErrors() {
		t.Fatalf("scope: %s", diags.Error())
	}
	return cfg, s
}

func TestLocalsOrdering(t *testing.T) {
	_, s := scopeFor(t, `
runbook "r" { title = "T" }
variable "base" {
  default = "b"
}
locals {
  third  = "${local.second}/3"
  second = "${local.first}/2"
  first  = "${var.base}/${host.name}/${runbook.title}"
}
locals {
  other = upper(local.third)
}`)
	locals := s.Context(nil).Variables["local"]
	want := map[string]string{
		"first":  "b/node01/T",
		"second": "b/node01/T/2",
		"third":  "b/node01/T/2/3",
		"other":  "B/NODE01/T/2/3",
	}
	for name, w := range want {
		if got := locals.GetAttr(name); !got.RawEquals(cty.StringVal(w)) {
			t.Errorf("local.%s = %#v, want %q", name, got, w)
		}
	}
}

func TestLocalsCycles(t *testing.T) {
	tests := []struct {
		name    string
		locals  string
		members []string
		absent  []string
	}{
		{"two", "a = local.b\n  b = local.a\n  c = 1", []string{"local.a", "local.b"}, []string{"local.c"}},
		{"three", "a = local.b\n  b = local.c\n  c = \"${local.a}x\"", []string{"local.a", "local.b", "local.c"}, nil},
		{"self", "a = local.a\n  ok = 2", []string{"local.a"}, []string{"local.ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, vars := load(t, "runbook \"r\" {}\nlocals {\n  "+tt.locals+"\n}\n")
			_, diags := eval.NewScope(cfg, vars, eval.Host{Name: "h"})
			if len(diags) != 1 || diags[0].Summary != "Local values refer to each other in a cycle" {
				t.Fatalf("diagnostics = %v, want one cycle error", diags)
			}
			d := diags[0]
			for _, m := range tt.members {
				if !strings.Contains(d.Detail, m) {
					t.Errorf("detail %q does not name %s", d.Detail, m)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(d.Detail, a) {
					t.Errorf("detail %q names %s, which is not in the cycle", d.Detail, a)
				}
			}
			if d.Subject == nil || d.Subject.Start.Line != 3 {
				t.Errorf("subject %v, want line 3", d.Subject)
			}
		})
	}
}

func TestLocalsEvaluationError(t *testing.T) {
	cfg, vars := load(t, "runbook \"r\" {}\nlocals {\n  a = 1 + \"x\"\n}\n")
	_, diags := eval.NewScope(cfg, vars, eval.Host{Name: "h"})
	if !diags.HasErrors() {
		t.Fatal("1 + \"x\" evaluated without error")
	}
}

const commonRunbook = `
runbook "r" {}
variable "who" {
  default = "world"
}
step "check" "probe" {
  command = "true"
}
step "command" "s" {
  command = "true"
%s
}
`

func common(t *testing.T, attrs string) (eval.Common, bool, hcl.Diagnostics) {
	t.Helper()
	cfg, s := scopeFor(t, strings.Replace(commonRunbook, "%s", attrs, 1))
	return s.EvalCommon(cfg.Step("s"))
}

func TestEvalCommonDefaults(t *testing.T) {
	c, known, diags := common(t, "")
	if diags.HasErrors() || !known {
		t.Fatalf("known=%v diags=%v", known, diags)
	}
	want := eval.Common{Title: "command s", When: true, Become: false, Timeout: 0, Retries: 0, Delay: time.Second}
	if c != want {
		t.Errorf("defaults = %+v, want %+v", c, want)
	}
}

func TestEvalCommonValues(t *testing.T) {
	c, known, diags := common(t, `
  title   = "Hello ${var.who} on ${host.name}"
  when    = var.who == "world"
  become  = "true"
  retries = 3
  timeout = "5m"
  delay   = 90`)
	if diags.HasErrors() || !known {
		t.Fatalf("known=%v diags=%v", known, diags)
	}
	want := eval.Common{Title: "Hello world on node01", When: true, Become: true, Timeout: 5 * time.Minute, Retries: 3, Delay: 90 * time.Second}
	if c != want {
		t.Errorf("common = %+v, want %+v", c, want)
	}
}

func TestEvalCommonDurations(t *testing.T) {
	tests := []struct {
		expr string
		want time.Duration
		err  bool
		only string // "": both timeout and delay; else the one within its bounds
	}{
		{`"30s"`, 30 * time.Second, false, ""},
		{`"5m"`, 5 * time.Minute, false, ""},
		{`"1h30m"`, 90 * time.Minute, false, "timeout"},
		{`"90"`, 90 * time.Second, false, ""},
		{`90`, 90 * time.Second, false, ""},
		{`"1.5"`, 1500 * time.Millisecond, false, ""},
		{`" 30s "`, 30 * time.Second, false, ""},
		{`"0"`, 0, false, "delay"},
		{`"86400"`, 24 * time.Hour, false, "timeout"},
		{`"forever"`, 0, true, ""},
		{`"5 minutes"`, 0, true, ""},
		{`"-5s"`, 0, true, ""},
		{`"-3"`, 0, true, ""},
		{`""`, 0, true, ""},
		{`"30x"`, 0, true, ""},
		{`"+Inf"`, 0, true, ""},
		{`"NaN"`, 0, true, ""},
		{`"1e+300"`, 0, true, ""},
		{`"10000000000"`, 0, true, ""}, // 317 years overflows a Duration
		{`["30s"]`, 0, true, ""},
	}
	for _, tt := range tests {
		for _, attr := range []string{"timeout", "delay"} {
			if tt.only != "" && attr != tt.only {
				continue
			}
			t.Run(attr+"="+tt.expr, func(t *testing.T) {
				c, _, diags := common(t, attr+" = "+tt.expr)
				got := c.Timeout
				if attr == "delay" {
					got = c.Delay
				}
				if tt.err {
					if !diags.HasErrors() {
						t.Fatalf("%s = %s accepted as %v", attr, tt.expr, got)
					}
					d := diags[0]
					if want := `Invalid ` + attr + ` in step "s"`; d.Summary != want {
						t.Errorf("summary %q, want %q", d.Summary, want)
					}
					if d.Subject == nil || d.Subject.Start.Line != 11 {
						t.Errorf("subject %v, want line 11", d.Subject)
					}
					return
				}
				if diags.HasErrors() {
					t.Fatalf("%s = %s: %s", attr, tt.expr, diags.Error())
				}
				if got != tt.want {
					t.Errorf("%s = %s gave %v, want %v", attr, tt.expr, got, tt.want)
				}
			})
		}
	}
}

// TestParseDuration checks the duration forms on their own, past the
// bounds EvalCommon puts on timeout and delay.
func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "1000000": 1000000 * time.Second, "2562047h": 2562047 * time.Hour, "0.001": time.Millisecond,
	} {
		if got, err := eval.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"9999999999", "2562048h", "-1", "1e3"} {
		if got, err := eval.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

// TestEvalCommonBounds checks that absurd retries, timeout and delay are
// refused on the attribute, with the bound in the message, and that the
// bounds themselves are accepted.
func TestEvalCommonBounds(t *testing.T) {
	tests := []struct {
		attrs string
		err   string // "" when accepted
	}{
		{`retries = 1e12`, "retries must be a whole number from 0 to 1000, not 1e+12."},
		{`retries = 1001`, "from 0 to 1000, not 1001."},
		{`retries = 1000`, ""},
		{`retries = 0`, ""},
		{`retries = -1`, "from 0 to 1000, not -1."},
		{`retries = 2.5`, "from 0 to 1000, not 2.5."},
		{`retries = 1e400`, "from 0 to 1000, not 1e+400."},
		{`timeout = "0s"`, "timeout must be more than 0s and at most 168h0m0s"},
		{`timeout = 0`, "timeout must be more than 0s"},
		{`timeout = "168h"`, ""},
		{`timeout = "168h0m1s"`, "not 168h0m1s."},
		{`timeout = 1e9`, "at most 168h0m0s"},
		{`delay = "0s"`, ""},
		{`delay = "1h"`, ""},
		{`delay = "61m"`, "delay must be at most 1h0m0s, not 1h1m0s."},
		{`delay = 86400`, "delay must be at most 1h0m0s, not 24h0m0s."},
	}
	for _, tt := range tests {
		t.Run(tt.attrs, func(t *testing.T) {
			_, _, diags := common(t, tt.attrs)
			if tt.err == "" {
				if diags.HasErrors() {
					t.Fatalf("refused: %s", diags.Error())
				}
				return
			}
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got %v", diags)
			}
			attr, _, _ := strings.Cut(tt.attrs, " ")
			if want := `Invalid ` + attr + ` in step "s"`; diags[0].Summary != want {
				t.Errorf("summary %q, want %q", diags[0].Summary, want)
			}
			if !strings.Contains(diags[0].Detail, tt.err) {
				t.Errorf("detail %q lacks %q", diags[0].Detail, tt.err)
			}
			if diags[0].Subject == nil || diags[0].Subject.Start.Line != 11 {
				t.Errorf("subject %v, want line 11", diags[0].Subject)
			}
		})
	}
}

func TestEvalCommonBadValues(t *testing.T) {
	tests := []struct {
		attrs   string
		summary string
	}{
		{`become = "yes please"`, `Invalid become in step "s"`},
		{`when = "sometimes"`, `Invalid when in step "s"`},
		{`retries = "x"`, `Invalid retries in step "s"`},
		{`retries = -1`, `Invalid retries in step "s"`},
		{`retries = 1.5`, `Invalid retries in step "s"`},
		{`title = ["a"]`, `Invalid title in step "s"`},
	}
	for _, tt := range tests {
		t.Run(tt.attrs, func(t *testing.T) {
			_, _, diags := common(t, tt.attrs)
			if len(diags) == 0 || diags[0].Summary != tt.summary {
				t.Fatalf("diagnostics = %v, want %q", diags, tt.summary)
			}
			if diags[0].Subject == nil || diags[0].Subject.Start.Line != 11 {
				t.Errorf("subject %v, want line 11", diags[0].Subject)
			}
		})
	}
}

// TestEvalCommonUnknown: when a common attribute reads a step that has not
// run, the plan cannot know it; once the result is set, it can.
func TestEvalCommonUnknown(t *testing.T) {
	cfg, s := scopeFor(t, strings.Replace(commonRunbook, "%s", `when = step.probe.exit_code == 0`, 1))
	st := cfg.Step("s")
	if _, known, diags := s.EvalCommon(st); known || diags.HasErrors() {
		t.Fatalf("known=%v diags=%v before probe ran, want unknown", known, diags)
	}
	if got := s.UnknownRefs(st); !reflect.DeepEqual(got, []string{"probe"}) {
		t.Errorf("UnknownRefs = %q", got)
	}
	s.SetResult("probe", cty.ObjectVal(map[string]cty.Value{"exit_code": cty.NumberIntVal(1)}))
	c, known, diags := s.EvalCommon(st)
	if !known || diags.HasErrors() {
		t.Fatalf("known=%v diags=%v after probe ran", known, diags)
	}
	if c.When {
		t.Error("when is true although probe exited 1")
	}
	if got := s.UnknownRefs(st); len(got) != 0 {
		t.Errorf("UnknownRefs = %q after SetResult", got)
	}
}

func TestEvalKindUnknownThenKnown(t *testing.T) {
	cfg, s := scopeFor(t, `
runbook "r" {}
step "check" "a" {
  command = "true"
}
step "command" "b" {
  command = "echo ${step.a.stdout}"
}`)
	v, diags := s.EvalKind(cfg.Step("b"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if v.GetAttr("command").IsKnown() {
		t.Error("command is known before step a ran")
	}
	s.SetResult("a", cty.ObjectVal(map[string]cty.Value{"stdout": cty.StringVal("hi")}))
	v, diags = s.EvalKind(cfg.Step("b"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := v.GetAttr("command"); !got.RawEquals(cty.StringVal("echo hi")) {
		t.Errorf("command = %#v", got)
	}
}

func TestChecklistForms(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want map[string][]string
	}{
		{"string", `"Create the QOS"`, map[string][]string{"en": {"Create the QOS"}}},
		{"list", `["one", "two ${var.who}"]`, map[string][]string{"en": {"one", "two world"}}},
		{"languages", `{ en = "Create", ko = "생성" }`, map[string][]string{"en": {"Create"}, "ko": {"생성"}}},
		{"languages with lists", `{ en = ["a", "b"], ko = "가" }`, map[string][]string{"en": {"a", "b"}, "ko": {"가"}}},
		{"numbers become text", `["step", 2]`, map[string][]string{"en": {"step", "2"}}},
		{"local", `local.line`, map[string][]string{"en": {"dir /tmp/world"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, s := scopeFor(t, `
runbook "r" {}
variable "who" {
  default = "world"
}
locals {
  line = "dir /tmp/${var.who}"
}
step "check" "s" {
  command   = "true"
  checklist = `+tt.expr+`
}`)
			got, diags := s.Checklist(cfg.Step("s"))
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("checklist = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestChecklistNone(t *testing.T) {
	cfg, s := scopeFor(t, "runbook \"r\" {}\nstep \"check\" \"s\" {\n  command = \"true\"\n}")
	got, diags := s.Checklist(cfg.Step("s"))
	if got != nil || diags != nil {
		t.Errorf("checklist = %q, %v; want nothing", got, diags)
	}
}

func TestChecklistInvalid(t *testing.T) {
	for _, expr := range []string{
		`5`,
		`true`,
		`{ en = 5 }`,
		`{ en = [["nested"]] }`,
		`["a", null]`,
		`"${step.a.stdout}"`,
		`"on ${host.name}"`,
	} {
		t.Run(expr, func(t *testing.T) {
			cfg, vars := load(t, `
runbook "r" {}
step "check" "a" {
  command = "true"
}
step "check" "s" {
  command   = "true"
  checklist = `+expr+`
}`)
			s, diags := eval.StaticScope(cfg, vars)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			got, diags := s.Checklist(cfg.Step("s"))
			if !diags.HasErrors() {
				t.Fatalf("checklist = %s accepted as %q", expr, got)
			}
			if diags[0].Summary != `Invalid checklist in step "s"` {
				t.Errorf("summary %q", diags[0].Summary)
			}
			if diags[0].Subject == nil || diags[0].Subject.Start.Line != 8 {
				t.Errorf("subject %v, want line 8", diags[0].Subject)
			}
		})
	}
}

func TestPickLanguage(t *testing.T) {
	both := map[string][]string{"en": {"English"}, "ko": {"한국어"}}
	noEnglish := map[string][]string{"ko": {"한국어"}, "de": {"Deutsch"}}
	tests := []struct {
		name   string
		byLang map[string][]string
		lang   string
		want   []string
	}{
		{"asked language", both, "ko", []string{"한국어"}},
		{"falls back to English", both, "fr", []string{"English"}},
		{"English asked", both, "en", []string{"English"}},
		{"no English: first alphabetically", noEnglish, "fr", []string{"Deutsch"}},
		{"empty", map[string][]string{}, "en", nil},
		{"nil", nil, "ko", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := eval.PickLanguage(tt.byLang, tt.lang); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PickLanguage(%q) = %q, want %q", tt.lang, got, tt.want)
			}
		})
	}
}

func TestEvalUntil(t *testing.T) {
	self := func(exit int64, stdout string) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{
			"exit_code": cty.NumberIntVal(exit),
			"stdout":    cty.StringVal(stdout),
			"changed":   cty.False,
		})
	}
	tests := []struct {
		name    string
		until   string
		self    cty.Value
		want    bool
		wantErr bool
	}{
		{"no until", "", self(1, ""), true, false},
		{"exit code holds", "self.exit_code == 0", self(0, ""), true, false},
		{"exit code fails", "self.exit_code == 0", self(2, ""), false, false},
		{"stdout", `strcontains(self.stdout, "READY")`, self(0, "state: READY\n"), true, false},
		{"stdout not yet", `strcontains(self.stdout, "READY")`, self(0, "state: PENDING\n"), false, false},
		{"with a variable", `trimspace(self.stdout) == var.want`, self(0, "idle\n"), true, false},
		{"string that is a bool", `self.stdout`, self(0, "true"), true, false},
		{"not a bool", `self.stdout`, self(0, "maybe"), false, true},
		{"missing attribute", `self.nope == 1`, self(0, ""), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attr := ""
			if tt.until != "" {
				attr = "until = " + tt.until
			}
			cfg, s := scopeFor(t, `
runbook "r" {}
variable "want" {
  default = "idle"
}
step "command" "s" {
  command = "true"
  `+attr+`
}`)
			got, diags := s.EvalUntil(cfg.Step("s"), tt.self)
			if tt.wantErr {
				if !diags.HasErrors() {
					t.Fatalf("until = %s gave %v without error", tt.until, got)
				}
				if got {
					t.Error("an erroring until reported true")
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if got != tt.want {
				t.Errorf("until = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestKindErrorPointsAtAttribute(t *testing.T) {
	cfg, _ := load(t, "runbook \"r\" {}\nstep \"check\" \"s\" {\n  command = \"true\"\n  parse   = \"yaml\"\n}")
	st := cfg.Step("s")
	d := eval.KindError(st, &steps.AttrError{Attr: "parse", Err: errString("bad parse")})
	if d.Summary != `Invalid step "s"` || d.Subject == nil || d.Subject.Start.Line != 4 {
		t.Errorf("KindError = %q at %v, want line 4", d.Summary, d.Subject)
	}
	d = eval.KindError(st, errString("plain"))
	if d.Subject == nil || d.Subject.Start.Line != 2 {
		t.Errorf("KindError without attribute at %v, want the block line 2", d.Subject)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
