// The tests are in package steps_test, not steps: evidence.Recorder (the
// real Exec) imports report, which imports steps, so an internal test
// importing it would be an import cycle. Unexported helpers such as
// checkSacctmgrImmediate are reached through each kind's Decode.
package steps_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

// decode evaluates body (HCL attributes) with the kind's spec, as the
// engine does, and returns the kind's Decode result.
func decode(t *testing.T, kind, body string) (steps.Step, error) {
	t.Helper()
	k, ok := steps.Builtin()[kind]
	if !ok {
		t.Fatalf("no kind %q", kind)
	}
	f, diags := hclsyntax.ParseConfig([]byte(body), "step.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %q: %s", body, diags.Error())
	}
	val, diags := hcldec.Decode(f.Body, k.Spec(), nil)
	if diags.HasErrors() {
		t.Fatalf("decode %q: %s", body, diags.Error())
	}
	return k.Decode(val)
}

func mustDecode(t *testing.T, kind, body string) steps.Step {
	t.Helper()
	st, err := decode(t, kind, body)
	if err != nil {
		t.Fatalf("Decode(%s): %v", body, err)
	}
	return st
}

func recorder() *evidence.Recorder {
	return &evidence.Recorder{Transport: transport.NewLocal(transport.LocalConfig{})}
}

func plan(t *testing.T, st steps.Step, rec *evidence.Recorder) steps.Proposal {
	t.Helper()
	p, err := st.Plan(context.Background(), rec)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return p
}

func str(s string) cty.Value { return cty.StringVal(s) }

func strList(ss ...string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	var vs []cty.Value
	for _, s := range ss {
		vs = append(vs, str(s))
	}
	return cty.ListVal(vs)
}

func strMap(kv ...string) cty.Value {
	m := map[string]cty.Value{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = str(kv[i+1])
	}
	return cty.MapVal(m)
}

func TestCheckParseModes(t *testing.T) {
	tests := []struct {
		name string
		body string
		key  string // the parsed output; "" for none
		want cty.Value
	}{
		{"text", `command = "printf 'a\nb\n'"`, "", cty.NilVal},
		{"lines", "command = \"printf 'a\\nb\\n'\"\nparse = \"lines\"", "", cty.NilVal},
		{"json", "command = \"printf '{\\\"a\\\": 1, \\\"b\\\": [\\\"x\\\"]}'\"\nparse = \"json\"", "json",
			cty.ObjectVal(map[string]cty.Value{"a": cty.NumberIntVal(1), "b": cty.TupleVal([]cty.Value{str("x")})})},
		{"kv", "command = \"printf 'a=1\\nb: two\\n# c=3\\n\\n  d = four  \\n'\"\nparse = \"kv\"", "kv",
			strMap("a", "1", "b", "two", "d", "four")},
		{"kv empty", "command = \"true\"\nparse = \"kv\"", "kv", cty.MapValEmpty(cty.String)},
		{"kv colon before equals", "command = \"printf 'ExecStart: /usr/bin/foo --opt=1\\n'\"\nparse = \"kv\"", "kv",
			strMap("ExecStart", "/usr/bin/foo --opt=1")},
		{"rows with header (-P)", "command = \"printf 'Name|Priority\\nnormal|0\\nhigh|10\\n'\"\nparse = \"rows\"", "rows",
			cty.ListVal([]cty.Value{strMap("Name", "normal", "Priority", "0"), strMap("Name", "high", "Priority", "10")})},
		{"rows with -p trailing separator", "command = \"printf 'Name|Priority|\\nnormal|0|\\nhigh||\\n'\"\nparse = \"rows\"", "rows",
			cty.ListVal([]cty.Value{strMap("Name", "normal", "Priority", "0"), strMap("Name", "high", "Priority", "")})},
		{"rows short row", "command = \"printf 'A|B|C\\n1|2\\n'\"\nparse = \"rows\"", "rows",
			cty.ListVal([]cty.Value{strMap("A", "1", "B", "2", "C", "")})},
		{"rows header only", "command = \"printf 'Name|Priority\\n'\"\nparse = \"rows\"", "rows", cty.ListValEmpty(cty.Map(cty.String))},
		{"rows without header", "command = \"printf 'a,b\\nc,d\\n'\"\nparse = \"rows\"\nseparator = \",\"\nheader = false", "rows",
			cty.ListVal([]cty.Value{strList("a", "b"), strList("c", "d")})},
		{"rows without header, empty", "command = \"true\"\nparse = \"rows\"\nheader = false", "rows", cty.ListValEmpty(cty.List(cty.String))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := recorder()
			p := plan(t, mustDecode(t, "check", tt.body), rec)
			if p.Action != steps.Read {
				t.Errorf("action = %v, want read", p.Action)
			}
			out := p.Outputs
			for _, k := range []string{"stdout", "stderr", "exit_code", "lines"} {
				if _, ok := out[k]; !ok {
					t.Errorf("outputs lack %q", k)
				}
			}
			if got := out["exit_code"]; !got.RawEquals(cty.NumberIntVal(0)) {
				t.Errorf("exit_code = %#v", got)
			}
			if tt.name == "text" || tt.name == "lines" {
				if got := out["stdout"]; !got.RawEquals(str("a\nb\n")) {
					t.Errorf("stdout = %#v", got)
				}
				if got := out["lines"]; !got.RawEquals(strList("a", "b")) {
					t.Errorf("lines = %#v", got)
				}
			}
			for _, k := range []string{"json", "kv", "rows"} {
				if _, ok := out[k]; ok != (k == tt.key) {
					t.Errorf("outputs have %q = %v, want only %q", k, ok, tt.key)
				}
			}
			if tt.key != "" {
				if got := out[tt.key]; !got.RawEquals(tt.want) {
					t.Errorf("%s =\n %#v\nwant\n %#v", tt.key, got, tt.want)
				}
			}
			cmds := rec.Commands()
			if len(cmds) != 1 || cmds[0].ExitCode != 0 || cmds[0].Started.IsZero() {
				t.Errorf("evidence = %+v, want the one command", cmds)
			}
		})
	}
}

func TestCheckJSONInvalid(t *testing.T) {
	st := mustDecode(t, "check", "command = \"echo not json\"\nparse = \"json\"")
	_, err := st.Plan(context.Background(), recorder())
	var f *steps.Failure
	if !errors.As(err, &f) || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("err = %v, want a Failure saying the output is not JSON", err)
	}
}

func TestCheckExitCodes(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		exit    int64
		wantErr string
	}{
		{"zero is ok", `command = "exit 0"`, 0, ""},
		{"non-zero fails with stderr", `command = "echo boom >&2; exit 4"`, 0, "`echo boom >&2; exit 4` exited 4: boom"},
		{"listed code is ok", "command = \"exit 3\"\nok_exit_codes = [0, 3]", 3, ""},
		{"unlisted code fails", "command = \"exit 2\"\nok_exit_codes = [0, 3]", 0, "exited 2"},
		{"only the listed codes", "command = \"exit 0\"\nok_exit_codes = [1]", 0, "exited 0"},
		{"argv is quoted word by word", `argv = ["sh", "-c", "echo \"it's here\" >&2; exit 1"]`, 0, "`sh -c 'echo \"it'\\''s here\" >&2; exit 1'` exited 1: it's here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := recorder()
			p, err := mustDecode(t, "check", tt.body).Plan(context.Background(), rec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var f *steps.Failure
				if !errors.As(err, &f) {
					t.Errorf("err %T is not a *steps.Failure", err)
				}
				if n := len(rec.Commands()); n != 1 {
					t.Errorf("%d commands recorded for a failed check, want 1", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Outputs["exit_code"]; !got.RawEquals(cty.NumberIntVal(tt.exit)) {
				t.Errorf("exit_code = %#v, want %d", got, tt.exit)
			}
		})
	}
}

func TestCheckEnvAndStdin(t *testing.T) {
	st := mustDecode(t, "check", "command = \"printf '%s/' \\\"$GREETING\\\"; cat\"\nenv = { GREETING = \"hi\" }\nstdin = \"from stdin\"")
	p := plan(t, st, recorder())
	if got := p.Outputs["stdout"]; !got.RawEquals(str("hi/from stdin")) {
		t.Errorf("stdout = %#v", got)
	}
}

func TestCommandCreates(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "made")
	st := mustDecode(t, "command", `command = "touch `+target+`"
creates = "`+target+`"`)

	rec := recorder()
	p := plan(t, st, rec)
	if p.Action != steps.Run {
		t.Fatalf("action = %v (%s), want run while %s is absent", p.Action, p.Summary, target)
	}
	if !reflect.DeepEqual(p.Commands, []string{"touch " + target}) {
		t.Errorf("planned commands = %q", p.Commands)
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("Plan ran the command")
	}
	out, err := st.Apply(context.Background(), rec, p)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Changed {
		t.Error("Apply did not report a change")
	}
	if _, err := os.Stat(target); err != nil {
		t.Fatalf("Apply did not create the file: %v", err)
	}
	cmds := rec.Commands()
	if len(cmds) != 2 || cmds[0].Command != "test -e "+target || cmds[0].ExitCode != 1 || cmds[1].Command != "touch "+target {
		t.Errorf("evidence = %+v", cmds)
	}

	p = plan(t, st, recorder())
	if p.Action != steps.NoOp || !strings.Contains(p.Summary, "creates: "+target+" exists") {
		t.Errorf("second plan = %v %q, want no-op", p.Action, p.Summary)
	}
	if got := p.Outputs["exit_code"]; !got.RawEquals(cty.NumberIntVal(0)) {
		t.Errorf("a satisfied step's exit_code = %#v", got)
	}
}

func TestCommandUnless(t *testing.T) {
	tests := []struct {
		unless string
		want   steps.Action
	}{
		{"true", steps.NoOp},
		{"false", steps.Run},
		{"test -d /", steps.NoOp},
		{"exit 7", steps.Run},
	}
	for _, tt := range tests {
		t.Run(tt.unless, func(t *testing.T) {
			rec := recorder()
			p := plan(t, mustDecode(t, "command", "command = \"echo run\"\nunless = \""+tt.unless+"\""), rec)
			if p.Action != tt.want {
				t.Errorf("action = %v (%s), want %v", p.Action, p.Summary, tt.want)
			}
			if cmds := rec.Commands(); len(cmds) != 1 || cmds[0].Command != tt.unless {
				t.Errorf("evidence = %+v, want only the unless probe", cmds)
			}
		})
	}
}

func TestCommandApplyFailure(t *testing.T) {
	st := mustDecode(t, "command", `command = "echo partial; echo broke >&2; exit 5"`)
	rec := recorder()
	p := plan(t, st, rec)
	if len(rec.Commands()) != 0 {
		t.Error("Plan of an unguarded command ran something")
	}
	out, err := st.Apply(context.Background(), rec, p)
	if err == nil || !strings.Contains(err.Error(), "exited 5: broke") {
		t.Fatalf("err = %v", err)
	}
	if got := out.Outputs["stdout"]; !got.RawEquals(str("partial\n")) {
		t.Errorf("outputs of the failed command = %#v", out.Outputs)
	}
	if cmds := rec.Commands(); len(cmds) != 1 || cmds[0].ExitCode != 5 || cmds[0].Stderr != "broke\n" {
		t.Errorf("evidence = %+v", cmds)
	}
}

func TestAssert(t *testing.T) {
	rec := recorder()
	p := plan(t, mustDecode(t, "assert", "condition = 1 < 2\nerror_message = \"math broke\""), rec)
	if p.Action != steps.Read || !p.Outputs["holds"].RawEquals(cty.True) {
		t.Errorf("proposal = %+v", p)
	}
	// The note reads as a sentence, with the message as written (not
	// Go-quoted), on one line.
	if notes := rec.Notes(); len(notes) != 1 || notes[0] != "assertion held (it would have failed with: math broke)" {
		t.Errorf("notes = %q, want the assertion as evidence", notes)
	}
	rec = recorder()
	plan(t, mustDecode(t, "assert", "condition = true\nerror_message = \"the marker does not say \\\"kernel\\\"\\n  (see step.read_marker)\""), rec)
	if notes, want := rec.Notes(), `assertion held (it would have failed with: the marker does not say "kernel" (see step.read_marker))`; len(notes) != 1 || notes[0] != want {
		t.Errorf("notes = %q, want %q", notes, want)
	}
	if len(rec.Commands()) != 0 {
		t.Error("assert ran a command")
	}

	rec = recorder()
	_, err := mustDecode(t, "assert", "condition = false\nerror_message = \"the marker is wrong\"").Plan(context.Background(), rec)
	var f *steps.Failure
	if !errors.As(err, &f) || f.Msg != "assertion failed: the marker is wrong" {
		t.Errorf("err = %v, want the author's message", err)
	}
	if len(rec.Notes()) != 0 {
		t.Error("a failed assertion left evidence that it held")
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		kind, body, attr, msg string
	}{
		{"check", `env = {}`, "command", "set command"},
		{"check", "command = \"x\"\nargv = [\"x\"]", "argv", "not both"},
		{"check", `command = "  "`, "command", "empty"},
		{"check", "command = \"x\"\nparse = \"yaml\"", "parse", `"yaml"`},
		{"command", `argv = []`, "command", "set command"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, err := decode(t, tt.kind, tt.body)
			var ae *steps.AttrError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an AttrError", err)
			}
			if ae.Attr != tt.attr || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("AttrError{%s} %q, want attribute %s and %q", ae.Attr, err, tt.attr, tt.msg)
			}
		})
	}
}

func TestSacctmgrImmediate(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		refused bool
		attr    string
	}{
		{"add with -i", `command = "sacctmgr -i add qos x"`, false, ""},
		{"add without -i", `command = "sacctmgr add qos x"`, true, "command"},
		{"show", `command = "sacctmgr show qos"`, false, ""},
		{"--immediate modify", `command = "sacctmgr --immediate modify qos x set priority=10"`, false, ""},
		{"-n -P show", `command = "sacctmgr -n -P show qos"`, false, ""},
		{"combined short flags", `command = "sacctmgr -Qi add qos x"`, false, ""},
		{"-i after the command", `command = "sacctmgr add qos x -i"`, false, ""},
		{"full path under sudo", `command = "sudo /usr/bin/sacctmgr delete user bob"`, true, "command"},
		{"upper case", `command = "sacctmgr MODIFY qos x set priority=1"`, true, "command"},
		{"second command of a list", `command = "sacctmgr show qos; sacctmgr add qos x"`, true, "command"},
		{"-i of the first does not cover the second", `command = "sacctmgr -i add qos x && sacctmgr remove qos y"`, true, "command"},
		{"mutating word after a pipe", `command = "sacctmgr -n show qos | grep add"`, false, ""},
		{"argv without -i", `argv = ["sacctmgr", "modify", "qos", "x", "set", "priority=1"]`, true, "argv"},
		{"argv with -i", `argv = ["sacctmgr", "-i", "modify", "qos", "x", "set", "priority=1"]`, false, ""},
		{"not sacctmgr", `command = "scontrol update partition=debug state=up"`, false, ""},
		// sacctmgr takes any prefix of its commands (strncasecmp with the
		// typed length): "mod" is modify, "del" is delete, "cre" is create.
		{"abbreviated modify", `command = "sacctmgr mod qos normal set priority=10"`, true, "command"},
		{"abbreviated delete", `command = "sacctmgr del qos x"`, true, "command"},
		// Issue 19: shell text is parsed, not split on punctuation.
		{"sacctmgr inside an echoed string", `command = "echo 'reminder: sacctmgr add qos later'"`, false, ""},
		{"-M (no such option) does not hide the command", `command = "sacctmgr -M cluster1 add qos x"`, true, "command"},
		{"bash -c script", `command = "bash -c 'sacctmgr modify qos x set priority=1'"`, true, "command"},
		{"here-document on stdin", "command = <<EOT\nsacctmgr <<EOF\nadd qos x\nEOF\nEOT\n", true, "command"},
		{"argv sh -c script", `argv = ["sh", "-c", "sacctmgr add qos x"]`, true, "argv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, kind := range []string{"command", "check"} {
				_, err := decode(t, kind, tt.body)
				if !tt.refused {
					if err != nil {
						t.Errorf("%s: refused: %v", kind, err)
					}
					continue
				}
				var ae *steps.AttrError
				if !errors.As(err, &ae) {
					t.Errorf("%s: err = %v, want the -i refusal", kind, err)
					continue
				}
				if ae.Attr != tt.attr || !strings.Contains(err.Error(), "-i (--immediate)") {
					t.Errorf("%s: AttrError{%s} %v", kind, ae.Attr, err)
				}
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	names := steps.Builtin().Names()
	for _, want := range []string{"assert", "check", "command"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("kind %q not registered (have %q)", want, names)
		}
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("Names() not sorted: %q", names)
		}
	}
	ro := map[string]bool{"check": true, "assert": true, "command": false}
	for n, want := range ro {
		if got := steps.Builtin()[n].ReadOnly(); got != want {
			t.Errorf("%s.ReadOnly() = %v, want %v", n, got, want)
		}
	}
	for a, sym := range map[steps.Action]string{steps.NoOp: "=", steps.Read: "<", steps.Create: "+", steps.Modify: "~", steps.Run: ">"} {
		if a.Symbol() != sym {
			t.Errorf("%v.Symbol() = %q, want %q", a, a.Symbol(), sym)
		}
	}
}
