package steps_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/steps"
)

func TestLineEdits(t *testing.T) {
	tests := []struct {
		name, before, body, after, summary string
	}{
		{"append a missing line", "a\nb\n", `line = "c"`, "a\nb\nc\n", "add line 3"},
		{"append to a file without a final newline", "a", `line = "c"`, "a\nc\n", "add line 2"},
		{"regexp replaces the last match", "x=1\ny\nx=2\n", "line = \"x=3\"\nregexp = \"^x=\"", "x=1\ny\nx=3\n", "replace line 3"},
		{"regexp without a match appends", "y\n", "line = \"x=3\"\nregexp = \"^x=\"", "y\nx=3\n", "add line 2"},
		{"insert_after the last match", "[a]\nk\n[b]\n", "line = \"n\"\ninsert_after = \"^\\\\[a\\\\]\"", "[a]\nn\nk\n[b]\n", "add line 2"},
		{"insert_before the last match", "a\n# end\n", "line = \"n\"\ninsert_before = \"^# end\"", "a\nn\n# end\n", "add line 2"},
		{"insert_before BOF", "a\n", "line = \"#!/bin/sh\"\ninsert_before = \"BOF\"", "#!/bin/sh\na\n", "add line 1"},
		{"insert_after without a match appends", "a\n", "line = \"n\"\ninsert_after = \"^zzz\"", "a\nn\n", "add line 2"},
		{"absent removes every equal line", "a\nx\nb\nx\n", "line = \"x\"\nstate = \"absent\"", "a\nb\n", "remove 2 line(s)"},
		{"absent by regexp", "a=1\nb=2\na=3\n", "regexp = \"^a=\"\nstate = \"absent\"", "b=2\n", "remove 2 line(s)"},
		{"key replaces the active line", "#GRUB_TIMEOUT=5\nGRUB_TIMEOUT=10\n", "key = \"GRUB_TIMEOUT\"\nvalue = \"3\"", "#GRUB_TIMEOUT=5\nGRUB_TIMEOUT=3\n", "replace line 2"},
		{"key uncomments the commented default", "A=1\n#GRUB_DISABLE_OS_PROBER=false\nB=2\n", "key = \"GRUB_DISABLE_OS_PROBER\"\nvalue = \"true\"", "A=1\nGRUB_DISABLE_OS_PROBER=true\nB=2\n", "replace line 2"},
		{"key with spaces around the separator", "  RATE = 1\n", "key = \"RATE\"\nvalue = \"2\"", "RATE=2\n", "replace line 1"},
		{"key does not match a longer key", "TIMEOUT_STYLE=menu\n", "key = \"TIMEOUT\"\nvalue = \"5\"", "TIMEOUT_STYLE=menu\nTIMEOUT=5\n", "add line 2"},
		{"key with a space separator (sshd_config)", "#PermitRootLogin prohibit-password\n", "key = \"PermitRootLogin\"\nvalue = \"no\"\nseparator = \" \"", "PermitRootLogin no\n", "replace line 1"},
		{"key absent removes active lines only", "#K=0\nK=1\nL=2\n", "key = \"K\"\nstate = \"absent\"", "#K=0\nL=2\n", "remove 1 line(s)"},
		{"removing the last line empties the file", "x\n", "line = \"x\"\nstate = \"absent\"", "", "remove 1 line(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			p := filepath.Join(root, "f")
			rfWrite(t, p, tt.before, 0o644)
			st := mustDecode(t, "line", `path = "`+p+`"`+"\n"+tt.body)
			plan, cmds := rfPlan(t, st)
			if len(cmds) != 1 {
				t.Fatalf("plan ran %d commands, want 1", len(cmds))
			}
			if plan.Summary != tt.summary+" of "+p {
				t.Errorf("summary = %q, want %q", plan.Summary, tt.summary+" of "+p)
			}
			if _, ok := rfChange(plan, "diff"); !ok {
				t.Errorf("no diff in %+v", plan.Changes)
			}
			_, out, rec := rfApply(t, st, root)
			if got := rfRead(t, p); got != tt.after {
				t.Errorf("after = %q, want %q", got, tt.after)
			}
			if !out.Changed || len(rec.Commands()) != 2 {
				t.Errorf("changed=%v in %d commands, want a change in 2 (read, write)", out.Changed, len(rec.Commands()))
			}
			rfNoTempLeft(t, root)
			rfSettled(t, st)
		})
	}
}

func TestLineAlreadyPresent(t *testing.T) {
	for _, body := range []string{
		`line = "b"`,
		"line = \"x=1\"\nregexp = \"^x=\"",
		"line = \"x=1\"\nregexp = \"^nomatch\"", // the exact line is there
		"key = \"x\"\nvalue = \"1\"",
		"line = \"zz\"\nstate = \"absent\"",
	} {
		p := filepath.Join(t.TempDir(), "f")
		rfWrite(t, p, "a\nb\nx=1\n", 0o644)
		rfSettled(t, mustDecode(t, "line", `path = "`+p+`"`+"\n"+body))
	}
}

func TestLineCreate(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "new.conf")
	_, err := mustDecode(t, "line", `path = "`+p+`"`+"\nline = \"a\"").Plan(context.Background(), rfRecorder(root, true))
	var f *steps.Failure
	if !errors.As(err, &f) || !strings.Contains(f.Msg, p+" does not exist") || !strings.Contains(f.Hint, "create = true") {
		t.Fatalf("missing file without create: %v", err)
	}
	rfSettled(t, mustDecode(t, "line", `path = "`+p+`"`+"\nline = \"a\"\nstate = \"absent\""))

	st := mustDecode(t, "line", `path = "`+p+`"`+"\nline = \"a\"\ncreate = true\nmode = \"0600\"")
	plan, _ := rfPlan(t, st)
	if plan.Action != steps.Create {
		t.Errorf("plan = %v", plan.Action)
	}
	rfApply(t, st, root)
	if rfRead(t, p) != "a\n" || rfMode(t, p) != "0600" {
		t.Errorf("created %q %s", rfRead(t, p), rfMode(t, p))
	}
	rfSettled(t, st)
}

// The write refuses to replace a file that changed after it was read:
// the line was placed in the old content, and the other change would be
// lost.
func TestLineRefusesAFileChangedMeanwhile(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "f")
	rfWrite(t, p, "a\n", 0o644)
	st := mustDecode(t, "line", `path = "`+p+`"`+"\nline = \"b\"")
	rec := rfRecorder(root, false)
	plan, err := st.Plan(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	rfWrite(t, p, "a\nsomeone else\n", 0o644)
	_, err = st.Apply(context.Background(), rec, plan)
	var f *steps.Failure
	if !errors.As(err, &f) || !strings.Contains(f.Msg, "changed between the plan's read and the write") {
		t.Fatalf("err = %v", err)
	}
	if rfRead(t, p) != "a\nsomeone else\n" {
		t.Errorf("the other change was lost: %q", rfRead(t, p))
	}
	rfNoTempLeft(t, root)
}

func TestLineRefusesBinary(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	rfWrite(t, p, "a\x00b\n", 0o644)
	_, err := mustDecode(t, "line", `path = "`+p+`"`+"\nline = \"x\"").Plan(context.Background(), rfRecorder(t.TempDir(), true))
	if err == nil || !strings.Contains(err.Error(), "not a text file") {
		t.Errorf("err = %v", err)
	}
}
