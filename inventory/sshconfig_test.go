package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSSH writes an executable that plays ssh -G with script.
func fakeSSH(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ssh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSSHGWinsAndDifferencesShow: where ssh -G answers, its values are
// used, the Go reading still names the file and line of each value they
// agree on, and where they disagree the host says so; where ssh -G
// fails, the Go reading is used with ssh's message as a warning.
func TestSSHGWinsAndDifferencesShow(t *testing.T) {
	opts := testOpts(t)
	cfg := writeFile(t, opts.Home, ".ssh/config", "Host ctl1\n  HostName 10.0.0.1\n  User cfguser\n")
	c, diags := loadSSHConfig(opts)
	if diags.HasErrors() || c == nil {
		t.Fatal(diags)
	}
	c.sshBin = fakeSSH(t, "printf 'host ctl1\\nuser fromssh\\nhostname 10.0.0.1\\nport 22\\nidentitiesonly no\\nstricthostkeychecking ask\\nuserknownhostsfile none\\nglobalknownhostsfile none\\n'\n")
	res, err := c.resolve(sshQuery{Host: "ctl1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resolver != "ssh -G" || res.User != "fromssh" || res.Sources["user"] != "ssh -G" || res.Sources["address"] != "ssh_config "+cfg+":2" {
		t.Fatalf("%+v", res)
	}
	h := &Host{Name: "ctl1", Address: "10.0.0.1", Port: 22, User: "cfguser"}
	sharedConfigs.Store(sshOptionsKey{opts.SSHConfigPath, opts.home(), opts.currentUser()}, c)
	t.Cleanup(func() { sharedConfigs.Delete(sshOptionsKey{opts.SSHConfigPath, opts.home(), opts.currentUser()}) })
	out := h.ResolveSSH(opts)
	if out.User != "fromssh" || !strings.Contains(strings.Join(out.Warnings, "\n"), "gives user cfguser where ssh -G gives fromssh") {
		t.Fatalf("%+v", out)
	}

	c2, _ := loadSSHConfig(opts)
	c2.sshBin = fakeSSH(t, "echo '/x/config line 3: Bad configuration option: bogus' >&2; exit 255\n")
	res, err = c2.resolve(sshQuery{Host: "ctl1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resolver != "go" || res.User != "cfguser" || !strings.Contains(strings.Join(res.Warnings, "\n"), "Bad configuration option: bogus") {
		t.Fatalf("%+v", res)
	}
}
