package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary double as a ProxyCommand helper, so the
// tests need no nc or socat on the machine:
//
//	transport.test proxy-helper nc HOST:PORT PIDFILE   relay stdin/stdout to HOST:PORT
//	transport.test proxy-helper hang PIDFILE           ignore SIGHUP, never speak
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "proxy-helper" {
		os.Exit(proxyHelper(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func proxyHelper(args []string) int {
	writePid := func(path string) {
		os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o600)
	}
	switch args[0] {
	case "nc":
		writePid(args[2])
		c, err := net.Dial("tcp", args[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "proxy-helper: %v\n", err)
			return 255
		}
		done := make(chan struct{}, 2)
		go func() { io.Copy(c, os.Stdin); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
		go func() { io.Copy(os.Stdout, c); done <- struct{}{} }()
		<-done
		return 0
	case "hang":
		signal.Ignore(syscall.SIGHUP)
		fmt.Fprintln(os.Stderr, "proxy-helper: waiting for a password that never comes")
		writePid(args[1])
		time.Sleep(time.Minute)
		return 0
	}
	return 2
}

func helperCommand(t *testing.T, args ...string) string {
	t.Helper()
	q := []string{shellQuote(os.Args[0]), "proxy-helper"}
	for _, a := range args {
		q = append(q, shellQuote(a))
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// reaped waits until pid is gone for good: kill(pid, 0) still succeeds on
// a zombie, so ESRCH means the process was also waited for.
func reaped(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			state := "alive"
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); len(b) > 0 {
				state = string(b)
			}
			t.Fatalf("proxy command pid %d not reaped after %v: %s", pid, within, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readPidFile(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if pid, err := strconv.Atoi(string(b)); err == nil && pid > 0 {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// noDirectDial makes any direct TCP connection fail, so a test passes
// only if the ProxyCommand (or a hop) carried the connection.
func noDirectDial(t *testing.T) {
	old := netDialer
	t.Cleanup(func() { netDialer = old })
	netDialer = &net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS in tests")
	}}, ControlContext: func(context.Context, string, string, syscall.RawConn) error {
		return errors.New("direct dial forbidden in this test")
	}}
}

func TestSSHProxyCommand(t *testing.T) {
	noDirectDial(t)
	f := newFixture(t, serverOpts{})
	pidFile := filepath.Join(f.dir, "proxy.pid")
	// An address nobody resolves: only the proxy command knows the way.
	f.cfg.Address = "behind-proxy.invalid"
	line := fmt.Sprintf("[behind-proxy.invalid]:%d %s", f.srv.port(), strings.Fields(f.srv.knownHostsLine())[1]+" "+strings.Fields(f.srv.knownHostsLine())[2])
	if err := os.WriteFile(f.kh, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.cfg.ProxyCommand = helperCommand(t, "nc", fmt.Sprintf("127.0.0.1:%d", f.srv.port()), pidFile)

	c := f.dial(t)
	res, err := c.Run(t.Context(), Command{Line: "echo through-proxy"})
	if err != nil || string(res.Stdout) != "through-proxy\n" {
		t.Fatalf("Run: %q %v", res.Stdout, err)
	}
	if d := c.Describe(); !strings.HasSuffix(d, " via ProxyCommand") {
		t.Errorf("Describe = %q", d)
	}
	pid := readPidFile(t, pidFile)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	reaped(t, pid, 3*time.Second)

	t.Run("none means direct", func(t *testing.T) {
		cfg := f.cfg
		cfg.ProxyCommand = "none"
		_, err := Dial(t.Context(), cfg)
		if !errors.Is(err, ErrConnect) || !strings.Contains(err.Error(), "direct dial forbidden") && !strings.Contains(err.Error(), "no DNS") {
			t.Fatalf("ProxyCommand none must dial directly, got %v", err)
		}
	})
	t.Run("both proxy command and jump", func(t *testing.T) {
		cfg := f.cfg
		cfg.Jump = []SSHConfig{f.cfg}
		_, err := Dial(t.Context(), cfg)
		if !errors.Is(err, ErrConnect) || !strings.Contains(err.Error(), "both ProxyCommand and a jump host") {
			t.Fatalf("want a refusal, got %v", err)
		}
	})
}

func TestSSHProxyCommandFailureShowsStderr(t *testing.T) {
	f := newFixture(t, serverOpts{})
	// What `ssh -W` prints when the bastion cannot reach the target.
	f.cfg.ProxyCommand = `sh -c 'echo "channel 0: open failed: connect failed: Connection refused" >&2; echo "stdio forwarding failed" >&2; exit 255'`
	_, err := Dial(t.Context(), f.cfg)
	if !errors.Is(err, ErrConnectionRefused) {
		t.Fatalf("want ErrConnectionRefused, got %v", err)
	}
	for _, want := range []string{"exited with status 255", "open failed: connect failed: Connection refused", "stdio forwarding failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}

	f.cfg.ProxyCommand = "/nonexistent/proxy-binary %h"
	_, err = Dial(t.Context(), f.cfg)
	if !errors.Is(err, ErrConnect) || !strings.Contains(err.Error(), "/nonexistent/proxy-binary") || !strings.Contains(err.Error(), "status 127") {
		t.Fatalf("missing binary: %v", err)
	}
}

func TestSSHProxyCommandKilledOnCancelAndTimeout(t *testing.T) {
	f := newFixture(t, serverOpts{})
	for _, tc := range []string{"cancel", "timeout"} {
		t.Run(tc, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			cfg := f.cfg
			// Never speaks and ignores SIGHUP: only SIGKILL ends it.
			cfg.ProxyCommand = helperCommand(t, "hang", pidFile)
			ctx := t.Context()
			if tc == "cancel" {
				cfg.ConnectTimeout = time.Minute
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				go func() {
					readPidFile(t, pidFile)
					cancel()
				}()
			} else {
				cfg.ConnectTimeout = 500 * time.Millisecond
			}
			start := time.Now()
			_, err := Dial(ctx, cfg)
			if tc == "cancel" && (!errors.Is(err, ErrConnect) || !strings.Contains(err.Error(), "canceled")) {
				t.Fatalf("want canceled, got %v", err)
			}
			if tc == "timeout" && !errors.Is(err, ErrConnectTimeout) {
				t.Fatalf("want ErrConnectTimeout, got %v", err)
			}
			if !strings.Contains(err.Error(), "said: proxy-helper: waiting for a password") {
				t.Fatalf("the proxy command's stderr is missing: %v", err)
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Fatalf("took %v", el)
			}
			reaped(t, readPidFile(t, pidFile), 3*time.Second)
		})
	}
}

func TestSSHProxyCommandFirstHop(t *testing.T) {
	noDirectDial(t)
	target := newFixture(t, serverOpts{noForward: true})
	bastion := startServer(t, serverOpts{authorized: target.srv.opts.authorized})
	if err := os.WriteFile(target.kh, []byte(target.srv.knownHostsLine()+"\n"+bastion.knownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(target.dir, "proxy.pid")
	hop := target.cfg
	hop.Name = "bastion"
	hop.Port = bastion.port()
	hop.ProxyCommand = helperCommand(t, "nc", fmt.Sprintf("127.0.0.1:%d", bastion.port()), pidFile)
	cfg := target.cfg
	cfg.Jump = []SSHConfig{hop}
	c, err := Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	res, err := c.Run(t.Context(), Command{Line: "echo hop-proxied"})
	if err != nil || string(res.Stdout) != "hop-proxied\n" {
		t.Fatalf("Run: %q %v", res.Stdout, err)
	}
	pid := readPidFile(t, pidFile)
	c.Close()
	reaped(t, pid, 3*time.Second)
}

func TestSSHProxyCommandDiesMidCommand(t *testing.T) {
	f := newFixture(t, serverOpts{})
	pidFile := filepath.Join(f.dir, "proxy.pid")
	f.cfg.ProxyCommand = helperCommand(t, "nc", fmt.Sprintf("127.0.0.1:%d", f.srv.port()), pidFile)
	c := f.dial(t)
	pid := readPidFile(t, pidFile)
	time.AfterFunc(300*time.Millisecond, func() { syscall.Kill(pid, syscall.SIGKILL) })
	start := time.Now()
	_, err := c.Run(t.Context(), Command{Line: "sleep 10"})
	if !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("want ErrConnectionLost, got %v", err)
	}
	if !strings.Contains(err.Error(), "killed by signal") || !strings.Contains(err.Error(), "ProxyCommand") {
		t.Fatalf("the error should say the proxy command died: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
	c.Close()
	reaped(t, pid, 3*time.Second)
}

func TestSSHProxyCommandCloseLeavesNoGoroutines(t *testing.T) {
	f := newFixture(t, serverOpts{})
	f.cfg.KeepAlive = 50 * time.Millisecond
	f.cfg.ProxyCommand = helperCommand(t, "nc", fmt.Sprintf("127.0.0.1:%d", f.srv.port()), filepath.Join(f.dir, "pid"))
	// Warm up lazily started runtime goroutines before the baseline.
	c := f.dial(t)
	c.Close()
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()

	c = f.dial(t)
	if _, err := c.Run(t.Context(), Command{Line: "echo x"}); err != nil {
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
