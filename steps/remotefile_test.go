package steps_test

// Helpers of the file kinds' tests (file, copy, template, line). They run
// the kinds' real probe and write commands through the local transport on
// files under t.TempDir(), and count the commands the evidence recorder
// saw: that count is what a host would see as round trips.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// rfRecorder is a recorder on this machine; dir is the runbook's directory.
func rfRecorder(dir string, planning bool) *evidence.Recorder {
	return &evidence.Recorder{Transport: transport.NewLocal(transport.LocalConfig{}), Planning: planning, Dir: dir}
}

// rfPlan plans st as `runbook plan` does and returns the proposal and the
// commands it ran.
func rfPlan(t *testing.T, st steps.Step) (steps.Proposal, []string) {
	t.Helper()
	rec := rfRecorder(t.TempDir(), true)
	p, err := st.Plan(context.Background(), rec)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return p, rfCommands(rec)
}

func rfCommands(rec *evidence.Recorder) []string {
	var out []string
	for _, c := range rec.Commands() {
		out = append(out, c.Command)
	}
	return out
}

// rfApply does what the engine's apply does for one step: plan, and
// apply the proposal unless it is a no-op. It returns the outcome and
// the recorder (its commands and notes are the step's evidence).
func rfApply(t *testing.T, st steps.Step, dir string) (steps.Proposal, steps.Outcome, *evidence.Recorder) {
	t.Helper()
	rec := rfRecorder(dir, false)
	p, err := st.Plan(context.Background(), rec)
	if err != nil {
		t.Fatalf("Plan (apply): %v", err)
	}
	if p.Action == steps.NoOp {
		return p, steps.Outcome{Outputs: p.Outputs}, rec
	}
	out, err := st.Apply(context.Background(), rec, p)
	if err != nil {
		t.Fatalf("Apply: %v\ncommands: %q", err, rfCommands(rec))
	}
	return p, out, rec
}

// rfSettled: a second plan is a no-op and costs exactly one command.
func rfSettled(t *testing.T, st steps.Step) {
	t.Helper()
	p, cmds := rfPlan(t, st)
	if p.Action != steps.NoOp || len(p.Changes) != 0 {
		t.Fatalf("second plan = %v %q %+v, want no-op", p.Action, p.Summary, p.Changes)
	}
	if len(cmds) != 1 {
		t.Fatalf("an unchanged step ran %d commands, want exactly 1: %q", len(cmds), cmds)
	}
}

// rfDecodeErr decodes body with kind's Validate and Decode as the engine
// does, and returns the attribute and message of the error.
func rfDecodeErr(t *testing.T, kind, body string) (attr, msg string) {
	t.Helper()
	k := steps.Builtin()[kind]
	f, diags := hclsyntax.ParseConfig([]byte(body), "step.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %q: %s", body, diags.Error())
	}
	val, diags := hcldec.Decode(f.Body, k.Spec(), nil)
	if diags.HasErrors() {
		t.Fatalf("decode %q: %s", body, diags.Error())
	}
	verr := k.(steps.Validator).Validate(val)
	_, derr := k.Decode(val)
	if (verr == nil) != (derr == nil) {
		t.Fatalf("Validate = %v but Decode = %v for %q", verr, derr, body)
	}
	if verr == nil {
		return "", ""
	}
	var ae *steps.AttrError
	if !errors.As(verr, &ae) {
		t.Fatalf("error %v is not an AttrError (no file:line for it)", verr)
	}
	return ae.Attr, verr.Error()
}

func rfChange(p steps.Proposal, field string) (steps.Change, bool) {
	for _, c := range p.Changes {
		if c.Field == field {
			return c, true
		}
	}
	return steps.Change{}, false
}

func rfWrite(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func rfRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func rfMode(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	m := fi.Mode()
	bits := uint32(m.Perm())
	if m&os.ModeSetgid != 0 {
		bits |= 0o2000
	}
	if m&os.ModeSetuid != 0 {
		bits |= 0o4000
	}
	if m&os.ModeSticky != 0 {
		bits |= 0o1000
	}
	return fmt.Sprintf("%04o", bits)
}

// rfNoTempLeft: no write left a temp file behind in dir.
func rfNoTempLeft(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".runbook-") {
			t.Errorf("temp file left behind: %s", filepath.Join(dir, e.Name()))
		}
	}
}

// deniedHost answers every command as a host where the login user may
// not touch the path: the shell's "Permission denied" on stderr.
type deniedHost struct{ ran []transport.Command }

func (h *deniedHost) Run(_ context.Context, cmd transport.Command) (transport.Result, error) {
	h.ran = append(h.ran, cmd)
	return transport.Result{ExitCode: 1, Stderr: []byte("stat: cannot statx '/etc/sudoers.d/x': Permission denied\n")}, nil
}
func (h *deniedHost) Describe() string { return "denied" }
func (h *deniedHost) Close() error     { return nil }

func TestFileKindsPermissionDeniedSuggestsBecome(t *testing.T) {
	bodies := map[string]string{
		"file":     `path = "/etc/sudoers.d/x"` + "\nstate = \"touch\"",
		"copy":     `dest = "/etc/sudoers.d/x"` + "\ncontent = \"x\\n\"",
		"template": `dest = "/etc/sudoers.d/x"` + "\nsource = \"t.tftpl\"",
		"line":     `path = "/etc/sudoers.d/x"` + "\nline = \"x\"",
	}
	dir := t.TempDir()
	rfWrite(t, filepath.Join(dir, "t.tftpl"), "x\n", 0o644)
	for kind, body := range bodies {
		for _, become := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s become=%v", kind, become), func(t *testing.T) {
				h := &deniedHost{}
				rec := &evidence.Recorder{Transport: h, BecomeOn: become, Dir: dir}
				_, err := mustDecode(t, kind, body).Plan(context.Background(), rec)
				var f *steps.Failure
				if !errors.As(err, &f) {
					t.Fatalf("err = %v, want a Failure", err)
				}
				if !strings.Contains(f.Msg, "/etc/sudoers.d/x") || !strings.Contains(f.Msg, "permission denied") {
					t.Errorf("message %q does not name the path and the permission error", f.Msg)
				}
				if got := strings.Contains(f.Hint, "become = true"); got == become {
					t.Errorf("become=%v: hint %q (suggests become: %v)", become, f.Hint, got)
				}
				if len(h.ran) != 1 || h.ran[0].Become != become {
					t.Errorf("ran %d commands (become %v), want the one probe with become=%v", len(h.ran), h.ran, become)
				}
			})
		}
	}
}

// TestFileKindsBadInput: each mistake is refused at validate, on the
// attribute at fault (so the diagnostic has its file:line).
func TestFileKindsBadInput(t *testing.T) {
	tests := []struct {
		kind, body, attr, want string
	}{
		{"file", `path = "etc/motd"`, "path", "relative"},
		{"file", "path = \"/x\"\nstate = \"dir\"", "state", `not "dir"`},
		{"file", "path = \"/x\"\nmode = 644", "mode", `ambiguous (octal 0644, or decimal 644 = octal 01204?): write the octal mode as a string, mode = "0644"`},
		{"file", "path = \"/x\"\nmode = \"u=rw\"", "mode", "symbolic modes are not supported"},
		{"file", "path = \"/x\"\nmode = \"0844\"", "mode", "not an octal mode"},
		{"file", "path = \"/x\"\nowner = \"bad name\"", "owner", "not a user/group name"},
		{"file", "path = \"/x\"\nstate = \"link\"", "state", "needs target"},
		{"file", "path = \"/x\"\ntarget = \"/y\"", "target", "only for state = \"link\""},
		{"file", "path = \"/x\"\nstate = \"link\"\ntarget = \"/y\"\nmode = \"0644\"", "mode", "symlink has no mode"},
		{"file", "path = \"/x\"\nrecurse = true\nowner = \"root\"", "recurse", "only for state = \"directory\""},
		{"file", "path = \"/x\"\nstate = \"directory\"\nrecurse = true", "recurse", "needs owner, group or mode"},
		{"file", "path = \"/\"\nstate = \"absent\"", "path", "refused"},
		{"file", "path = \"/x\"\nstate = \"absent\"\nmode = \"0644\"", "state", "mean nothing"},
		{"copy", `dest = "motd"` + "\ncontent = \"x\"", "dest", "relative"},
		{"copy", `dest = "/motd"`, "content", "set content"},
		{"copy", "dest = \"/motd\"\ncontent = \"x\"\nsource = \"f\"", "source", "not both"},
		{"copy", "dest = \"/motd\"\ncontent = \"x\"\nmode = 600", "mode", "is a number"},
		{"copy", "dest = \"/motd\"\ncontent = \"x\"\nvalidate = \"visudo -c\"", "validate", "has no %s"},
		{"template", "dest = \"/motd\"\nsource = \"t\"\nvars = { \"1a\" = 1 }", "vars", `"1a" is not a name`},
		{"template", "dest = \"/motd\"\nsource = \"t\"\nvars = [1]", "vars", "is a map"},
		{"line", "path = \"/f\"\nline = \"x\"\nregexp = \"(\"", "regexp", "does not compile"},
		{"line", "path = \"/f\"\nline = \"x\"\ninsert_after = \"[\"", "insert_after", "does not compile"},
		{"line", "path = \"/f\"\nline = \"x\"\nstate = \"gone\"", "state", "present or absent"},
		{"line", "path = \"f\"\nline = \"x\"", "path", "relative"},
		{"line", `path = "/f"`, "line", "set line"},
		{"line", "path = \"/f\"\nline = \"a\\nb\"", "line", "one line"},
		{"line", "path = \"/f\"\nkey = \"K\"", "key", "needs value"},
		{"line", "path = \"/f\"\nkey = \"K\"\nvalue = \"v\"\nline = \"K=v\"", "line", "not both"},
		{"line", "path = \"/f\"\nline = \"x\"\nvalue = \"v\"", "value", "set key too"},
		{"line", "path = \"/f\"\nline = \"x\"\ninsert_after = \"a\"\ninsert_before = \"b\"", "insert_before", "not both"},
		{"line", "path = \"/f\"\nstate = \"absent\"", "line", "needs line"},
		{"line", "path = \"/f\"\nline = \"x\"\nstate = \"absent\"\ncreate = true", "create", "for state = \"present\""},
		{"line", "path = \"/f\"\nline = \"x\"\nmode = 644", "mode", "is a number"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+tt.body, func(t *testing.T) {
			attr, msg := rfDecodeErr(t, tt.kind, tt.body)
			if attr != tt.attr || !strings.Contains(msg, tt.want) {
				t.Errorf("error on %q: %q, want on %q containing %q", attr, msg, tt.attr, tt.want)
			}
		})
	}
	// And the same kinds accept correct input.
	for kind, body := range map[string]string{
		"file":     "path = \"/x/\"\nstate = \"directory\"\nmode = \"2775\"\nowner = \"root\"\ngroup = \"0\"\nrecurse = true",
		"copy":     "dest = \"/x\"\ncontent = \"\"\nmode = \"600\"\nvalidate = \"visudo -cf %s\"\nbackup = true\nsensitive = true",
		"template": "dest = \"/x\"\nsource = \"t.tftpl\"\nvars = { a = 1 }",
		"line":     "path = \"/x\"\nkey = \"K\"\nvalue = \"\"\nseparator = \" = \"\ninsert_before = \"BOF\"\ncreate = true",
	} {
		if attr, msg := rfDecodeErr(t, kind, body); msg != "" {
			t.Errorf("%s %q refused on %s: %s", kind, body, attr, msg)
		}
	}
}

// TestFileKindsValidateWithUnknowns: validate runs before step results are
// known; the known attributes are checked, the unknown ones left alone.
func TestFileKindsValidateWithUnknowns(t *testing.T) {
	spec := steps.Builtin()["copy"].Spec()
	attrs := map[string]cty.Value{}
	for name := range spec {
		attrs[name] = cty.NullVal(cty.DynamicPseudoType)
	}
	attrs["dest"] = cty.StringVal("/etc/x")
	attrs["content"] = cty.UnknownVal(cty.String)
	attrs["mode"] = cty.NumberIntVal(644)
	err := steps.Builtin()["copy"].(steps.Validator).Validate(cty.ObjectVal(attrs))
	var ae *steps.AttrError
	if !errors.As(err, &ae) || ae.Attr != "mode" {
		t.Errorf("Validate with unknown content = %v, want the mode error", err)
	}
	attrs["mode"] = cty.StringVal("0644")
	if err := steps.Builtin()["copy"].(steps.Validator).Validate(cty.ObjectVal(attrs)); err != nil {
		t.Errorf("Validate with unknown content and a good mode = %v", err)
	}
}
