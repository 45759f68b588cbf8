package transport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proxyStderrMax bounds how much of a proxy command's stderr is kept for
// the error message: ssh -W at -v can print a lot, and only the end (the
// reason it failed) matters.
const proxyStderrMax = 8 << 10

// proxyKillGrace is how long a proxy command has to exit after SIGHUP (what
// OpenSSH sends it) before it is killed.
const proxyKillGrace = time.Second

// proxyCommandSet reports whether cmd asks for a proxy command: empty and
// "none" (ssh_config's way of turning it off) do not.
func proxyCommandSet(cmd string) bool {
	cmd = strings.TrimSpace(cmd)
	return cmd != "" && !strings.EqualFold(cmd, "none")
}

// proxyConn is a net.Conn over a ProxyCommand's stdin and stdout.
type proxyConn struct {
	command string
	cmd     *exec.Cmd
	stdin   *os.File // our end: writes go to the command's stdin
	stdout  *os.File // our end: reads come from the command's stdout
	stderr  *os.File // our end of its stderr pipe
	local   net.Addr
	remote  net.Addr

	stderrDone chan struct{}
	stderrMu   sync.Mutex
	stderrBuf  []byte // the last proxyStderrMax bytes

	exited  chan struct{} // closed once Wait returned (the process is reaped)
	waitErr error

	closeOnce sync.Once
}

// startProxyCommand runs command as OpenSSH does ("exec COMMAND" through
// /bin/sh -c, so the shell does not linger as a middleman) and returns the
// connection over its stdin/stdout. remoteHost and port only label the
// connection (RemoteAddr) for the host key check; the command decides
// where it really goes.
//
// The command stays in our process group and keeps the terminal, like
// OpenSSH's: an `ssh -W` inside it can still ask for a passphrase on
// /dev/tty.
func startProxyCommand(command, remoteHost string, port int) (*proxyConn, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := exec.Command("/bin/sh", "-c", "exec "+command)
	// *os.File, not io.Reader/Writer: exec then hands the descriptors over
	// without copying goroutines, and Wait does not close our ends.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	startErr := cmd.Start()
	// The child holds its own copies; ours would keep the pipes open
	// after it exits (no EOF).
	inR.Close()
	outW.Close()
	errW.Close()
	if startErr != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("ProxyCommand %q: %w", command, startErr)
	}
	ip := net.ParseIP(remoteHost)
	if ip == nil {
		ip = net.IPv4zero
	}
	p := &proxyConn{
		command: command, cmd: cmd,
		stdin: inW, stdout: outR, stderr: errR,
		local:      proxyAddr("proxycommand"),
		remote:     &net.TCPAddr{IP: ip, Port: port},
		stderrDone: make(chan struct{}),
		exited:     make(chan struct{}),
	}
	go p.collectStderr()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *proxyConn) collectStderr() {
	defer close(p.stderrDone)
	buf := make([]byte, 4096)
	for {
		n, err := p.stderr.Read(buf)
		if n > 0 {
			p.stderrMu.Lock()
			p.stderrBuf = append(p.stderrBuf, buf[:n]...)
			if over := len(p.stderrBuf) - proxyStderrMax; over > 0 {
				p.stderrBuf = p.stderrBuf[over:]
			}
			p.stderrMu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

func (p *proxyConn) Read(b []byte) (int, error)  { return p.stdout.Read(b) }
func (p *proxyConn) Write(b []byte) (int, error) { return p.stdin.Write(b) }

// Close ends the command the way OpenSSH does (SIGHUP), kills it if it is
// still there after proxyKillGrace, and reaps it: no zombie is left.
func (p *proxyConn) Close() error {
	p.closeOnce.Do(func() {
		// EOF on its stdin is the polite request; most proxies exit on it.
		p.stdin.Close()
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGHUP)
			select {
			case <-p.exited:
			case <-time.After(proxyKillGrace):
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
		}
		p.stdout.Close()
		// A grandchild that inherited stderr may hold it open: closing our
		// end ends collectStderr regardless.
		select {
		case <-p.stderrDone:
		case <-time.After(100 * time.Millisecond):
		}
		p.stderr.Close()
		<-p.stderrDone
	})
	return nil
}

// failure describes why the command's connection failed: its exit status
// (waiting up to wait for it to exit) and the end of its stderr.
func (p *proxyConn) failure(wait time.Duration) string {
	status := "still running"
	select {
	case <-p.exited:
		status = exitDescription(p.waitErr)
	case <-time.After(wait):
	}
	if status != "still running" {
		// The process is gone, but stderr may still be draining.
		select {
		case <-p.stderrDone:
		case <-time.After(wait):
		}
	}
	p.stderrMu.Lock()
	msg := strings.TrimSpace(string(p.stderrBuf))
	p.stderrMu.Unlock()
	s := fmt.Sprintf("ProxyCommand %q %s", p.command, status)
	if msg == "" {
		return s + ", no stderr output"
	}
	return s + ", stderr: " + msg
}

// stderrNote is "; ProxyCommand "…" said: …" with the end of its stderr,
// or "" when it printed nothing: for failures where we ended it ourselves
// (timeout, cancel), so its exit status says nothing.
func (p *proxyConn) stderrNote() string {
	p.stderrMu.Lock()
	msg := strings.TrimSpace(string(p.stderrBuf))
	p.stderrMu.Unlock()
	if msg == "" {
		return ""
	}
	return fmt.Sprintf("; ProxyCommand %q said: %s", p.command, msg)
}

func exitDescription(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exited with status 0"
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + ws.Signal().String()
		}
		return "exited with status " + strconv.Itoa(ee.ExitCode())
	}
	return "failed: " + err.Error()
}

func (p *proxyConn) LocalAddr() net.Addr  { return p.local }
func (p *proxyConn) RemoteAddr() net.Addr { return p.remote }

// Pipes take deadlines (os.File supports them on pipes), which x/crypto
// does not need but a net.Conn must offer.
func (p *proxyConn) SetDeadline(t time.Time) error {
	return errors.Join(p.stdout.SetReadDeadline(t), p.stdin.SetWriteDeadline(t))
}
func (p *proxyConn) SetReadDeadline(t time.Time) error  { return p.stdout.SetReadDeadline(t) }
func (p *proxyConn) SetWriteDeadline(t time.Time) error { return p.stdin.SetWriteDeadline(t) }

type proxyAddr string

func (a proxyAddr) Network() string { return "proxycommand" }
func (a proxyAddr) String() string  { return string(a) }

var _ io.ReadWriteCloser = (*proxyConn)(nil)
var _ net.Conn = (*proxyConn)(nil)

// classifyProxyFailure sorts a proxy command's failure by its stderr, as
// far as the common `ssh -W` and nc messages allow; anything else is a
// plain ErrConnect.
func classifyProxyFailure(stderr string) error {
	s := strings.ToLower(stderr)
	switch {
	case strings.Contains(s, "could not resolve hostname"), strings.Contains(s, "name or service not known"),
		strings.Contains(s, "temporary failure in name resolution"):
		return ErrDNS
	case strings.Contains(s, "connection refused"):
		return ErrConnectionRefused
	case strings.Contains(s, "timed out"):
		return ErrConnectTimeout
	}
	return ErrConnect
}
