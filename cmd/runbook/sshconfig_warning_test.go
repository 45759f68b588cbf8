package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSSHConfigWarningShown: a ~/.ssh/config the parser rejects (a
// `Match exec` block) is ignored as a whole; validate and inventory say
// so on stderr instead of dropping its settings silently, and still work.
func TestSSHConfigWarningShown(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	sshConfig := filepath.Join(home, ".ssh", "config")
	if err := os.MkdirAll(filepath.Dir(sshConfig), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sshConfig, []byte("Host ctl1\n  User admin\n\nMatch exec \"test -f /etc/vpn-up\"\n  ProxyJump bastion\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(t.TempDir(), "inventory.hcl")
	if err := os.WriteFile(inv, []byte("host \"ctl1\" {\n  address = \"10.0.0.1\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rb := writeRunbook(t, "runbook \"r\" {\n  title = \"R\"\n}\n\nstep \"check\" \"c\" {\n  argv = [\"true\"]\n}\n")
	for _, args := range [][]string{{"inventory", "-i", inv}, {"validate", rb, "-i", inv}} {
		r := runCLI(t, args...)
		if r.code != 0 {
			t.Fatalf("%v:\n%s", args, r)
		}
		for _, want := range []string{"Cannot parse ssh config", sshConfig, "Match Exec", "ignoring the whole file"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, r)
			}
		}
	}
}
