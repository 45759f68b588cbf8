package steps_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

func TestCopyCreateThenSettled(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "motd")
	st := mustDecode(t, "copy", `dest = "`+dest+`"`+"\ncontent = \"hello\\nworld\\n\"\nmode = \"0640\"")
	p, cmds := rfPlan(t, st)
	if p.Action != steps.Create || len(cmds) != 1 {
		t.Fatalf("plan = %v after %d commands", p.Action, len(cmds))
	}
	diff, ok := rfChange(p, "diff")
	want := "--- /dev/null\n+++ " + dest + "\n@@ -0,0 +1,2 @@\n+hello\n+world"
	if !ok || diff.Desired != want {
		t.Errorf("diff = %q, want %q", diff.Desired, want)
	}
	if c, _ := rfChange(p, "content"); c.Current != "(new)" || !strings.HasSuffix(c.Desired, "(12 bytes)") {
		t.Errorf("content change = %+v", c)
	}
	for _, c := range p.Commands {
		if strings.Contains(c, "hello") {
			t.Errorf("the content is on the command line: %s", c)
		}
	}
	_, out, rec := rfApply(t, st, root)
	if got := rfRead(t, dest); got != "hello\nworld\n" {
		t.Fatalf("content = %q", got)
	}
	if got := rfMode(t, dest); got != "0640" {
		t.Errorf("mode = %s", got)
	}
	if n := len(rec.Commands()); n != 2 {
		t.Errorf("apply ran %d commands, want 2 (probe, write)", n)
	}
	for _, c := range rec.Commands() {
		if strings.Contains(c.Command, "hello") {
			t.Errorf("the content is on a command line: %s", c.Command)
		}
	}
	sum := "" + out.Outputs["sha256"].AsString()
	if len(sum) != 64 || !strings.Contains(strings.Join(rec.Notes(), "\n"), "absent → sha256:"+sum[:12]) {
		t.Errorf("sha256 output %q, notes %q: want the after checksum in the evidence", sum, rec.Notes())
	}
	rfNoTempLeft(t, root)
	rfSettled(t, st)
}

// The plan shows the mode change and the content diff together (Ansible's
// --diff loses the mode when the content changes too), and fetches the
// old content in the same one command, only because the checksums differ.
func TestCopyPlanShowsModeAndDiff(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "slurm.conf")
	rfWrite(t, dest, "a\nb\nc\n", 0o644)
	st := mustDecode(t, "copy", `dest = "`+dest+`"`+"\ncontent = \"a\\nB\\nc\\n\"\nmode = \"0600\"")
	rec := rfRecorder(root, true)
	p, err := st.Plan(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Commands()) != 1 {
		t.Fatalf("plan ran %d commands, want 1", len(rec.Commands()))
	}
	if c, _ := rfChange(p, "mode"); c.Current != "0644" || c.Desired != "0600" {
		t.Errorf("mode change = %+v", c)
	}
	diff, _ := rfChange(p, "diff")
	want := "--- " + dest + "\n+++ " + dest + "\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c"
	if diff.Desired != want {
		t.Errorf("diff =\n%s\nwant\n%s", diff.Desired, want)
	}
	if p.Action != steps.Modify || p.Summary != "update "+dest+": mode, content" {
		t.Errorf("plan = %v %q", p.Action, p.Summary)
	}
	rfApply(t, st, root)
	if rfRead(t, dest) != "a\nB\nc\n" || rfMode(t, dest) != "0600" {
		t.Errorf("after apply: %q %s", rfRead(t, dest), rfMode(t, dest))
	}
	rfSettled(t, st)
	// Unchanged: the one probe did not send the content.
	rec = rfRecorder(root, true)
	if _, err := st.Plan(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if out := rec.Commands()[0].Stdout; strings.Contains(out, "content") || strings.Contains(out, "B") {
		t.Errorf("an unchanged file's probe sent its content: %q", out)
	}
}

func TestCopyModeOnlyKeepsContent(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "f")
	rfWrite(t, dest, "same\n", 0o644)
	st := mustDecode(t, "copy", `dest = "`+dest+`"`+"\ncontent = \"same\\n\"\nmode = \"0600\"")
	p, _ := rfPlan(t, st)
	if len(p.Changes) != 1 || p.Changes[0].Field != "mode" {
		t.Fatalf("changes = %+v, want only mode", p.Changes)
	}
	_, _, rec := rfApply(t, st, root)
	if cmd := rec.Commands()[1].Command; !strings.HasPrefix(cmd, "chmod 00600 -- ") {
		t.Errorf("mode-only change ran %q, want a chmod", cmd)
	}
	rfSettled(t, st)
}

// An existing file keeps its mode when the step sets none.
func TestCopyKeepsExistingMode(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "f")
	rfWrite(t, dest, "old\n", 0o604)
	st := mustDecode(t, "copy", `dest = "`+dest+`"`+"\ncontent = \"new\\n\"")
	rfApply(t, st, root)
	if got := rfMode(t, dest); got != "0604" {
		t.Errorf("mode = %s, want the old 0604 kept", got)
	}
	rfSettled(t, st)
}

func TestCopySensitiveShowsNoContent(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "token")
	rfWrite(t, dest, "old-secret-value\n", 0o600)
	st := mustDecode(t, "copy", `dest = "`+dest+`"`+"\ncontent = \"new-secret-value\\n\"\nsensitive = true")
	rec := rfRecorder(root, true)
	p, err := st.Plan(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rfChange(p, "diff"); ok {
		t.Error("a sensitive file's plan has a diff")
	}
	c, _ := rfChange(p, "content")
	if !strings.Contains(c.Desired, "sensitive: not shown") || !strings.Contains(c.Current, "(17 bytes)") {
		t.Errorf("content change = %+v", c)
	}
	all := p.Summary + strings.Join(p.Commands, " ")
	for _, ch := range p.Changes {
		all += ch.Current + ch.Desired
	}
	for _, cmd := range rec.Commands() {
		all += cmd.Command + cmd.Stdout + cmd.Stderr
	}
	if strings.Contains(all, "secret-value") {
		t.Errorf("the secret appears in the plan or its evidence: %s", all)
	}
	_, _, rec = rfApply(t, st, root)
	all = strings.Join(rec.Notes(), " ")
	for _, cmd := range rec.Commands() {
		all += cmd.Command + cmd.Stdout + cmd.Stderr
	}
	if strings.Contains(all, "secret-value") {
		t.Errorf("the secret appears in the apply's evidence: %s", all)
	}
	if rfRead(t, dest) != "new-secret-value\n" {
		t.Error("not written")
	}
}

func TestCopySourceBinaryAndLarge(t *testing.T) {
	runbookDir := t.TempDir()
	root := t.TempDir()
	rfWrite(t, filepath.Join(runbookDir, "blob.bin"), "\x00\x01\x02\xff", 0o644)
	dest := filepath.Join(root, "blob")
	rfWrite(t, dest, "\x00\x01", 0o644)
	st := mustDecode(t, "copy", `dest = "`+dest+`"`+"\nsource = \"blob.bin\"")
	rec := rfRecorder(runbookDir, true)
	p, err := st.Plan(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := rfChange(p, "content"); !strings.Contains(c.Desired, "binary: no diff") || !strings.Contains(c.Desired, "(4 bytes)") {
		t.Errorf("binary content change = %+v", p.Changes)
	}
	if _, ok := rfChange(p, "diff"); ok {
		t.Error("a binary file got a diff")
	}
	rfApply(t, st, runbookDir)
	if rfRead(t, dest) != "\x00\x01\x02\xff" {
		t.Errorf("binary content = %q", rfRead(t, dest))
	}
	rec = rfRecorder(runbookDir, true)
	if p, _ := st.Plan(context.Background(), rec); p.Action != steps.NoOp {
		t.Errorf("second plan = %v", p.Action)
	}

	big := strings.Repeat("line\n", 60000) // 300 KB, over the diff cap
	rfWrite(t, dest, big, 0o644)
	st = mustDecode(t, "copy", `dest = "`+dest+`"`+"\ncontent = \"small\\n\"")
	rec = rfRecorder(runbookDir, true)
	p, err = st.Plan(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := rfChange(p, "content"); !strings.Contains(c.Desired, "no diff: the file is over 256 KiB") {
		t.Errorf("large file content change = %+v", p.Changes)
	}
	if n := len(rec.Commands()[0].Stdout); n > 1000 {
		t.Errorf("the probe of a file over the cap sent %d bytes", n)
	}

	// A source of /dev/zero (or anything over the file cap) is refused by
	// name instead of filling the controller's memory.
	_, err = mustDecode(t, "copy", `dest = "`+dest+`"`+"\nsource = \"/dev/zero\"").Plan(context.Background(), rfRecorder(runbookDir, true))
	if err == nil || !strings.Contains(err.Error(), "/dev/zero is larger than 16 MiB") {
		t.Errorf("source /dev/zero: err = %v, want it refused as too large", err)
	}

	_, err = mustDecode(t, "copy", `dest = "`+dest+`"`+"\nsource = \"missing.txt\"").Plan(context.Background(), rfRecorder(runbookDir, true))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(runbookDir, "missing.txt")) {
		t.Errorf("missing source: err = %v, want it named relative to the runbook", err)
	}
}

func TestCopyValidateAndBackup(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "sudoers")
	rfWrite(t, dest, "good\n", 0o440)
	bad := mustDecode(t, "copy", `dest = "`+dest+`"`+"\ncontent = \"bad\\n\"\nvalidate = \"grep -q good %s\"\nbackup = true")
	rec := rfRecorder(root, false)
	p, err := bad.Plan(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Apply(context.Background(), rec, p)
	var f *steps.Failure
	if !errors.As(err, &f) || !strings.Contains(f.Msg, "validate `grep -q good %s` rejected the new "+dest) {
		t.Fatalf("apply with a failing validate: %v", err)
	}
	if rfRead(t, dest) != "good\n" {
		t.Error("a rejected file replaced the old one")
	}
	rfNoTempLeft(t, root)
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		t.Errorf("%d entries in the directory, want only the file (no backup of a rejected write)", len(ents))
	}

	good := mustDecode(t, "copy", `dest = "`+dest+`"`+"\ncontent = \"good too\\n\"\nvalidate = \"grep -q good %s\"\nbackup = true")
	_, out, _ := rfApply(t, good, root)
	backup := out.Outputs["backup_file"].AsString()
	if !strings.HasPrefix(backup, dest+".") || rfRead(t, backup) != "good\n" {
		t.Errorf("backup_file = %q", backup)
	}
	if rfRead(t, dest) != "good too\n" || rfMode(t, dest) != "0440" {
		t.Errorf("after apply: %q %s", rfRead(t, dest), rfMode(t, dest))
	}
	rfNoTempLeft(t, root)
	if _, out, _ := rfApply(t, good, root); out.Outputs["backup_file"].AsString() != "" {
		t.Error("an unchanged step reports a backup")
	}
}

// copy writes through a symlink (as cp and editors do): the link stays.
func TestCopyThroughSymlink(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real.conf")
	rfWrite(t, real, "old\n", 0o644)
	link := filepath.Join(root, "link.conf")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	st := mustDecode(t, "copy", `dest = "`+link+`"`+"\ncontent = \"new\\n\"")
	p, _ := rfPlan(t, st)
	if !strings.Contains(p.Summary, "through the symlink "+link) {
		t.Errorf("summary = %q", p.Summary)
	}
	_, out, _ := rfApply(t, st, root)
	if target, err := os.Readlink(link); err != nil || target != real {
		t.Fatalf("the link was replaced: %q %v", target, err)
	}
	if rfRead(t, real) != "new\n" || out.Outputs["path"] != cty.StringVal(real) {
		t.Errorf("real = %q, path output %#v", rfRead(t, real), out.Outputs["path"])
	}
	rfSettled(t, st)
}

func TestCopyMissingDirectory(t *testing.T) {
	root := t.TempDir()
	st := mustDecode(t, "copy", `dest = "`+root+`/etc/app/app.conf"`+"\ncontent = \"x\"")
	_, err := st.Plan(context.Background(), rfRecorder(root, true))
	var f *steps.Failure
	if !errors.As(err, &f) || !strings.Contains(f.Msg, "directory "+root+"/etc/app does not exist") || !strings.Contains(f.Hint, "state = \"directory\"") {
		t.Fatalf("err = %v", err)
	}
	rec := rfRecorder(root, true)
	rec.PendingWrites = func(r string) bool { return r == "file/"+root+"/etc/app" }
	p, err := st.Plan(context.Background(), rec)
	if err != nil || p.Action != steps.Create {
		t.Fatalf("with an earlier step making the directory: %v, %v", p.Action, err)
	}
}

func TestCopyDiffIsCapped(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "f")
	rfWrite(t, dest, strings.Repeat("old\n", 500), 0o644)
	st := mustDecode(t, "copy", `dest = "`+dest+`"`+"\ncontent = \""+strings.Repeat("new\\n", 500)+"\"")
	p, _ := rfPlan(t, st)
	d, _ := rfChange(p, "diff")
	lines := strings.Split(d.Desired, "\n")
	if len(lines) != 201 || lines[200] != "… 803 more lines of diff" {
		t.Errorf("diff has %d lines, ending %q", len(lines), lines[len(lines)-1])
	}
}

func TestTemplateRendersWithVars(t *testing.T) {
	runbookDir := t.TempDir()
	root := t.TempDir()
	rfWrite(t, filepath.Join(runbookDir, "nodes.tftpl"), "ClusterName=${cluster}\n%{ for n in nodes ~}\nNodeName=${n}\n%{ endfor ~}\n", 0o644)
	dest := filepath.Join(root, "nodes.conf")
	body := `dest = "` + dest + `"` + "\nsource = \"nodes.tftpl\"\nvars = { cluster = \"c1\", nodes = [\"n1\", \"n2\"] }"
	st := mustDecode(t, "template", body)
	rec := rfRecorder(runbookDir, true)
	p, err := st.Plan(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := rfChange(p, "diff"); !strings.Contains(d.Desired, "+NodeName=n2") {
		t.Errorf("diff = %q", d.Desired)
	}
	rfApply(t, st, runbookDir)
	if got := rfRead(t, dest); got != "ClusterName=c1\nNodeName=n1\nNodeName=n2\n" {
		t.Errorf("rendered %q", got)
	}
	rec = rfRecorder(runbookDir, true)
	if p, err := st.Plan(context.Background(), rec); err != nil || p.Action != steps.NoOp || len(rec.Commands()) != 1 {
		t.Errorf("second plan = %v, %v after %d commands", p.Action, err, len(rec.Commands()))
	}

	st = mustDecode(t, "template", strings.Replace(body, `"n2"`, `"n3"`, 1))
	p, err = st.Plan(context.Background(), rfRecorder(runbookDir, true))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := rfChange(p, "diff"); !strings.Contains(d.Desired, "-NodeName=n2\n+NodeName=n3") {
		t.Errorf("diff after a vars change = %q", d.Desired)
	}

	st = mustDecode(t, "template", `dest = "`+dest+`"`+"\nsource = \"nodes.tftpl\"\nvars = { cluster = \"c1\" }")
	_, err = st.Plan(context.Background(), rfRecorder(runbookDir, true))
	if err == nil || !strings.Contains(err.Error(), `vars map does not contain key "nodes"`) {
		t.Errorf("a missing var: %v", err)
	}
}
