package config_test

import (
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/transport"
)

// lintFinding is one diagnostic as the tests compare it: its severity,
// summary and the line it points at.
type lintFinding struct {
	severity string
	summary  string
	line     int
}

const (
	unquotedVar = "Unquoted variable in a shell command"
	unquotedVal = "Unquoted value in a shell command"
	inQuotes    = "shellquote() inside quotes"
	refused     = "Variable value would change a command that plan runs"
	sensitiveCL = "Sensitive value on a command line"
)

// lintRunbook parses src, resolves its variables from the --var style
// assignments, and lints it.
func lintRunbook(t *testing.T, src string, assigns ...string) []lintFinding {
	t.Helper()
	cfg := parse(t, src)
	var sources []config.VarSource
	for _, a := range assigns {
		sources = append(sources, config.VarSource{Assign: a})
	}
	vals, diags := cfg.ResolveVariables(sources, nil)
	if diags.HasErrors() {
		t.Fatalf("diagnostics:\n%s", diagList(diags))
	}
	var got []lintFinding
	for _, d := range cfg.Lint(vals) {
		sev := "warning"
		if d.Severity == hcl.DiagError {
			sev = "error"
		}
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		got = append(got, lintFinding{sev, d.Summary, line})
		if d.Severity == hcl.DiagError && strings.Contains(d.Detail, "a; touch") {
			t.Errorf("the refusal shows the value (it may be sensitive): %s", d.Detail)
		}
	}
	return got
}

const injection = "x=a; touch /tmp/pwned"

// Issue 15, finding 6: `printf … ${local.lx}` ran `--var x='a; touch
// /tmp/pwned'` during plan. A value reaching a shell line through locals
// is judged as if written there; plan refuses it when the command runs
// during plan and the value would change it.
func TestLintFollowsLocals(t *testing.T) {
	const head = `runbook "r" {}
variable "x" {
  default = "a"
}
variable "checked" {
  default = "a"
  validation {
    condition     = can(regex("^[a-z; /]+$", var.checked))
    error_message = "letters"
  }
}
locals {
  lx      = "pre-${var.x}"
  ly      = local.lx
  quoted  = shellquote(local.ly)
  via_chk = "${var.checked}"
  twice   = "${local.lx}${local.lx}"
}
` // the step starts on line 19
	tests := []struct {
		name    string
		step    string
		assigns []string
		want    []lintFinding
	}{
		{"check step, safe value", `step "check" "s" { command = "printf %s ${local.lx}" }`, nil,
			[]lintFinding{{"warning", unquotedVar, 19}}},
		{"check step, the finding's value", `step "check" "s" { command = "printf %s ${local.lx}" }`, []string{injection},
			[]lintFinding{{"error", refused, 19}}},
		{"two locals deep", `step "check" "s" { command = "printf %s ${local.ly}" }`, []string{injection},
			[]lintFinding{{"error", refused, 19}}},
		{"unless runs in plan too", "step \"command\" \"s\" {\n  command = \"true\"\n  unless = \"test -e ${local.ly}\"\n}", []string{injection},
			[]lintFinding{{"error", refused, 21}}},
		{"a command's own line runs after the plan is shown", `step "command" "s" { command = "printf %s ${local.ly}" }`, []string{injection},
			[]lintFinding{{"warning", unquotedVar, 19}}},
		{"quoted at the use", `step "check" "s" { command = "printf %s ${shellquote(local.ly)}" }`, []string{injection}, nil},
		{"quoted in the local", `step "check" "s" { command = "printf %s ${local.quoted}" }`, []string{injection}, nil},
		{"validated variable", `step "check" "s" { command = "printf %s ${local.via_chk}" }`, []string{"checked=a; b"}, nil},
		{"one finding per use", `step "check" "s" { command = "printf %s ${local.twice}" }`, nil,
			[]lintFinding{{"warning", unquotedVar, 19}}},
		{"argv is never parsed by a shell", `step "check" "s" { argv = ["printf", "%s", local.ly] }`, []string{injection}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lintRunbook(t, head+tt.step+"\n", tt.assigns...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lint: %v, want %v", got, tt.want)
			}
		})
	}
}

// Issue 15, finding 6: `"\"${shellquote(var.x)}\""` ran $(touch …):
// inside "…" the shell takes shellquote's quotes as text.
func TestLintShellquoteInsideQuotes(t *testing.T) {
	const head = `runbook "r" {}
variable "x" {
  default = "a"
}
variable "checked" {
  default = "a"
  validation {
    condition     = length(var.x) > 0
    error_message = "empty"
  }
}
locals {
  q = shellquote(var.x)
}
` // the step starts on line 15
	tests := []struct {
		name    string
		command string
		assigns []string
		want    []lintFinding
	}{
		{"the finding", `"\"${shellquote(var.x)}\""`, []string{"x=$(touch /tmp/pwned)"}, []lintFinding{{"error", refused, 15}}},
		{"inside double quotes", `"echo \"${shellquote(var.x)}\""`, nil, []lintFinding{{"warning", inQuotes, 15}}},
		{"inside single quotes", `"echo '${shellquote(var.x)}'"`, nil, []lintFinding{{"warning", inQuotes, 15}}},
		{"a validated variable is still misquoted", `"echo \"${shellquote(var.checked)}\""`, nil, []lintFinding{{"warning", inQuotes, 15}}},
		{"through a local", `"echo \"${local.q}\""`, nil, []lintFinding{{"warning", inQuotes, 15}}},
		{"a probe's output", `"echo \"${shellquote(step.p.stdout)}\""`, nil, []lintFinding{{"warning", inQuotes, 15}}},
		{"in a heredoc", "<<-SH\n  printf '%s\\n' \"${shellquote(var.x)}\"\n  SH", nil, []lintFinding{{"warning", inQuotes, 16}}},
		{"after closed quotes", `"echo \"a\" 'b' ${shellquote(var.x)}"`, nil, nil},
		{"an escaped quote opens none", `"echo \\\" ${shellquote(var.x)}"`, nil, nil},
		{"an apostrophe in a comment", "<<-SH\n  # it's fine\n  echo ${shellquote(var.x)}\n  SH", nil, nil},
		{"a template directive", `"%{if true}echo \"${shellquote(var.x)}\"%{endif}"`, nil, []lintFinding{{"warning", inQuotes, 15}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := head + fmt.Sprintf("step \"check\" \"s\" {\n  command = %s\n  depends_on = [step.p]\n}\nstep \"check\" \"p\" {\n  argv = [\"true\"]\n}\n", tt.command)
			got := lintRunbook(t, src, tt.assigns...)
			// The step's block starts on line 15; its command is on 16.
			for i := range got {
				got[i].line--
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lint: %v, want %v", got, tt.want)
			}
		})
	}
}

// Issue 15 (Low): a sensitive value in argv (or any command line) is
// visible in the host's `ps`; env and stdin are not.
func TestLintSensitiveOnCommandLine(t *testing.T) {
	const head = `runbook "r" {}
variable "pw" {
  sensitive = true
  default   = "s3cret"
}
variable "plain" {
  default = "a"
}
locals {
  dsn = "user:${var.pw}@db"
}
` // the step starts on line 12
	tests := []struct {
		name string
		body string
		want []lintFinding
	}{
		{"argv", `argv = ["mysql", "-p${var.pw}"]`, []lintFinding{{"warning", sensitiveCL, 13}}},
		{"command, quoted", `command = "mysql -p${shellquote(var.pw)}"`, []lintFinding{{"warning", sensitiveCL, 13}}},
		{"through a local", `argv = ["client", local.dsn]`, []lintFinding{{"warning", sensitiveCL, 13}}},
		{"env is private", "command = \"mysql -p\\\"$PW\\\"\"\n  env = { PW = var.pw }", nil},
		{"stdin is private", "argv = [\"chpasswd\"]\n  stdin = \"root:${var.pw}\"", nil},
		{"not sensitive", `argv = ["echo", var.plain]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lintRunbook(t, head+"step \"check\" \"s\" {\n  "+tt.body+"\n}\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lint: %v, want %v", got, tt.want)
			}
		})
	}
}

// Issue 18: "$(find ${shellquote(x)} …)" warned "shellquote() inside
// quotes", but quoting starts afresh inside $(…) and `…`. Each command is
// written once with @X@ where ${shellquote(var.x)} goes; /bin/sh is the
// oracle: run with x = "a  b" (two spaces), shellquote did its work when
// the output has the value whole and without its quotes. In "…" the
// quotes show ('a  b'); in '…' they close and reopen the quotes, leaving
// the value bare, and echo joins its two words with one space. Lint must
// warn exactly when shellquote did not do its work.
func TestLintShellquoteInCommandSubstitution(t *testing.T) {
	const head = `runbook "r" {}
variable "x" {
  default = "a"
}
`
	tests := []struct {
		name, command string
		warn          bool
	}{
		{"the finding: $(…) in double quotes", `echo "$(printf '[%s]' @X@)"`, false},
		{"backquotes in double quotes", "echo \"`printf '[%s]' @X@`\"", false},
		{"a subshell inside $(…)", `echo "$( (printf '[%s]' @X@) )"`, false},
		{"a quoted ) inside $(…)", `echo "$(printf '%s' ")" @X@)"`, false},
		{"$(…) inside $(…)", `echo "$(printf '<%s>' "$(printf '[%s]' @X@)")"`, false},
		{"back in double quotes, then out", `echo "$(printf '[%s]' @X@) it's" @X@`, false},
		{"double quotes inside $(…)", `echo "$(echo "@X@")"`, true},
		{"after $(…) closed, still in double quotes", `echo "$(true) @X@"`, true},
		{"after $((…)), still in double quotes", `echo "$((1+(2))) @X@"`, true},
		{"$(…) in single quotes is text", `echo '$(printf "[%s]" @X@)'`, true},
		{"backquotes in single quotes are text", "echo '`printf x @X@`'", true},
		{"plain double quotes", `echo "@X@"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command("/bin/sh", "-c", strings.ReplaceAll(tt.command, "@X@", transport.ShellQuote("a  b"))).CombinedOutput()
			if err != nil {
				t.Fatalf("sh: %v\n%s", err, out)
			}
			oneWord := strings.Contains(string(out), "a  b") && !strings.Contains(string(out), "'a  b'")
			if oneWord == tt.warn {
				t.Fatalf("the table is wrong: sh printed %q", out)
			}
			hclCommand := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(tt.command)
			hclCommand = `"` + strings.ReplaceAll(hclCommand, "@X@", "${shellquote(var.x)}") + `"`
			src := head + fmt.Sprintf("step \"command\" \"s\" {\n  command = %s\n}\n", hclCommand)
			var want []lintFinding
			if tt.warn {
				want = []lintFinding{{"warning", inQuotes, 6}}
			}
			if got := lintRunbook(t, src); !reflect.DeepEqual(got, want) {
				t.Errorf("lint of %s: %v, want %v", hclCommand, got, want)
			}
		})
	}
}
