//go:build e2e

// End-to-end tests against the real OpenSSH + sudo of the testbed
// (testbed/up). They fail, not skip, when the testbed is missing: under
// -tags e2e a silent skip would pass a broken setup.
package transport_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/inventory"
)

type testbed struct {
	dir string
	inv *inventory.Inventory
	env map[string]string
}

func (tb *testbed) lookupEnv(k string) (string, bool) {
	if v, ok := os.LookupEnv(k); ok {
		return v, true
	}
	v, ok := tb.env[k]
	return v, ok
}

func openTestbed(t *testing.T) *testbed {
	t.Helper()
	dir := os.Getenv("TESTBED_DIR")
	if dir == "" {
		dir = "/tmp/runbook-testbed"
	}
	invPath := filepath.Join(dir, "inventory.hcl")
	if _, err := os.Stat(invPath); err != nil {
		t.Fatalf("testbed missing (%v): run testbed/up first (TESTBED_DIR=%s)", err, dir)
	}
	inv, diags := inventory.Load(invPath, inventory.Options{SSHConfigPath: "none"})
	if diags.HasErrors() {
		t.Fatalf("testbed inventory: %v", diags)
	}
	tb := &testbed{dir: dir, inv: inv, env: map[string]string{}}
	// The env file is `export K='V'` lines; read it so the tests also work
	// without sourcing it first.
	if f, err := os.Open(filepath.Join(dir, "env")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
				tb.env[k] = strings.Trim(v, `'"`)
			}
		}
		f.Close()
	}
	return tb
}

func (tb *testbed) host(t *testing.T, name string) *inventory.Host {
	t.Helper()
	h := tb.inv.Host(name)
	if h == nil {
		t.Fatalf("testbed inventory has no host %q", name)
	}
	return h
}

func (tb *testbed) opts() inventory.ConnectOptions {
	return inventory.ConnectOptions{LookupEnv: tb.lookupEnv, NoAgent: true, ConnectTimeout: 5 * time.Second}
}

func (tb *testbed) connect(t *testing.T, name string) transport.Transport {
	t.Helper()
	c, err := inventory.Connect(t.Context(), tb.host(t, name), tb.opts())
	if err != nil {
		t.Fatalf("connect %s: %v\nhint: %s", name, err, transport.Hint(err))
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestE2EKoopark(t *testing.T) {
	tb := openTestbed(t)
	c := tb.connect(t, "ctl1")
	ctx := t.Context()
	if d := c.Describe(); d != "ssh koopark@127.0.0.1:2222" {
		t.Errorf("Describe = %q", d)
	}
	res, err := c.Run(ctx, transport.Command{Argv: []string{"id", "-un"}})
	if err != nil || string(res.Stdout) != "koopark\n" {
		t.Fatalf("id -un: %q %v", res.Stdout, err)
	}
	res, err = c.Run(ctx, transport.Command{Line: "echo out; echo err >&2; exit 5"})
	if err != nil || res.ExitCode != 5 || string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" {
		t.Fatalf("exit/streams: %d %q %q %v", res.ExitCode, res.Stdout, res.Stderr, err)
	}
	res, err = c.Run(ctx, transport.Command{Line: `printf %s "$A"`, Env: map[string]string{"A": "it's $x"}})
	if err != nil || string(res.Stdout) != "it's $x" {
		t.Fatalf("env: %q %v", res.Stdout, err)
	}
	res, err = c.Run(ctx, transport.Command{Argv: []string{"cat"}, Stdin: strings.NewReader("fed\n")})
	if err != nil || string(res.Stdout) != "fed\n" {
		t.Fatalf("stdin: %q %v", res.Stdout, err)
	}
}

func TestE2EKooparkSudoSacctmgr(t *testing.T) {
	tb := openTestbed(t)
	c := tb.connect(t, "ctl1")
	// As argv, `sudo -n -- sacctmgr ...` matches koopark's sudoers rule
	// for /usr/bin/sacctmgr only.
	res, err := c.Run(t.Context(), transport.Command{Argv: []string{"sacctmgr", "-n", "-P", "show", "qos", "format=Name"}, Become: true})
	if err != nil || res.ExitCode != 0 || !strings.Contains(string(res.Stdout), "normal") {
		t.Fatalf("sudo sacctmgr: exit %d %q %q %v", res.ExitCode, res.Stdout, res.Stderr, err)
	}
	// Anything else under sudo is refused, and says so.
	res, err = c.Run(t.Context(), transport.Command{Argv: []string{"id", "-u"}, Become: true})
	if !errors.Is(err, transport.ErrBecome) {
		t.Fatalf("sudo id as koopark: want ErrBecome, got %v (stderr %q)", err, res.Stderr)
	}
	t.Logf("koopark sudo id: %v / hint: %s", err, transport.Hint(err))
}

func TestE2ERbadminBecomePassword(t *testing.T) {
	tb := openTestbed(t)
	c := tb.connect(t, "ctl1-rbadmin")
	res, err := c.Run(t.Context(), transport.Command{Argv: []string{"id", "-u"}, Become: true})
	if err != nil || string(res.Stdout) != "0\n" {
		t.Fatalf("rbadmin become: %q %q %v", res.Stdout, res.Stderr, err)
	}
	if strings.Contains(string(res.Stderr), "runbook-sudo") || strings.Contains(string(res.Stderr), "password") {
		t.Errorf("prompt left in stderr: %q", res.Stderr)
	}
	// The command's own stdin arrives after the password, untouched.
	res, err = c.Run(t.Context(), transport.Command{Line: "cat; id -un", Become: true, Stdin: strings.NewReader("payload\n")})
	if err != nil || string(res.Stdout) != "payload\nroot\n" {
		t.Fatalf("rbadmin become with stdin: %q %q %v", res.Stdout, res.Stderr, err)
	}

	h := *tb.host(t, "ctl1-rbadmin")
	h.BecomePasswordEnv = "RUNBOOK_E2E_WRONG_PW"
	opts := tb.opts()
	opts.LookupEnv = func(k string) (string, bool) {
		if k == "RUNBOOK_E2E_WRONG_PW" {
			return "definitely-wrong", true
		}
		return tb.lookupEnv(k)
	}
	wrong, err := inventory.Connect(t.Context(), &h, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	start := time.Now()
	res, err = wrong.Run(t.Context(), transport.Command{Argv: []string{"true"}, Become: true, Timeout: 30 * time.Second})
	var be *transport.BecomeError
	if !errors.As(err, &be) || be.Reason != transport.BecomeWrongPassword {
		t.Fatalf("wrong password: want BecomeWrongPassword, got %v (stderr %q)", err, res.Stderr)
	}
	// sudo waits ~2 s after a failed attempt; we must not wait for the
	// command timeout on top.
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("wrong password took %v", el)
	}

	h.BecomePasswordEnv = ""
	nopw, err := inventory.Connect(t.Context(), &h, tb.opts())
	if err != nil {
		t.Fatal(err)
	}
	defer nopw.Close()
	_, err = nopw.Run(t.Context(), transport.Command{Argv: []string{"true"}, Become: true})
	if !errors.As(err, &be) || be.Reason != transport.BecomePasswordRequired || !strings.Contains(err.Error(), "sudo: a password is required") {
		t.Fatalf("no password: %v", err)
	}
}

func TestE2ERbnosudo(t *testing.T) {
	tb := openTestbed(t)
	c := tb.connect(t, "ctl1-nosudo")
	res, err := c.Run(t.Context(), transport.Command{Argv: []string{"id", "-u"}, Become: true})
	if !errors.Is(err, transport.ErrBecome) || res.ExitCode != 1 {
		t.Fatalf("rbnosudo: want ErrBecome, got %v exit %d stderr %q", err, res.ExitCode, res.Stderr)
	}
	res, err = c.Run(t.Context(), transport.Command{Argv: []string{"id", "-un"}})
	if err != nil || string(res.Stdout) != "rbnosudo\n" {
		t.Fatalf("plain run: %q %v", res.Stdout, err)
	}
}

func TestE2EStdinTimeoutAndCap(t *testing.T) {
	tb := openTestbed(t)
	c := tb.connect(t, "ctl1")
	ctx := t.Context()
	// testbed/reset empties the jobs folder; make sure it is there.
	if err := os.MkdirAll(tb.dir+"/jobs", 0o1777); err != nil {
		t.Fatal(err)
	}
	pidFile := fmt.Sprintf("%s/jobs/e2e-pid-%d", tb.dir, time.Now().UnixNano())
	defer os.Remove(pidFile)
	// Default stdin is an open pipe: `read` waits (the sacctmgr trap) until
	// our timeout ends it, and the remote process is gone afterwards.
	res, err := c.Run(ctx, transport.Command{Line: "echo $$ > " + pidFile + "; read x; echo got", Timeout: time.Second})
	if !errors.Is(err, transport.ErrTimeout) || strings.Contains(string(res.Stdout), "got") {
		t.Fatalf("want ErrTimeout, got %v %q", err, res.Stdout)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := c.Run(ctx, transport.Command{Argv: []string{"kill", "-0", strconv.Itoa(pid)}})
		if err != nil {
			t.Fatal(err)
		}
		if r.ExitCode != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("remote process %d survived the timeout", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
	res, err = c.Run(ctx, transport.Command{Line: "read x || echo eof", NoStdin: true})
	if err != nil || string(res.Stdout) != "eof\n" {
		t.Fatalf("NoStdin: %q %v", res.Stdout, err)
	}
	res, err = c.Run(ctx, transport.Command{Line: "yes", OutputCap: 100 << 10})
	if !errors.Is(err, transport.ErrOutputCap) || len(res.Stdout) != 100<<10 {
		t.Fatalf("cap: %v %d", err, len(res.Stdout))
	}
}

func TestE2ESFTP(t *testing.T) {
	tb := openTestbed(t)
	c := tb.connect(t, "ctl1")
	ft, ok := c.(transport.FileTransport)
	if !ok {
		t.Fatal("SSH transport is not a FileTransport")
	}
	ctx := t.Context()
	p := fmt.Sprintf("%s/jobs/e2e-sftp-%d.txt", tb.dir, time.Now().UnixNano())
	defer os.Remove(p)
	if _, err := ft.ReadFile(ctx, p); !errors.Is(err, transport.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	for _, content := range []string{"v1\n", "version two\n"} {
		if err := ft.WriteFile(ctx, p, []byte(content), 0o640); err != nil {
			t.Fatalf("WriteFile: %v", err)
		}
		got, err := ft.ReadFile(ctx, p)
		if err != nil || string(got) != content {
			t.Fatalf("ReadFile: %q %v", got, err)
		}
	}
	res, err := c.Run(ctx, transport.Command{Argv: []string{"stat", "-c", "%U %a", p}})
	if err != nil || string(res.Stdout) != "koopark 640\n" {
		t.Fatalf("owner/mode: %q %v", res.Stdout, err)
	}
}

func TestE2EJumpThroughSameSSHD(t *testing.T) {
	tb := openTestbed(t)
	h := tb.host(t, "ctl1")
	cfg, err := h.SSHConfig(tb.opts())
	if err != nil {
		t.Fatal(err)
	}
	hop := cfg
	cfg.Jump = []transport.SSHConfig{hop}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("dial via jump: %v\nhint: %s", err, transport.Hint(err))
	}
	defer c.Close()
	if d := c.Describe(); d != "ssh koopark@127.0.0.1:2222 via ctl1" {
		t.Errorf("Describe = %q", d)
	}
	res, err := c.Run(ctx, transport.Command{Line: "echo via-jump; echo $SSH_CONNECTION"})
	if err != nil || !strings.HasPrefix(string(res.Stdout), "via-jump\n127.0.0.1 ") {
		t.Fatalf("run via jump: %q %v", res.Stdout, err)
	}
}

func TestE2EHostKeys(t *testing.T) {
	tb := openTestbed(t)
	h := *tb.host(t, "ctl1")
	h.KnownHosts = []string{filepath.Join(t.TempDir(), "known_hosts")}
	_, err := inventory.Connect(t.Context(), &h, tb.opts())
	if !errors.Is(err, transport.ErrHostKeyUnknown) || !strings.Contains(err.Error(), "host key for [127.0.0.1]:2222 is unknown (ED25519 SHA256:") {
		t.Fatalf("unknown key: %v", err)
	}
	opts := tb.opts()
	opts.AcceptNewHostKeys = true
	c, err := inventory.Connect(t.Context(), &h, opts)
	if err != nil {
		t.Fatalf("accept-new: %v", err)
	}
	c.Close()
	got, _ := os.ReadFile(h.KnownHosts[0])
	want, _ := os.ReadFile(filepath.Join(tb.dir, "ssh", "known_hosts"))
	if fields(got) != fields(want) {
		t.Fatalf("recorded %q, testbed has %q", got, want)
	}
	// A different key on record: refused, naming file:line.
	other := "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGmQhM3Hj1l0mF2gYV0kqQ0yq1V9g1VQ0mPz3y8hQm1a\n"
	if err := os.WriteFile(h.KnownHosts[0], []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = inventory.Connect(t.Context(), &h, opts)
	if !errors.Is(err, transport.ErrHostKeyChanged) || !strings.Contains(err.Error(), h.KnownHosts[0]+":1") {
		t.Fatalf("changed key: %v", err)
	}
}

// fields compares known_hosts lines without comments/whitespace details.
func fields(b []byte) string {
	f := strings.Fields(string(b))
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}
