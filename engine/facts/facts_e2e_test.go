//go:build e2e

// Facts gathered over the testbed's real OpenSSH server (testbed/up), as
// the engine gathers them: Script as one command on one connection. The
// testbed's sshd runs on this machine, so the truth is this machine's,
// read here by other routes (readHostTruth). Fails, not skips, when the
// testbed is missing.
package facts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/inventory"
)

func TestE2EFactsOverSSH(t *testing.T) {
	dir := os.Getenv("TESTBED_DIR")
	if dir == "" {
		dir = "/tmp/runbook-testbed"
	}
	inv, diags := inventory.Load(filepath.Join(dir, "inventory.hcl"), inventory.Options{SSHConfigPath: "none"})
	if diags.HasErrors() {
		t.Fatalf("testbed inventory (run testbed/up first): %v", diags)
	}
	sshdLog := filepath.Join(dir, "sshd", "sshd.log")
	want := readHostTruth(t)

	for _, name := range []string{"ctl1", "ctl1-nosudo"} {
		t.Run(name, func(t *testing.T) {
			h := inv.Host(name)
			if h == nil {
				t.Fatalf("testbed inventory has no host %q", name)
			}
			opts := inventory.ConnectOptions{LookupEnv: func(string) (string, bool) { return "", false }, NoAgent: true, ConnectTimeout: 5 * time.Second}
			c, err := inventory.Connect(t.Context(), h, opts)
			if err != nil {
				t.Fatalf("connect %s: %v\nhint: %s", name, err, transport.Hint(err))
			}
			defer c.Close()
			logBefore := logSize(t, sshdLog)

			res, err := c.Run(t.Context(), transport.Command{Line: Script(), NoStdin: true, Timeout: time.Minute})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("facts script: exit %d, %v\nstderr: %s", res.ExitCode, err, res.Stderr)
			}
			if len(res.Stderr) > 0 {
				t.Errorf("stderr: %s", res.Stderr)
			}
			f, err := Parse(res.Stdout)
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, res.Stdout)
			}
			t.Logf("%s: %+v in %v", name, f, res.Ended.Sub(res.Started))
			checkHost(t, f, want, true)
			if f.InitSystem != initTruth() || f.OS.Family == "" || f.PackageManager == "" {
				t.Errorf("init %q family %q package manager %q", f.InitSystem, f.OS.Family, f.PackageManager)
			}
			for _, n := range f.Notes {
				if !strings.HasPrefix(n, "init_system:") {
					t.Errorf("note: %s", n)
				}
			}
			if !f.Value().Type().Equals(Type()) {
				t.Errorf("Value type %#v", f.Value().Type())
			}

			// One round trip: sshd started exactly one session for it.
			c.Close()
			user := h.User
			deadline := time.Now().Add(5 * time.Second)
			var sessions int
			for {
				sessions = strings.Count(logSince(t, sshdLog, logBefore), "Starting session: command for "+user+" ")
				if sessions >= 1 || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if sessions != 1 {
				t.Errorf("sshd logged %d command sessions for %s, want 1", sessions, user)
			}
		})
	}
}

func logSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func logSince(t *testing.T, path string, off int64) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) < off {
		return "" // rotated
	}
	return string(b[off:])
}
