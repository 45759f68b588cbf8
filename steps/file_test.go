package steps_test

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/steps"
)

func TestFileDirectoryCreateThenSettled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "spool")
	st := mustDecode(t, "file", `path = "`+dir+`"`+"\nstate = \"directory\"\nmode = \"0750\"")
	p, cmds := rfPlan(t, st)
	if p.Action != steps.Create || len(cmds) != 1 {
		t.Fatalf("plan = %v after %d commands, want create after 1", p.Action, len(cmds))
	}
	if c, _ := rfChange(p, "state"); c.Current != "absent" || c.Desired != "directory" {
		t.Errorf("state change = %+v", c)
	}
	if c, _ := rfChange(p, "mode"); c.Current != "(new)" || c.Desired != "0750" {
		t.Errorf("mode change = %+v", c)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the plan created %s", dir)
	}
	_, out, rec := rfApply(t, st, t.TempDir())
	if !out.Changed || len(rec.Commands()) != 2 {
		t.Fatalf("apply: changed=%v after %d commands, want a change in 2 (probe, mkdir)", out.Changed, len(rec.Commands()))
	}
	if got := rfMode(t, dir); got != "0750" {
		t.Errorf("mode = %s", got)
	}
	if !strings.Contains(strings.Join(rec.Notes(), "\n"), "absent → directory, mode 0750") {
		t.Errorf("notes = %q, want the before/after state", rec.Notes())
	}
	rfSettled(t, st)
}

// A four-digit chmod keeps a directory's setgid bit; the step must clear
// it when the author's mode has none, or it would differ on every run.
func TestFileDirectoryModeClearsSetgid(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	st := mustDecode(t, "file", `path = "`+dir+`"`+"\nstate = \"directory\"\nmode = \"0755\"")
	p, _ := rfPlan(t, st)
	if c, ok := rfChange(p, "mode"); !ok || c.Current != "2755" || c.Desired != "0755" {
		t.Fatalf("changes = %+v, want mode 2755 → 0755", p.Changes)
	}
	rfApply(t, st, dir)
	if got := rfMode(t, dir); got != "0755" {
		t.Errorf("mode = %s, want 0755", got)
	}
	rfSettled(t, st)
}

func TestFileRecurse(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a", "a/b", "c"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "c"), 0o750); err != nil {
		t.Fatal(err)
	}
	rfWrite(t, filepath.Join(root, "a", "f"), "x", 0o600)
	if err := os.Chmod(root, 0o750); err != nil {
		t.Fatal(err)
	}
	// Our own primary group: chgrp to it needs no privilege.
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	st := mustDecode(t, "file", `path = "`+root+`"`+"\nstate = \"directory\"\nmode = \"0750\"\nrecurse = true\ngroup = \""+g.Name+"\"")
	p, cmds := rfPlan(t, st)
	if len(cmds) != 1 {
		t.Fatalf("plan ran %d commands, want 1", len(cmds))
	}
	c, ok := rfChange(p, "below "+root)
	if p.Action != steps.Modify || !ok || !strings.HasPrefix(c.Current, "2 differ (") {
		t.Fatalf("plan = %v %q %+v, want the 2 directories below with mode 0700", p.Action, p.Summary, p.Changes)
	}
	rfApply(t, st, root)
	for _, d := range []string{"a", "a/b", "c"} {
		if got := rfMode(t, filepath.Join(root, d)); got != "0750" {
			t.Errorf("%s: mode %s, want 0750", d, got)
		}
	}
	if got := rfMode(t, filepath.Join(root, "a", "f")); got != "0600" {
		t.Errorf("file below: mode %s, want its own 0600 kept", got)
	}
	rfSettled(t, st)
}

func TestFileLinkTouchAbsent(t *testing.T) {
	root := t.TempDir()
	link := filepath.Join(root, "current")
	st := mustDecode(t, "file", `path = "`+link+`"`+"\nstate = \"link\"\ntarget = \"/opt/app-1\"")
	if p, _ := rfPlan(t, st); p.Action != steps.Create {
		t.Fatalf("plan = %v", p.Action)
	}
	rfApply(t, st, root)
	if got, _ := os.Readlink(link); got != "/opt/app-1" {
		t.Fatalf("link → %q", got)
	}
	rfSettled(t, st)

	st = mustDecode(t, "file", `path = "`+link+`"`+"\nstate = \"link\"\ntarget = \"/opt/app-2\"")
	p, _ := rfPlan(t, st)
	if c, _ := rfChange(p, "target"); p.Action != steps.Modify || c.Current != "/opt/app-1" || c.Desired != "/opt/app-2" {
		t.Fatalf("retarget plan = %v %+v", p.Action, p.Changes)
	}
	rfApply(t, st, root)
	if got, _ := os.Readlink(link); got != "/opt/app-2" {
		t.Fatalf("link → %q", got)
	}
	rfSettled(t, st)

	marker := filepath.Join(root, "marker")
	st = mustDecode(t, "file", `path = "`+marker+`"`+"\nstate = \"touch\"\nmode = \"0600\"")
	rfApply(t, st, root)
	if got := rfMode(t, marker); got != "0600" {
		t.Errorf("touched file mode %s", got)
	}
	fi1, _ := os.Stat(marker)
	rfSettled(t, st)
	if _, out, _ := rfApply(t, st, root); out.Changed {
		t.Error("touch of an existing file changed it")
	}
	if fi2, _ := os.Stat(marker); !fi2.ModTime().Equal(fi1.ModTime()) {
		t.Error("touch of an existing file changed its mtime: a second apply would not be unchanged")
	}

	tree := filepath.Join(root, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "x", "y"), 0o755); err != nil {
		t.Fatal(err)
	}
	st = mustDecode(t, "file", `path = "`+tree+`"`+"\nstate = \"absent\"")
	p, _ = rfPlan(t, st)
	if c, _ := rfChange(p, "state"); c.Current != "directory" || c.Desired != "absent" {
		t.Fatalf("absent plan = %v %+v", p.Action, p.Changes)
	}
	rfApply(t, st, root)
	if _, err := os.Lstat(tree); !os.IsNotExist(err) {
		t.Fatalf("%s still exists", tree)
	}
	rfSettled(t, st)
}

func TestFileRefusesWrongKindAndMissing(t *testing.T) {
	root := t.TempDir()
	rfWrite(t, filepath.Join(root, "f"), "x", 0o644)
	tests := []struct{ body, want, hint string }{
		{`path = "` + root + `/f"` + "\nstate = \"directory\"", "is a file, not a directory", "state = \"absent\""},
		{`path = "` + root + `"` + "\nstate = \"file\"", "is a directory, not a regular file", ""},
		{`path = "` + root + `/f"` + "\nstate = \"link\"\ntarget = \"/x\"", "is a file, not a symlink", ""},
		{`path = "` + root + `/missing"`, "does not exist", "state = \"touch\""},
		{`path = "` + root + `/no/such/dir/f"` + "\nstate = \"touch\"", "directory " + root + "/no/such/dir does not exist", "state = \"directory\""},
	}
	for _, tt := range tests {
		rec := rfRecorder(root, true)
		_, err := mustDecode(t, "file", tt.body).Plan(context.Background(), rec)
		var f *steps.Failure
		if !errors.As(err, &f) {
			t.Errorf("%s: err = %v, want a Failure", tt.body, err)
		} else if !strings.Contains(f.Msg, tt.want) || !strings.Contains(f.Hint, tt.hint) {
			t.Errorf("%s: err = %v (hint %q), want %q and hint %q", tt.body, err, f.Hint, tt.want, tt.hint)
		}
	}
	if got := rfRead(t, filepath.Join(root, "f")); got != "x" {
		t.Errorf("the file was changed: %q", got)
	}
}

// A path whose directory an earlier step of the plan creates is planned
// as new rather than refused (the plan knows through Exec.Ahead).
func TestFileParentCreatedByEarlierStep(t *testing.T) {
	root := t.TempDir()
	rec := rfRecorder(root, true)
	rec.PendingWrites = func(r string) bool { return r == "file/"+root+"/new" }
	p, err := mustDecode(t, "file", `path = "`+root+`/new/f"`+"\nstate = \"touch\"").Plan(context.Background(), rec)
	if err != nil || p.Action != steps.Create {
		t.Fatalf("plan = %v, %v; want create", p.Action, err)
	}
	reads, writes := mustDecode(t, "file", `path = "/etc/x/"`).(steps.Resourcer).Resources()
	if len(reads) != 1 || reads[0] != "file//etc/x" || len(writes) != 1 || writes[0] != "file//etc/x" {
		t.Errorf("resources = %q, %q", reads, writes)
	}
}
