package transport

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestSSHRunBasics(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := f.dial(t)
	ctx := t.Context()

	res, err := c.Run(ctx, Command{Line: "echo out; echo err >&2; exit 3"})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 3 || string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" {
		t.Fatalf("got exit %d stdout %q stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	if res.Started.IsZero() || res.Ended.Before(res.Started) {
		t.Fatalf("bad times %v %v", res.Started, res.Ended)
	}

	res, err = c.Run(ctx, Command{Argv: []string{"printf", "%s|", "a b", "it's", "$HOME", ""}})
	if err != nil || string(res.Stdout) != "a b|it's|$HOME||" {
		t.Fatalf("argv quoting: %q %v", res.Stdout, err)
	}

	res, err = c.Run(ctx, Command{Line: `echo "$FOO/$BAR"`, Env: map[string]string{"FOO": "x y", "BAR": "'q'"}})
	if err != nil || string(res.Stdout) != "x y/'q'\n" {
		t.Fatalf("env: %q %v", res.Stdout, err)
	}

	res, err = c.Run(ctx, Command{Line: "cat; echo done", Stdin: strings.NewReader("hello\n")})
	if err != nil || string(res.Stdout) != "hello\ndone\n" {
		t.Fatalf("stdin: %q %v", res.Stdout, err)
	}

	if d := c.Describe(); d != fmt.Sprintf("ssh tester@127.0.0.1:%d", f.srv.port()) {
		t.Fatalf("Describe = %q", d)
	}
	if _, err := c.Run(ctx, Command{Line: "true", Env: map[string]string{"BAD NAME": "x"}}); err == nil {
		t.Fatal("invalid env name accepted")
	}
}

func TestSSHDefaultStdinStaysOpen(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := f.dial(t)

	// The sacctmgr trap: with EOF on stdin, `read` returns at once. The
	// default stdin must make it wait (here until the timeout).
	start := time.Now()
	res, err := c.Run(t.Context(), Command{Line: "read x; echo got", Timeout: 400 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v (stdout %q)", err, res.Stdout)
	}
	if strings.Contains(string(res.Stdout), "got") {
		t.Fatalf("read returned: %q", res.Stdout)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("timeout took %v", el)
	}

	res, err = c.Run(t.Context(), Command{Line: "read x || echo eof", NoStdin: true, Timeout: 5 * time.Second})
	if err != nil || string(res.Stdout) != "eof\n" {
		t.Fatalf("NoStdin: %q %v", res.Stdout, err)
	}
}

func TestSSHTimeoutEndsRemoteProcess(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignoreSignals=%v", ignore), func(t *testing.T) {
			f := newFixture(t, serverOpts{ignoreSignals: ignore})
			c := f.dial(t)
			pidFile := filepath.Join(f.dir, "pid")
			start := time.Now()
			_, err := c.Run(t.Context(), Command{
				Line:    "echo $$ > " + pidFile + "; exec sleep 30",
				Timeout: 500 * time.Millisecond,
			})
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("want ErrTimeout, got %v", err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Fatalf("Run returned after %v", el)
			}
			pid := readPid(t, pidFile)
			// With signals the process dies at once; without, timeout(1)
			// ends it one second after our own timeout.
			waitGone(t, pid, 5*time.Second)
			// The connection is still usable.
			if res, err := c.Run(t.Context(), Command{Line: "echo ok"}); err != nil || string(res.Stdout) != "ok\n" {
				t.Fatalf("after timeout: %q %v", res.Stdout, err)
			}
		})
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive is true for a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running after %v", pid, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSSHConnectionDroppedMidCommand(t *testing.T) {
	f := newFixture(t, serverOpts{onExec: func(srv *testServer, cmd string) {
		if strings.Contains(cmd, "DROPME") {
			time.Sleep(200 * time.Millisecond)
			srv.dropAll()
		}
	}})
	c := f.dial(t)
	start := time.Now()
	res, err := c.Run(t.Context(), Command{Line: "echo DROPME; sleep 5", Timeout: 10 * time.Second})
	if !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("want ErrConnectionLost, got %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("took %v", el)
	}
	if string(res.Stdout) != "DROPME\n" {
		t.Logf("partial stdout %q", res.Stdout)
	}
	if _, err := c.Run(t.Context(), Command{Line: "true"}); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("next Run: want ErrConnectionLost, got %v", err)
	}
	if Hint(err) == "" {
		t.Fatal("no hint")
	}
}

func TestSSHKeepAliveDetectsDeadLink(t *testing.T) {
	f := newFixture(t, serverOpts{})
	proxy := startFreezeProxy(t, f.srv.ln.Addr().String())
	line := strings.Replace(f.srv.knownHostsLine(), strconv.Itoa(f.srv.port()), strconv.Itoa(proxy.port()), 1)
	if err := os.WriteFile(f.kh, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.cfg.Port = proxy.port()
	f.cfg.KeepAlive = 100 * time.Millisecond
	f.cfg.KeepAliveCountMax = 2
	c := f.dial(t)
	time.AfterFunc(300*time.Millisecond, proxy.freeze)
	start := time.Now()
	_, err := c.Run(t.Context(), Command{Line: "sleep 10", Timeout: 20 * time.Second})
	if !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("want ErrConnectionLost, got %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("dead link noticed after %v", el)
	}
	if !strings.Contains(err.Error(), "keepalive") {
		t.Fatalf("error does not name the keepalive: %v", err)
	}
}

func TestSSHHandshakeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		// Accept and say nothing, forever.
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	dir := t.TempDir()
	key, _ := writeKey(t, dir, "id", "")
	start := time.Now()
	_, err = Dial(t.Context(), SSHConfig{
		Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, User: "x",
		IdentityFiles: []string{key}, ConnectTimeout: 300 * time.Millisecond,
	})
	if !errors.Is(err, ErrConnectTimeout) || !errors.Is(err, ErrConnect) {
		t.Fatalf("want ErrConnectTimeout, got %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %v", el)
	}
	if !strings.Contains(err.Error(), "handshake") {
		t.Fatalf("message should say the handshake hung: %v", err)
	}
}

func TestSSHConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	key, _ := writeKey(t, t.TempDir(), "id", "")
	_, err = Dial(t.Context(), SSHConfig{Address: "127.0.0.1", Port: port, User: "x", IdentityFiles: []string{key}})
	if !errors.Is(err, ErrConnectionRefused) || !errors.Is(err, ErrConnect) || errors.Is(err, ErrJump) {
		t.Fatalf("want ErrConnectionRefused, got %v", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("x@127.0.0.1:%d", port)) {
		t.Fatalf("message lacks destination: %v", err)
	}
}

func TestSSHDNSFailure(t *testing.T) {
	old := netDialer
	t.Cleanup(func() { netDialer = old })
	netDialer = &net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return nil, errors.New("no DNS in tests")
	}}}
	key, _ := writeKey(t, t.TempDir(), "id", "")
	_, err := Dial(t.Context(), SSHConfig{Address: "no-such-host.invalid", User: "x", IdentityFiles: []string{key}})
	if !errors.Is(err, ErrDNS) || !errors.Is(err, ErrConnect) {
		t.Fatalf("want ErrDNS, got %v", err)
	}
}

func TestSSHHostKeyUnknown(t *testing.T) {
	f := newFixture(t, serverOpts{})
	os.Remove(f.kh)
	_, err := Dial(t.Context(), f.cfg)
	if !errors.Is(err, ErrHostKeyUnknown) || errors.Is(err, ErrConnect) {
		t.Fatalf("want ErrHostKeyUnknown, got %v", err)
	}
	want := fmt.Sprintf("host key for [127.0.0.1]:%d is unknown (ED25519 %s", f.srv.port(), ssh.FingerprintSHA256(f.srv.hostKey.PublicKey()))
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--accept-new-host-keys") {
		t.Fatalf("message %q lacks %q", err, want)
	}
	if !strings.Contains(Hint(err), "accept-new-host-keys") {
		t.Fatalf("hint: %q", Hint(err))
	}
	if _, statErr := os.Stat(f.kh); statErr == nil {
		t.Fatal("strict mode wrote known_hosts")
	}
}

func TestSSHHostKeyChanged(t *testing.T) {
	f := newFixture(t, serverOpts{})
	other := newSigner(t)
	line := fmt.Sprintf("[127.0.0.1]:%d %s", f.srv.port(), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other.PublicKey()))))
	if err := os.WriteFile(f.kh, []byte("# comment\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, policy := range []HostKeyPolicy{HostKeyStrict, HostKeyAcceptNew} {
		f.cfg.HostKeyPolicy = policy
		_, err := Dial(t.Context(), f.cfg)
		if !errors.Is(err, ErrHostKeyChanged) {
			t.Fatalf("%v: want ErrHostKeyChanged, got %v", policy, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, f.kh+":2") || !strings.Contains(msg, ssh.FingerprintSHA256(f.srv.hostKey.PublicKey())) ||
			!strings.Contains(msg, ssh.FingerprintSHA256(other.PublicKey())) {
			t.Fatalf("%v: message lacks file:line or fingerprints: %s", policy, msg)
		}
	}
	b, _ := os.ReadFile(f.kh)
	if strings.Count(string(b), "\n") != 2 {
		t.Fatalf("known_hosts modified: %q", b)
	}
	// Insecure is the only way through.
	f.cfg.HostKeyPolicy = HostKeyInsecure
	var logged []string
	f.cfg.Logf = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	c := f.dial(t)
	c.Close()
	if len(logged) == 0 || !strings.Contains(logged[0], "WARNING") {
		t.Fatalf("insecure mode did not warn: %v", logged)
	}
}

func TestSSHAcceptNew(t *testing.T) {
	f := newFixture(t, serverOpts{})
	kh := filepath.Join(f.dir, "sub", "known_hosts")
	f.cfg.KnownHostsFiles = []string{kh, f.kh + ".other"}
	f.cfg.HostKeyPolicy = HostKeyAcceptNew
	c := f.dial(t)
	c.Close()
	b, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != f.srv.knownHostsLine() {
		t.Fatalf("known_hosts = %q, want %q", b, f.srv.knownHostsLine())
	}
	f.cfg.HostKeyPolicy = HostKeyStrict
	c = f.dial(t)
	c.Close()
	b2, _ := os.ReadFile(kh)
	if string(b2) != string(b) {
		t.Fatal("second dial changed known_hosts")
	}
}

func TestSSHHostKeyTypeFollowsKnownHosts(t *testing.T) {
	// The server has RSA and ED25519 keys (as Debian's sshd does) but
	// known_hosts holds only ED25519. x/crypto prefers RSA; OpenSSH would
	// ask for the recorded type, and so must we instead of crying
	// "changed".
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner, err := ssh.NewSignerFromKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, serverOpts{extraHostKeys: []ssh.Signer{rsaSigner}})
	c := f.dial(t)
	c.Close()
	hk := &hostKeyChecker{files: []string{f.kh}}
	if algos := hk.algorithms(fmt.Sprintf("127.0.0.1:%d", f.srv.port())); len(algos) != 1 || algos[0] != ssh.KeyAlgoED25519 {
		t.Fatalf("algorithms = %v", algos)
	}

	// accept-new records the key OpenSSH would pick (ED25519), not RSA.
	os.Remove(f.kh)
	f.cfg.HostKeyPolicy = HostKeyAcceptNew
	f.dial(t).Close()
	b, _ := os.ReadFile(f.kh)
	if !strings.Contains(string(b), "ssh-ed25519 ") {
		t.Fatalf("recorded %q", b)
	}
}

func TestSSHAuthFailure(t *testing.T) {
	f := newFixture(t, serverOpts{})
	wrong, _ := writeKey(t, f.dir, "id_wrong", "")
	missing := filepath.Join(f.dir, "id_missing")
	f.cfg.IdentityFiles = []string{missing, wrong}
	_, err := Dial(t.Context(), f.cfg)
	if !errors.Is(err, ErrAuth) || errors.Is(err, ErrConnect) {
		t.Fatalf("want ErrAuth, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{`user "tester"`, "publickey (" + wrong, missing + " (missing)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}

	f.cfg.IdentityFiles = nil
	_, err = Dial(t.Context(), f.cfg)
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "no credentials") {
		t.Fatalf("no credentials: %v", err)
	}
}

func TestSSHPasswordAndEncryptedKey(t *testing.T) {
	dir := t.TempDir()
	enc, encSigner := writeKey(t, dir, "id_enc", "s3cret")
	f := newFixture(t, serverOpts{password: "pw", authorized: []ssh.PublicKey{encSigner.PublicKey()}})

	f.cfg.IdentityFiles = nil
	f.cfg.Password = "pw"
	f.dial(t).Close()

	f.cfg.Password = ""
	f.cfg.IdentityFiles = []string{enc}
	_, err := Dial(t.Context(), f.cfg)
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "encrypted, no passphrase") {
		t.Fatalf("encrypted key without passphrase: %v", err)
	}
	asked := 0
	f.cfg.PassphraseFunc = func(string) ([]byte, error) { asked++; return []byte("s3cret"), nil }
	f.dial(t).Close()
	if asked != 1 {
		t.Fatalf("PassphraseFunc called %d times", asked)
	}
	f.cfg.PassphraseFunc = nil
	f.cfg.Passphrase = "wrong"
	if _, err := Dial(t.Context(), f.cfg); !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

func TestSSHOutputCap(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := f.dial(t)
	const limit = 64 << 10
	start := time.Now()
	res, err := c.Run(t.Context(), Command{Line: "yes", OutputCap: limit, Timeout: 10 * time.Second})
	if !errors.Is(err, ErrOutputCap) {
		t.Fatalf("want ErrOutputCap, got %v", err)
	}
	if len(res.Stdout) != limit {
		t.Fatalf("kept %d bytes, want %d", len(res.Stdout), limit)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("took %v", el)
	}
	res, err = c.Run(t.Context(), Command{Line: "yes >&2", OutputCap: limit, Timeout: 10 * time.Second})
	if !errors.Is(err, ErrOutputCap) || len(res.Stderr) != limit || !strings.Contains(err.Error(), "stderr") {
		t.Fatalf("stderr cap: %v, %d bytes", err, len(res.Stderr))
	}
}

func TestSSHContextCancel(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := f.dial(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Run(ctx, Command{Line: "sleep 10"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("cancel was slow")
	}
}

func TestSSHJump(t *testing.T) {
	target := newFixture(t, serverOpts{noForward: true})
	bastion := startServer(t, serverOpts{authorized: target.srv.opts.authorized})
	kh := target.kh
	if err := os.WriteFile(kh, []byte(target.srv.knownHostsLine()+"\n"+bastion.knownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hop := target.cfg
	hop.Name = "bastion"
	hop.Port = bastion.port()
	cfg := target.cfg
	cfg.Jump = []SSHConfig{hop}

	c, err := Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Dial via jump: %v", err)
	}
	res, err := c.Run(t.Context(), Command{Line: "echo through"})
	if err != nil || string(res.Stdout) != "through\n" {
		t.Fatalf("Run via jump: %q %v", res.Stdout, err)
	}
	if d := c.Describe(); !strings.HasSuffix(d, " via bastion") {
		t.Fatalf("Describe = %q", d)
	}
	c.Close()

	t.Run("hop host key unknown", func(t *testing.T) {
		cfg := cfg
		hop := hop
		hop.KnownHostsFiles = []string{filepath.Join(t.TempDir(), "empty")}
		cfg.Jump = []SSHConfig{hop}
		_, err := Dial(t.Context(), cfg)
		if !errors.Is(err, ErrJump) || !errors.Is(err, ErrHostKeyUnknown) {
			t.Fatalf("want ErrJump+ErrHostKeyUnknown, got %v", err)
		}
		if !strings.Contains(err.Error(), "jump host bastion (hop 1 of 1)") {
			t.Fatalf("hop not named: %v", err)
		}
		if !strings.Contains(Hint(err), "bastion") {
			t.Fatalf("hint does not name the hop: %q", Hint(err))
		}
	})
	t.Run("hop refuses forwarding", func(t *testing.T) {
		cfg := cfg
		hop := hop
		hop.Port = target.srv.port() // the target has forwarding off
		cfg.Jump = []SSHConfig{hop}
		_, err := Dial(t.Context(), cfg)
		if !errors.Is(err, ErrJump) {
			t.Fatalf("want ErrJump, got %v", err)
		}
	})
	t.Run("target refused behind hop", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cfg := cfg
		cfg.Port = port
		_, err := Dial(t.Context(), cfg)
		if !errors.Is(err, ErrConnectionRefused) || errors.Is(err, ErrJump) {
			t.Fatalf("want ErrConnectionRefused (not the hop's fault), got %v", err)
		}
	})
}

func TestSSHFiles(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := f.dial(t)
	ctx := t.Context()
	p := filepath.Join(f.dir, "conf", "a.conf")
	if err := os.Mkdir(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadFile(ctx, p); !errors.Is(err, ErrNotExist) {
		t.Fatalf("want ErrNotExist, got %v", err)
	}
	for _, content := range []string{"first\n", "second, longer content\n"} {
		if err := c.WriteFile(ctx, p, []byte(content), 0o640); err != nil {
			t.Fatalf("WriteFile: %v", err)
		}
		got, err := c.ReadFile(ctx, p)
		if err != nil || string(got) != content {
			t.Fatalf("ReadFile = %q, %v", got, err)
		}
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("mode = %v, %v", st.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Fatalf("temp files left: %v", entries)
	}
	if err := c.WriteFile(ctx, filepath.Join(f.dir, "nodir", "x"), []byte("x"), 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func TestSSHCloseLeavesNoGoroutines(t *testing.T) {
	f := newFixture(t, serverOpts{})
	f.cfg.KeepAlive = 50 * time.Millisecond
	// Warm up lazily started runtime goroutines before the baseline.
	c := f.dial(t)
	c.Close()
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()

	c = f.dial(t)
	if _, err := c.Run(t.Context(), Command{Line: "echo x"}); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(t.Context(), filepath.Join(f.dir, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // let a keepalive round happen
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d > %d\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHostKeyAliasAddr(t *testing.T) {
	for alias, want := range map[string]string{
		"[127.0.0.1]:2222": "127.0.0.1:2222",
		"ctl1":             "ctl1:22",
		"::1":              "[::1]:22",
		"[ctl1]:22":        "ctl1:22",
		"[broken":          "[broken:22",
	} {
		if got := hostKeyAliasAddr(alias); got != want {
			t.Errorf("%q: %q, want %q", alias, got, want)
		}
	}
}
