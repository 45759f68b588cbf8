package steps_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
)

func cmdExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// removes: the command runs while the path exists, and is satisfied once
// it is gone; one `test -e` probe, as for creates.
func TestCommandRemoves(t *testing.T) {
	dir := t.TempDir()
	pending := filepath.Join(dir, "pending")
	if err := os.WriteFile(pending, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	st := mustDecode(t, "command", `argv = ["rm", "`+pending+`"]
removes = "`+pending+`"`)
	rec := recorder()
	p := plan(t, st, rec)
	if p.Action != steps.Run {
		t.Fatalf("plan = %v %q, want run while %s exists", p.Action, p.Summary, pending)
	}
	if cmds := rec.Commands(); len(cmds) != 1 || cmds[0].Command != "test -e "+pending || cmds[0].ExitCode != 0 {
		t.Errorf("probe = %+v", cmds)
	}
	if _, err := st.Apply(context.Background(), rec, p); err != nil {
		t.Fatal(err)
	}
	if cmdExists(pending) {
		t.Fatal("apply did not run the command")
	}
	rec = recorder()
	p = plan(t, st, rec)
	if p.Action != steps.NoOp || p.Summary != "already satisfied (removes: "+pending+" does not exist)" {
		t.Errorf("second plan = %v %q", p.Action, p.Summary)
	}
	if cmds := rec.Commands(); len(cmds) != 1 || cmds[0].ExitCode != 1 {
		t.Errorf("second probe = %+v", cmds)
	}
}

// chdir: the command, argv or line, runs in the directory, and creates,
// removes and unless are checked there too (relative paths are relative
// to it).
func TestCommandChdir(t *testing.T) {
	dir := t.TempDir()
	st := mustDecode(t, "command", `argv = ["touch", "made"]
chdir = "`+dir+`"
creates = "made"`)
	rec := recorder()
	p := plan(t, st, rec)
	want := "cd " + dir + " || exit 125; touch made"
	if p.Action != steps.Run || p.Summary != "will run: touch made (in "+dir+")" || !reflect.DeepEqual(p.Commands, []string{want}) {
		t.Fatalf("plan = %v %q %q", p.Action, p.Summary, p.Commands)
	}
	if got := acctCommandLines(rec); !reflect.DeepEqual(got, []string{"cd " + dir + " || exit 125; test -e made"}) {
		t.Errorf("probe = %q", got)
	}
	out, err := st.Apply(context.Background(), rec, p)
	if err != nil || !out.Changed {
		t.Fatalf("apply: %+v %v", out, err)
	}
	if !cmdExists(filepath.Join(dir, "made")) {
		t.Fatal("the command did not run in chdir")
	}
	if got := acctCommandLines(rec)[1]; got != want {
		t.Errorf("evidence of the run = %q, want %q (as planned)", got, want)
	}
	rec = recorder()
	if p := plan(t, st, rec); p.Action != steps.NoOp || p.Summary != "already satisfied (creates: made exists)" || len(rec.Commands()) != 1 {
		t.Errorf("second plan = %v %q in %d commands", p.Action, p.Summary, len(rec.Commands()))
	}

	// A line, with its output, and unless checked in chdir.
	st = mustDecode(t, "command", `command = "pwd; ls"
chdir = "`+dir+`"
unless = "test -f absent-here"`)
	rec = recorder()
	p = plan(t, st, rec)
	if p.Action != steps.Run {
		t.Fatalf("unless in chdir: %v %q", p.Action, p.Summary)
	}
	out, err = st.Apply(context.Background(), rec, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Outputs["stdout"].AsString(); got != dir+"\nmade\n" {
		t.Errorf("stdout = %q, want pwd and ls of %s", got, dir)
	}
	st = mustDecode(t, "command", `command = "false"
chdir = "`+dir+`"
unless = "test -f made"`)
	if p := plan(t, st, recorder()); p.Action != steps.NoOp || p.Summary != "already satisfied (unless: `test -f made` succeeded)" {
		t.Errorf("unless relative to chdir: %v %q", p.Action, p.Summary)
	}
}

// A chdir that does not exist: a plan says so and will run (an earlier
// step may make it); apply fails before running anything, and a command
// without guards fails on the cd, whatever ok_exit_codes says.
func TestCommandChdirMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "not-yet")
	st := mustDecode(t, "command", `argv = ["touch", "x"]
chdir = "`+missing+`"
creates = "x"`)
	rec := recorder()
	rec.Planning = true
	p := plan(t, st, rec)
	if p.Action != steps.Run || p.Summary != "will run: touch x (in "+missing+"); "+missing+" does not exist yet" {
		t.Errorf("plan = %v %q", p.Action, p.Summary)
	}
	_, err := st.Plan(context.Background(), recorder())
	f := failure(t, err)
	if !strings.HasPrefix(f.Msg, "chdir "+missing+": cannot enter the directory: ") || !strings.Contains(f.Msg, "can't cd") || !strings.Contains(f.Hint, "earlier step") {
		t.Errorf("apply-time plan failure = %q (hint %q)", f.Msg, f.Hint)
	}

	st = mustDecode(t, "command", `command = "exit 125"
chdir = "`+missing+`"
ok_exit_codes = [0, 125]`)
	rec = recorder()
	p = plan(t, st, rec)
	if len(rec.Commands()) != 0 {
		t.Error("an unguarded command probed")
	}
	_, err = st.Apply(context.Background(), rec, p)
	if f := failure(t, err); !strings.HasPrefix(f.Msg, "chdir "+missing) {
		t.Errorf("failure = %q", f.Msg)
	}
	// The same command's own exit 125 in an existing directory is its own.
	st = mustDecode(t, "command", `command = "echo cd >&2; exit 125"
chdir = "`+filepath.Dir(missing)+`"
ok_exit_codes = [0, 125]`)
	if _, err := st.Apply(context.Background(), recorder(), plan(t, st, recorder())); err != nil {
		t.Errorf("the command's own exit 125 taken for the cd: %v", err)
	}
}

// creates, removes and unless together: one remote command decides, and
// the summary names the guard that settled it.
func TestCommandGuardsOneProbe(t *testing.T) {
	dir := t.TempDir()
	have := filepath.Join(dir, "have")
	if err := os.WriteFile(have, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	none := filepath.Join(dir, "none")
	tests := []struct {
		name, body string
		want       steps.Action
		summary    string
	}{
		{"creates exists", "creates = \"" + have + "\"\nremoves = \"" + have + "\"\nunless = \"false\"", steps.NoOp, "already satisfied (creates: " + have + " exists)"},
		{"removes gone", "creates = \"" + none + "\"\nremoves = \"" + none + "\"\nunless = \"false\"", steps.NoOp, "already satisfied (removes: " + none + " does not exist)"},
		{"unless holds", "creates = \"" + none + "\"\nremoves = \"" + have + "\"\nunless = \"true\"", steps.NoOp, "already satisfied (unless: `true` succeeded)"},
		{"all say run", "creates = \"" + none + "\"\nremoves = \"" + have + "\"\nunless = \"exit 3\"", steps.Run, "will run: echo run"},
		{"no unless, run", "creates = \"" + none + "\"\nremoves = \"" + have + "\"", steps.Run, "will run: echo run"},
		{"unless that exits", "removes = \"" + have + "\"\nunless = \"exit 0\"", steps.NoOp, "already satisfied (unless: `exit 0` succeeded)"},
		{"unless printing words", "removes = \"" + have + "\"\nunless = \"echo hello; false\"", steps.Run, "will run: echo run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := recorder()
			p := plan(t, mustDecode(t, "command", "command = \"echo run\"\n"+tt.body), rec)
			if p.Action != tt.want || p.Summary != tt.summary {
				t.Errorf("plan = %v %q, want %v %q", p.Action, p.Summary, tt.want, tt.summary)
			}
			if cmds := rec.Commands(); len(cmds) != 1 || strings.Contains(cmds[0].Command, "\n") {
				t.Errorf("probes = %+v, want one single-line command", cmds)
			}
		})
	}
}

// The probe and the command go through sudo with become: the cd happens
// under sudo, so a directory only root may enter works.
func TestCommandChdirBecome(t *testing.T) {
	tr := &scripted{reply: func(string) (string, string, int) { return "", "", 1 }}
	lines := []string{}
	rec := &evidence.Recorder{Transport: cmdRecordLines{tr, &lines}, BecomeOn: true}
	st := mustDecode(t, "command", `argv = ["make", "install"]
chdir = "/root/src"
creates = "/usr/local/bin/tool"`)
	p := plan(t, st, rec)
	if !reflect.DeepEqual(p.Commands, []string{"sudo cd /root/src || exit 125; make install"}) {
		t.Errorf("planned = %q", p.Commands)
	}
	if !reflect.DeepEqual(lines, []string{"become /bin/sh -c 'cd /root/src || exit 125; test -e /usr/local/bin/tool'"}) {
		t.Errorf("probe sent = %q", lines)
	}
}

// cmdRecordLines shows what a command becomes before the transport's sudo
// wrapping: become, then the argv of /bin/sh -c for a line.
type cmdRecordLines struct {
	*scripted
	lines *[]string
}

func (r cmdRecordLines) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	argv := cmd.Argv
	if cmd.Line != "" {
		argv = []string{"/bin/sh", "-c", cmd.Line}
	}
	l := transport.JoinArgv(argv)
	if cmd.Become {
		l = "become " + l
	}
	*r.lines = append(*r.lines, l)
	return r.scripted.Run(ctx, cmd)
}

func TestCommandBadInput(t *testing.T) {
	tests := []struct{ body, attr, msg string }{
		{"command = \"make\"\nchdir = \"src\"", "chdir", `absolute path, not "src"`},
		{"command = \"make\"\nremoves = \"\"", "removes", "empty"},
		{"command = \"make\"\ncreates = \"\"", "creates", "empty"},
	}
	for _, tt := range tests {
		_, err := decode(t, "command", tt.body)
		var ae *steps.AttrError
		if !errors.As(err, &ae) || ae.Attr != tt.attr || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%q: err = %v, want AttrError on %s with %q", tt.body, err, tt.attr, tt.msg)
		}
	}
}
