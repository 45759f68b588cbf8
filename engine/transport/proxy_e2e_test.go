//go:build e2e

// Transport-level e2e tests of ProxyCommand, multi-hop ProxyJump and
// identity handling against the testbed's real OpenSSH sshd (testbed/up).
// The SSHConfig is built from the testbed's files directly, not through
// the inventory, so these test the transport alone.
package transport_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/transport"
)

type sshdTestbed struct {
	dir, key, knownHosts string
	hostKey              string // "TYPE BASE64" of the sshd's host key
}

func openSSHDTestbed(t *testing.T) sshdTestbed {
	t.Helper()
	dir := os.Getenv("TESTBED_DIR")
	if dir == "" {
		dir = "/tmp/runbook-testbed"
	}
	tb := sshdTestbed{dir: dir, key: filepath.Join(dir, "ssh", "id_ed25519"), knownHosts: filepath.Join(dir, "ssh", "known_hosts")}
	b, err := os.ReadFile(tb.knownHosts)
	if err != nil {
		t.Fatalf("testbed missing (%v): run testbed/up first (TESTBED_DIR=%s)", err, dir)
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		t.Fatalf("testbed known_hosts %q", b)
	}
	tb.hostKey = f[1] + " " + f[2]
	return tb
}

// cfg is user@127.0.0.1:2222 with the testbed's key, no agent.
func (tb sshdTestbed) cfg(name, user string) transport.SSHConfig {
	return transport.SSHConfig{
		Name: name, Address: "127.0.0.1", Port: 2222, User: user,
		IdentityFiles: []string{tb.key}, KnownHostsFiles: []string{tb.knownHosts},
		ConnectTimeout: 10 * time.Second,
	}
}

// sshW is the ProxyCommand an admin writes to go through the testbed's
// sshd as a bastion (tokens already expanded, as the resolver does).
func (tb sshdTestbed) sshW(target string) string {
	return fmt.Sprintf("ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null"+
		" -o UserKnownHostsFile=%s -o IdentitiesOnly=yes -i %s -l koopark -p 2222 -W %s 127.0.0.1", tb.knownHosts, tb.key, target)
}

// sshdLogSince returns what sshd logged after offset.
func (tb sshdTestbed) sshdLogSince(t *testing.T, offset int64) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tb.dir, "sshd", "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) < offset {
		return string(b)
	}
	return string(b[offset:])
}

func (tb sshdTestbed) sshdLogSize(t *testing.T) int64 {
	t.Helper()
	st, err := os.Stat(filepath.Join(tb.dir, "sshd", "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// phase2ReadOnly runs the read-only commands of the seed guide's Phase 2
// checks and returns the user the commands ran as.
func phase2ReadOnly(t *testing.T, c transport.Transport) string {
	t.Helper()
	res, err := c.Run(t.Context(), transport.Command{Argv: []string{"id", "-un"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("id -un: %q %q %v", res.Stdout, res.Stderr, err)
	}
	user := strings.TrimSpace(string(res.Stdout))
	for _, argv := range [][]string{
		{"sinfo", "--noheader", "--format=%P"},
		{"sacctmgr", "--noheader", "--parsable2", "show", "qos", "format=Name"},
		{"squeue", "--noheader"},
	} {
		res, err := c.Run(t.Context(), transport.Command{Argv: argv, Timeout: 30 * time.Second})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%v: rc %d %q %v", argv, res.ExitCode, res.Stderr, err)
		}
		if argv[0] == "sinfo" && !strings.Contains(string(res.Stdout), "viz") {
			t.Fatalf("sinfo: no partition viz in %q", res.Stdout)
		}
	}
	return user
}

func TestE2EProxyCommandSSHW(t *testing.T) {
	tb := openSSHDTestbed(t)
	dir := t.TempDir()
	// The target's name resolves nowhere: only the bastion's -W gets there.
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte("[behind-bastion.invalid]:2222 "+tb.hostKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "proxy.pid")
	cfg := tb.cfg("behind-bastion", "koopark")
	cfg.Address = "behind-bastion.invalid"
	cfg.KnownHostsFiles = []string{kh}
	// sh records the pid it then execs into ssh, so the test can check
	// the ssh process is reaped after Close.
	cfg.ProxyCommand = fmt.Sprintf("sh -c 'echo $$ > %s; exec %s'", pidFile, tb.sshW("127.0.0.1:2222"))

	direct := cfg
	direct.ProxyCommand = ""
	if _, err := transport.Dial(t.Context(), direct); !errors.Is(err, transport.ErrDNS) {
		t.Fatalf("the target must not be reachable without the proxy: %v", err)
	}

	c, err := transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("dial through ProxyCommand: %v\nhint: %s", err, transport.Hint(err))
	}
	if d := c.Describe(); d != "ssh koopark@behind-bastion.invalid:2222 via ProxyCommand" {
		t.Errorf("Describe = %q", d)
	}
	if user := phase2ReadOnly(t, c); user != "koopark" {
		t.Fatalf("ran as %q", user)
	}
	b, _ := os.ReadFile(pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("proxy pid file: %q", b)
	}
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); !strings.HasPrefix(string(cmdline), "ssh\x00") {
		t.Fatalf("pid %d is not the ssh -W process: %q", pid, cmdline)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		if time.Now().After(deadline) {
			t.Fatalf("ssh -W (pid %d) still there (or a zombie) after Close", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestE2EProxyCommandFailure(t *testing.T) {
	tb := openSSHDTestbed(t)
	cfg := tb.cfg("behind-bastion", "koopark")
	// Port 1 on the bastion side: ssh -W itself reports the refusal.
	cfg.ProxyCommand = tb.sshW("127.0.0.1:1")
	_, err := transport.Dial(t.Context(), cfg)
	if !errors.Is(err, transport.ErrConnectionRefused) {
		t.Fatalf("want ErrConnectionRefused from ssh -W's stderr, got %v", err)
	}
	// The words come from the real ssh, not from us.
	out, _ := exec.Command("sh", "-c", tb.sshW("127.0.0.1:1")+" </dev/null").CombinedOutput()
	last := strings.TrimSpace(string(out))
	if i := strings.LastIndex(last, "\n"); i >= 0 {
		last = last[i+1:]
	}
	if last == "" || !strings.Contains(err.Error(), last) || !strings.Contains(err.Error(), "exited with status 255") {
		t.Fatalf("error lacks ssh's own stderr %q and its status: %v", last, err)
	}
}

func TestE2EJumpTwoHops(t *testing.T) {
	tb := openSSHDTestbed(t)
	// Three different users, so sshd's log shows each login in turn.
	cfg := tb.cfg("target", "rbadmin")
	cfg.Jump = []transport.SSHConfig{tb.cfg("hop1", "koopark"), tb.cfg("hop2", "rbnosudo")}
	offset := tb.sshdLogSize(t)
	c, err := transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("dial via two hops: %v\nhint: %s", err, transport.Hint(err))
	}
	defer c.Close()
	if d := c.Describe(); d != "ssh rbadmin@127.0.0.1:2222 via hop1, hop2" {
		t.Errorf("Describe = %q", d)
	}
	if user := phase2ReadOnly(t, c); user != "rbadmin" {
		t.Fatalf("ran as %q", user)
	}
	log := tb.sshdLogSince(t, offset)
	pos := 0
	for _, user := range []string{"koopark", "rbnosudo", "rbadmin"} {
		i := strings.Index(log[pos:], "Accepted publickey for "+user+" ")
		if i < 0 {
			t.Fatalf("sshd log has no login of %s after the previous hop's", user)
		}
		pos += i
	}
	// hop1 forwarded to hop2, hop2 to the target: two direct-tcpip
	// channels (logged from LogLevel DEBUG1 on; the testbed runs DEBUG3).
	if n := strings.Count(log, "server_request_direct_tcpip"); n != 2 && strings.Contains(log, "debug1: ") {
		t.Fatalf("sshd forwarded %d connections, want 2", n)
	}
}

func TestE2EDuplicateIdentityFilesWithinMaxAuthTries(t *testing.T) {
	tb := openSSHDTestbed(t)
	dir := t.TempDir()
	wrong := make([]string, 6)
	for i := range wrong {
		wrong[i] = filepath.Join(dir, fmt.Sprintf("id_wrong%d", i))
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", wrong[i]).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
	}
	// The server really stops at MaxAuthTries (6 by default): six
	// different refused keys before the right one lock us out...
	cfg := tb.cfg("ctl1", "koopark")
	cfg.IdentityFiles = append(append([]string{}, wrong...), tb.key)
	_, err := transport.Dial(t.Context(), cfg)
	if !errors.Is(err, transport.ErrAuth) {
		t.Fatalf("six wrong keys first: want ErrAuth (MaxAuthTries), got %v", err)
	}
	// ...so the same wrong key named seven times must be offered once.
	cfg.IdentityFiles = []string{wrong[0], wrong[0], wrong[0], wrong[0], wrong[0], wrong[0], wrong[0], tb.key}
	c, err := transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("duplicated identity file: %v", err)
	}
	c.Close()
}

// A jump host that is itself reached through its own ProxyCommand (the
// first hop's ProxyCommand, as OpenSSH's -J uses it), then the target
// through that hop.
func TestE2EJumpHostBehindProxyCommand(t *testing.T) {
	tb := openSSHDTestbed(t)
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte("[bastion.invalid]:2222 "+tb.hostKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hop := tb.cfg("bastion", "rbnosudo")
	hop.Address = "bastion.invalid"
	hop.KnownHostsFiles = []string{kh}
	hop.ProxyCommand = tb.sshW("127.0.0.1:2222")
	cfg := tb.cfg("target", "rbadmin")
	cfg.Jump = []transport.SSHConfig{hop}
	offset := tb.sshdLogSize(t)
	c, err := transport.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("dial: %v\nhint: %s", err, transport.Hint(err))
	}
	defer c.Close()
	if user := phase2ReadOnly(t, c); user != "rbadmin" {
		t.Fatalf("ran as %q", user)
	}
	// koopark (the ProxyCommand's ssh -W), then the hop, then the target.
	log := tb.sshdLogSince(t, offset)
	pos := 0
	for _, user := range []string{"koopark", "rbnosudo", "rbadmin"} {
		i := strings.Index(log[pos:], "Accepted publickey for "+user+" ")
		if i < 0 {
			t.Fatalf("sshd log has no login of %s after the previous one's", user)
		}
		pos += i
	}
}
