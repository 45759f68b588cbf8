//go:build e2e

// Helpers shared by the end-to-end fault and security tests of this
// package (faults_e2e_test.go, security_e2e_test.go). They run the test
// binary as runbook (see mainEnv in cli_test.go) against the real testbed
// of testbed/README.md, and fail, never skip, when it is missing.
//
//	set -a; . /tmp/runbook-testbed/env; set +a
//	flock /tmp/testbed-e2e.flock go test -tags e2e -count=1 -run 'Fault|Security' ./cmd/runbook/
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/schema/schematest"
)

var (
	e2eTestbedDir = func() string {
		if d := os.Getenv("TESTBED_DIR"); d != "" {
			return d
		}
		return "/tmp/runbook-testbed"
	}()
	e2eInventory = filepath.Join(e2eTestbedDir, "inventory.hcl")
	e2eSSHDLog   = filepath.Join(e2eTestbedDir, "sshd", "sshd.log")
	e2eClientKey = filepath.Join(e2eTestbedDir, "ssh", "id_ed25519")
	e2eRepoRoot  = filepath.Join("..", "..")
	e2eSeq       atomic.Int64
)

// e2eRequireTestbed fails the test when the testbed is not up.
func e2eRequireTestbed(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(e2eInventory); err != nil {
		t.Fatalf("testbed missing (%v): run testbed/up first", err)
	}
	if os.Getenv("TESTBED_RBADMIN_SUDO_PASSWORD") == "" {
		t.Fatal("TESTBED_RBADMIN_SUDO_PASSWORD is not set: source the testbed's env file (set -a; . $TESTBED_DIR/env; set +a)")
	}
}

// e2eTestbedBroken holds the first testbed script failure of this test
// binary. Later calls fail at once instead of each waiting out the scripts'
// own lock timeout (ten minutes): a broken testbed must not eat CI's time.
var e2eTestbedBroken error

// e2eScript runs testbed/NAME.
func e2eScript(t *testing.T, name string, args ...string) {
	t.Helper()
	if e2eTestbedBroken != nil {
		t.Fatalf("testbed/%s not run: an earlier testbed script failed in this run: %v", name, e2eTestbedBroken)
	}
	cmd := exec.Command(filepath.Join(e2eRepoRoot, "testbed", name), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		e2eTestbedBroken = fmt.Errorf("testbed/%s %v: %v\n%s", name, args, err, out)
		t.Fatal(e2eTestbedBroken)
	}
}

// e2eFresh brings the testbed up and back to its initial state now and
// again when the test ends, whatever the test broke.
func e2eFresh(t *testing.T) {
	t.Helper()
	e2eRequireTestbed(t)
	e2eScript(t, "up")
	e2eScript(t, "reset")
	t.Cleanup(func() {
		e2eScript(t, "up")
		e2eScript(t, "reset")
	})
}

// e2eName is unique per call: runbook names (each has its own lock on the
// host), QoS names, marker files.
func e2eName(prefix string) string {
	return fmt.Sprintf("%s%d%d", prefix, os.Getpid()%100000, e2eSeq.Add(1))
}

// e2eMarker is a path on the host (this machine) a step touches; removed
// when the test ends.
func e2eMarker(t *testing.T, what string) string {
	p := "/tmp/" + e2eName("rb-e2e-"+what+"-")
	t.Cleanup(func() { os.Remove(p) })
	return p
}

// e2eRemoveGlob removes the files a test left on the host (job scripts
// and outputs).
func e2eRemoveGlob(pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, f := range files {
		os.Remove(f)
	}
}

func e2eWrite(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// e2eProc is a runbook process.
type e2eProc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error
	started        time.Time
}

// e2eStart starts runbook with args (no terminal; env adds K=V pairs).
func e2eStart(t *testing.T, env []string, args ...string) *e2eProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &e2eProc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(exe, args...)
	p.cmd.Env = append(append(os.Environ(), mainEnv+"=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		// Every record, plan and event stream it wrote matches docs/schemas/.
		ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		_, errs := schematest.Run{Args: p.cmd.Args[1:], Stdout: p.stdout.String(), Started: p.started, Killed: ws.Signaled()}.Check()
		for _, err := range errs {
			t.Error(err)
		}
	})
	return p
}

func (p *e2eProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// wait waits for the process to exit and returns what it printed.
func (p *e2eProc) wait(t *testing.T, timeout time.Duration) result {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("runbook still running after %s (killed)\nstdout:\n%s\nstderr:\n%s", timeout, p.stdout, p.stderr)
	}
	code := 0
	var ee *exec.ExitError
	switch {
	case p.err == nil:
	case errors.As(p.err, &ee):
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("runbook was killed by %s\nstderr:\n%s", ws.Signal(), p.stderr)
		}
	default:
		t.Fatalf("runbook: %v", p.err)
	}
	r := result{code: code, stdout: p.stdout.String(), stderr: p.stderr.String()}
	t.Logf("runbook %s → exit %d after %s\n%s", strings.Join(p.cmd.Args[1:], " "), code, time.Since(p.started).Round(100*time.Millisecond), r)
	return r
}

// peakRSS is the process's peak resident memory in bytes (after wait).
// Linux keeps ru_maxrss across execve, so it includes the test binary's
// own size at fork time: an upper bound.
func (p *e2eProc) peakRSS() int64 {
	if p.cmd.ProcessState == nil {
		return 0
	}
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}

// e2eApply writes src as a runbook and starts `runbook apply` on it with
// the testbed inventory (or inv), a fresh state dir and args.
func e2eApply(t *testing.T, src, inv string, env []string, args ...string) (*e2eProc, string) {
	t.Helper()
	if inv == "" {
		inv = e2eInventory
	}
	state := t.TempDir()
	rb := e2eWrite(t, "runbook.hcl", src)
	argv := append([]string{"apply", rb, "-i", inv, "--auto-approve", "--state-dir", state}, args...)
	return e2eStart(t, env, argv...), state
}

// e2eRecord loads the one run record under state.
func e2eRecord(t *testing.T, state string) (*report.Run, string) {
	t.Helper()
	dir := onlyRunDir(t, state)
	return readReport(t, dir), dir
}

// e2eStep finds a step of the report's only host.
func e2eStep(t *testing.T, rep *report.Run, name string) *report.Step {
	t.Helper()
	if len(rep.Hosts) != 1 {
		t.Fatalf("%d hosts in the report, want 1", len(rep.Hosts))
	}
	for _, s := range rep.Hosts[0].Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %q in the report", name)
	return nil
}

// e2eWaitFor polls cond every 50 ms until it holds or timeout passes.
func e2eWaitFor(t *testing.T, timeout time.Duration, what string, p *e2eProc, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if p != nil && !p.running() {
			t.Fatalf("runbook exited while waiting for %s\nstdout:\n%s\nstderr:\n%s", what, p.stdout, p.stderr)
		}
		if time.Now().After(deadline) {
			msg := ""
			if p != nil {
				msg = fmt.Sprintf("\nstdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
			}
			t.Fatalf("timed out after %s waiting for %s%s", timeout, what, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func e2eExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// e2eOut runs a command on this machine (the testbed's controller and
// SSH host) and returns its trimmed output; errors are ignored.
func e2eOut(argv ...string) string {
	out, _ := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// e2eProcs lists "pid args" of the user's processes whose command line
// matches the pgrep pattern.
func e2eProcs(user, pattern string) string {
	return e2eOut("pgrep", "-a", "-u", user, "-f", pattern)
}

// e2eNoProcs waits up to timeout for the user's processes matching
// pattern to be gone.
func e2eNoProcs(t *testing.T, user, pattern string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := e2eProcs(user, pattern)
		if left == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s's processes matching %q still run %s after runbook ended:\n%s", user, pattern, timeout, left)
			for _, l := range strings.Split(left, "\n") {
				if pid, err := strconv.Atoi(strings.Fields(l)[0]); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// e2eQueue is koopark's jobs as "id state" lines.
func e2eQueue() string { return e2eOut("squeue", "-h", "-u", "koopark", "-o", "%i %T") }

// e2eRunningJob waits for one of koopark's jobs to be RUNNING.
func e2eRunningJob(t *testing.T, p *e2eProc, timeout time.Duration) string {
	t.Helper()
	var id string
	e2eWaitFor(t, timeout, "the test job to run", p, func() bool {
		for _, l := range strings.Split(e2eQueue(), "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[1] == "RUNNING" {
				id = f[0]
				return true
			}
		}
		return false
	})
	return id
}

// e2eLogMark is the current end of a log file; e2eLogSince reads what was
// appended after it.
func e2eLogMark(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func e2eLogSince(t *testing.T, path string, mark int64) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(mark, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// e2eCommandsSince lists the command lines sshd ran since mark
// (LogLevel DEBUG3 logs each as mm_audit_run_command).
func e2eCommandsSince(t *testing.T, log string, mark int64) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(e2eLogSince(t, log, mark)))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if _, cmd, ok := strings.Cut(sc.Text(), "mm_audit_run_command entering command "); ok {
			out = append(out, cmd)
		}
	}
	return out
}

func e2eFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// e2eHostBlock is an inventory host for the testbed's users on addr:port.
func e2eHostBlock(name, user string, port int, knownHosts string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "host %q {\n  address       = \"127.0.0.1\"\n  port          = %d\n  user          = %q\n", name, port, user)
	fmt.Fprintf(&b, "  identity_file = %q\n  known_hosts   = %q\n", e2eClientKey, knownHosts)
	for _, e := range extra {
		b.WriteString("  " + e + "\n")
	}
	b.WriteString("  vars = { job_user = \"koopark\", has_nvidia_smi = false }\n}\n")
	return b.String()
}

// e2eSSHD is a second OpenSSH server of our own, on a free port, that a
// test may kill without disturbing the testbed's.
type e2eSSHD struct {
	dir, cfg, log, knownHosts string
	port                      int
	cmd                       *exec.Cmd
	authorized                string
}

// e2eStartSSHD starts sshd for the testbed users with its own host key,
// authorized keys (the testbed client key plus extraKeys) and log.
func e2eStartSSHD(t *testing.T, extraKeys ...string) *e2eSSHD {
	t.Helper()
	s := &e2eSSHD{dir: t.TempDir(), port: e2eFreePort(t)}
	hostKey := filepath.Join(s.dir, "host_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e-sshd", "-f", hostKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(e2eClientKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	s.authorized = filepath.Join(s.dir, "authorized_keys")
	keys := string(pub)
	for _, k := range extraKeys {
		keys += k + "\n"
	}
	if err := os.WriteFile(s.authorized, []byte(keys), 0o644); err != nil {
		t.Fatal(err)
	}
	// The test's temp dirs are 0700 root: the users' sshd processes must
	// read the authorized keys, so the path to them is opened up.
	for d := s.dir; d != "/tmp" && d != "/" && d != "."; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	s.log = filepath.Join(s.dir, "sshd.log")
	s.cfg = filepath.Join(s.dir, "sshd_config")
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM yes
AllowUsers koopark rbadmin
PrintMotd no
LogLevel DEBUG3
MaxSessions 64
Subsystem sftp /usr/lib/openssh/sftp-server
`, s.port, hostKey, filepath.Join(s.dir, "sshd.pid"), s.authorized)
	if err := os.WriteFile(s.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("/usr/sbin/sshd", "-t", "-f", s.cfg).CombinedOutput(); err != nil {
		t.Fatalf("sshd -t: %v\n%s", err, out)
	}
	s.cmd = exec.Command("/usr/sbin/sshd", "-D", "-f", s.cfg, "-E", s.log)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { s.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		s.kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(s.log)
			t.Fatalf("our sshd does not listen on %d: %v\n%s", s.port, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	hk, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(hk))
	s.knownHosts = e2eWrite(t, "known_hosts", fmt.Sprintf("[127.0.0.1]:%d %s %s\n", s.port, f[0], f[1]))
	return s
}

// descendants lists the pids below pid, from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

func procComm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// killSSHD kills our sshd's listener and every sshd process of its
// sessions at once (SIGKILL: a crash, not a shutdown), leaving the users'
// commands alone. It returns the pids of those commands.
func (s *e2eSSHD) killSSHD() (orphans []int) {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	var sshds []int
	for _, p := range descendants(s.cmd.Process.Pid) {
		if procComm(p) == "sshd" || strings.HasPrefix(procComm(p), "sshd-") {
			sshds = append(sshds, p)
		} else {
			orphans = append(orphans, p)
		}
	}
	syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
	for _, p := range sshds {
		syscall.Kill(p, syscall.SIGKILL)
	}
	return orphans
}

// kill ends our sshd and everything it started.
func (s *e2eSSHD) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	all := descendants(s.cmd.Process.Pid)
	syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
	for _, p := range all {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// e2eProxy forwards TCP connections to target and, once a connection
// has carried dropAfter bytes from the server, closes both of its sides
// (a NAT or firewall dropping the session mid-output).
func e2eProxy(t *testing.T, target string, dropAfter int64) (port int, dropped <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); l.Close() })
	ch := make(chan struct{})
	var once sync.Once
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				go func() {
					io.Copy(s, c)
					s.Close()
				}()
				var n int64
				buf := make([]byte, 32<<10)
				for ctx.Err() == nil {
					k, err := s.Read(buf)
					if k > 0 {
						if _, werr := c.Write(buf[:k]); werr != nil {
							return
						}
						n += int64(k)
						if n > dropAfter {
							once.Do(func() { close(ch) })
							return // both deferred Closes run: a hard drop
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, ch
}

// e2eTestbedHostKey is the testbed sshd's public key ("type base64").
func e2eTestbedHostKey(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e2eTestbedDir, "sshd", "ssh_host_ed25519_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	return f[0] + " " + f[1]
}

// e2eModes checks that everything under root is 0700 (directories) or
// 0600 (files).
func e2eModes(t *testing.T, root string) {
	t.Helper()
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if p == root {
			return nil
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %o, want %o", p, fi.Mode().Perm(), want)
		}
		return nil
	})
}
