package transport

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// testServer is a small in-process SSH server running commands with the
// real /bin/sh, enough to test the client against: exec, exit status,
// signals, sftp, direct-tcpip (for jump hosts) and keepalive replies.
type testServer struct {
	t       *testing.T
	ln      net.Listener
	hostKey ssh.Signer
	opts    serverOpts

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

type serverOpts struct {
	// ignoreSignals mimics OpenSSH before 7.9, which dropped "signal".
	ignoreSignals bool
	noForward     bool
	// env is added to every command's environment (e.g. a PATH with a
	// fake sudo in front).
	env []string
	// authorized keys; nil with password == "" means the default client key.
	authorized []ssh.PublicKey
	password   string
	hostKey    ssh.Signer
	// extraHostKeys are offered too (e.g. RSA next to ED25519).
	extraHostKeys []ssh.Signer
	// onExec runs when a command starts (to drop the connection mid-run).
	onExec func(srv *testServer, cmd string)
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeKey writes priv as an OpenSSH private key file (optionally
// encrypted) and returns its path.
func writeKey(t *testing.T, dir, name string, passphrase string) (string, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return p, s
}

func startServer(t *testing.T, opts serverOpts) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, ln: ln, opts: opts, hostKey: opts.hostKey}
	if s.hostKey == nil {
		s.hostKey = newSigner(t)
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *testServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// knownHostsLine is the line OpenSSH would have for this server.
func (s *testServer) knownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.ln.Addr().String())}, s.hostKey.PublicKey())
}

func (s *testServer) close() {
	s.ln.Close()
	s.dropAll()
	s.wg.Wait()
}

// dropAll closes every TCP connection: the client sees the link vanish.
func (s *testServer) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *testServer) config() *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{}
	if len(s.opts.authorized) > 0 {
		cfg.PublicKeyCallback = func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, k := range s.opts.authorized {
				if string(k.Marshal()) == string(key.Marshal()) {
					return nil, nil
				}
			}
			return nil, errors.New("not authorized")
		}
	}
	if s.opts.password != "" {
		cfg.PasswordCallback = func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if string(pw) == s.opts.password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		}
	}
	cfg.AddHostKey(s.hostKey)
	for _, k := range s.opts.extraHostKeys {
		cfg.AddHostKey(k)
	}
	return cfg
}

func (s *testServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleConn(c)
		}()
	}
}

func (s *testServer) handleConn(c net.Conn) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, s.config())
	if err != nil {
		return
	}
	defer sc.Close()
	// Replies false to keepalive@openssh.com, as OpenSSH does.
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			ch, creqs, err := nc.Accept()
			if err != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.session(ch, creqs)
			}()
		case "direct-tcpip":
			if s.opts.noForward {
				nc.Reject(ssh.Prohibited, "port forwarding is disabled")
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				forward(nc)
			}()
		default:
			nc.Reject(ssh.UnknownChannelType, "unknown channel type")
		}
	}
}

func forward(nc ssh.NewChannel) {
	var p struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
		nc.Reject(ssh.ConnectionFailed, "bad payload")
		return
	}
	target, err := net.Dial("tcp", net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))))
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, "connect failed: Connection refused")
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		target.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	done := make(chan struct{}, 2)
	go func() { io.Copy(ch, target); ch.CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(target, ch); target.Close(); done <- struct{}{} }()
	<-done
	ch.Close()
	target.Close()
	<-done
}

func (s *testServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var (
		mu   sync.Mutex
		proc *os.Process
		done = make(chan struct{})
		ran  bool
	)
	for {
		var req *ssh.Request
		var ok bool
		select {
		case req, ok = <-reqs:
		case <-done:
			return
		}
		if !ok {
			return
		}
		switch req.Type {
		case "exec":
			if ran {
				req.Reply(false, nil)
				continue
			}
			ran = true
			var p struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				req.Reply(false, nil)
				continue
			}
			cmd := exec.Command("/bin/sh", "-c", p.Command)
			cmd.Env = append(os.Environ(), s.opts.env...)
			// Like sshd's setsid: the command leads its own group, which
			// is what a signal request kills.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Stdout = ch
			cmd.Stderr = ch.Stderr()
			stdin, err := cmd.StdinPipe()
			if err != nil {
				req.Reply(false, nil)
				continue
			}
			if err := cmd.Start(); err != nil {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			mu.Lock()
			proc = cmd.Process
			mu.Unlock()
			go func() {
				io.Copy(stdin, ch)
				stdin.Close()
			}()
			if s.opts.onExec != nil {
				go s.opts.onExec(s, p.Command)
			}
			go func() {
				err := cmd.Wait()
				status := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
						status = 128 + int(ws.Signal())
					} else {
						status = ee.ExitCode()
					}
				}
				b := make([]byte, 4)
				binary.BigEndian.PutUint32(b, uint32(status))
				ch.SendRequest("exit-status", false, b)
				ch.Close()
				close(done)
			}()
		case "subsystem":
			var p struct{ Name string }
			ssh.Unmarshal(req.Payload, &p)
			if p.Name != "sftp" || ran {
				req.Reply(false, nil)
				continue
			}
			ran = true
			req.Reply(true, nil)
			go func() {
				srv, err := sftp.NewServer(ch)
				if err == nil {
					srv.Serve()
					srv.Close()
				}
				ch.Close()
				close(done)
			}()
		case "signal":
			if s.opts.ignoreSignals {
				continue
			}
			var p struct{ Signal string }
			ssh.Unmarshal(req.Payload, &p)
			sig := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL, "INT": syscall.SIGINT}[p.Signal]
			mu.Lock()
			if proc != nil && sig != 0 {
				syscall.Kill(-proc.Pid, sig)
			}
			mu.Unlock()
		default:
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

// freezeProxy forwards TCP to target until frozen; then it stops moving
// bytes without closing anything, like a link that died without an RST.
type freezeProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	frozen chan struct{}
	conns  []net.Conn
}

func startFreezeProxy(t *testing.T, target string) *freezeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln, target: target, frozen: make(chan struct{})}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go p.pipe(c, u)
			go p.pipe(u, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

func (p *freezeProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.frozen:
			return // swallow: never deliver, never close
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (p *freezeProxy) freeze() { close(p.frozen) }

func (p *freezeProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// sshFixture is a server plus a client config that trusts it.
type sshFixture struct {
	srv     *testServer
	cfg     SSHConfig
	dir     string
	keyPath string
	kh      string
}

func newFixture(t *testing.T, opts serverOpts) *sshFixture {
	t.Helper()
	dir := t.TempDir()
	keyPath, signer := writeKey(t, dir, "id_ed25519", "")
	if opts.authorized == nil && opts.password == "" {
		opts.authorized = []ssh.PublicKey{signer.PublicKey()}
	}
	srv := startServer(t, opts)
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(srv.knownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &sshFixture{
		srv: srv, dir: dir, keyPath: keyPath, kh: kh,
		cfg: SSHConfig{
			Name:            "testhost",
			Address:         "127.0.0.1",
			Port:            srv.port(),
			User:            "tester",
			IdentityFiles:   []string{keyPath},
			KnownHostsFiles: []string{kh},
			ConnectTimeout:  2 * time.Second,
		},
	}
}

func (f *sshFixture) dial(t *testing.T) *SSH {
	t.Helper()
	c, err := Dial(t.Context(), f.cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
