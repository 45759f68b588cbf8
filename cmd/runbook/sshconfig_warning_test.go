package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSSHConfigWarningShown: a line ssh itself refuses (an unknown
// keyword) is a warning naming the file and line in validate and
// inventory; the rest of the file still applies (the old parser dropped
// the whole file at a `Match exec`, which is now honoured).
func TestSSHConfigWarningShown(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	sshConfig := filepath.Join(home, ".ssh", "config")
	if err := os.MkdirAll(filepath.Dir(sshConfig), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sshConfig, []byte("Host ctl1\n  User admin\n\nMatch exec \"true\"\n  NoSuchOption yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(t.TempDir(), "inventory.hcl")
	if err := os.WriteFile(inv, []byte("host \"ctl1\" {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rb := writeRunbook(t, "runbook \"r\" {\n  title = \"R\"\n}\n\nstep \"check\" \"c\" {\n  argv = [\"true\"]\n}\n")
	for _, args := range [][]string{{"inventory", "-i", inv}, {"validate", rb, "-i", inv}} {
		r := runCLI(t, args...)
		if r.code != 0 {
			t.Fatalf("%v:\n%s", args, r)
		}
		for _, want := range []string{sshConfig + ":5", "NoSuchOption", "ssh refuses this file"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, r)
			}
		}
	}
	if r := runCLI(t, "inventory", "-i", inv); !strings.Contains(r.stdout, "admin@ctl1") {
		t.Errorf("the rest of the file no longer applies:\n%s", r)
	}
}
