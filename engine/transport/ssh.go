package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/melbahja/goph"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

const (
	// DefaultConnectTimeout covers the TCP connect and the SSH handshake
	// together, so a server that accepts but never speaks cannot hang us.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultKeepAlive is how often an idle connection is probed. With
	// DefaultKeepAliveCountMax a dead link is noticed within ~45s.
	DefaultKeepAlive         = 15 * time.Second
	DefaultKeepAliveCountMax = 3
)

// SSHConfig describes how to reach one host (or one jump hop).
type SSHConfig struct {
	// Name is the inventory name, used in messages ("via bastion").
	Name string
	// Address is the host name or IP to reach (ssh_config's HostName);
	// known_hosts is looked up under it and Port, also when a
	// ProxyCommand carries the connection.
	Address string
	// Port defaults to 22.
	Port int
	User string
	// IdentityFiles are private key files, in ssh_config's order (the
	// resolver gives OpenSSH's default list when the config names none).
	// A path or key listed twice is offered once. Keys are offered in
	// OpenSSH's order: the listed keys the agent holds (in the agent's
	// order), the agent's other keys (unless IdentitiesOnly), then the
	// other files. A file may be a public key, or a private key whose
	// FILE.pub the agent holds: the agent then signs for it. A user
	// certificate FILE-cert(.pub) is offered right after FILE's key.
	IdentityFiles []string
	// KnownHostsFiles are read together (@cert-authority and @revoked
	// lines included); accept-new records into the first.
	KnownHostsFiles []string
	HostKeyPolicy   HostKeyPolicy
	// HostKeyAlias, when set, is the name the host key is looked up and
	// recorded under in known_hosts instead of "[Address]:Port" (verbatim,
	// no port), and the principal a host certificate must name, as with
	// ssh_config's HostKeyAlias.
	HostKeyAlias string
	// Jump lists the hops to go through, first hop first. Each hop has its
	// own user, keys and host key check; a hop's own Jump is ignored (the
	// inventory flattens chains).
	Jump []SSHConfig
	// ProxyCommand, when set, is the connection to this host (or hop):
	// it is run with `sh -c` and its stdin/stdout carry the SSH stream,
	// as OpenSSH's ProxyCommand does. Tokens (%h, %p, %r, ...) are already
	// expanded by the resolver. Its stderr is put into the error when the
	// connection fails. The process is killed and reaped on Close.
	//
	// It is used for the first hop of Jump, or for the host itself when
	// Jump is empty; a hop in Jump may have its own ProxyCommand (only the
	// first hop's is used: later hops are reached through the previous
	// one). OpenSSH takes whichever of ProxyCommand and ProxyJump comes
	// first in ssh_config; the resolver passes only that one, so setting
	// both ProxyCommand and Jump on the host is an error. "none" (any
	// case) means no proxy command, as in ssh_config. The command runs
	// as OpenSSH runs it: /bin/sh -c "exec COMMAND", in our process group
	// (an `ssh -W` inside can still ask for a passphrase on /dev/tty).
	ProxyCommand string
	// UseAgent offers the keys of the ssh-agent at SSH_AUTH_SOCK.
	UseAgent bool
	// IdentitiesOnly offers only IdentityFiles, never other keys the agent
	// holds (OpenSSH's IdentitiesOnly yes). The agent may still sign for a
	// listed identity whose public key file (IdentityFile + ".pub") is
	// present and whose private key is only in the agent.
	IdentitiesOnly bool
	// Password enables password and keyboard-interactive authentication.
	Password string
	// Passphrase decrypts encrypted identity files; when empty,
	// PassphraseFunc is asked (e.g. TerminalPassphrase()).
	Passphrase     string
	PassphraseFunc func(keyFile string) ([]byte, error)
	// BecomePassword is given to sudo -S when a command asks for Become.
	BecomePassword string
	// ConnectTimeout bounds TCP connect plus handshake, per hop; zero
	// means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// KeepAlive is the keepalive@openssh.com interval; zero means
	// DefaultKeepAlive, negative disables. The connection is declared lost
	// when a probe is unanswered for KeepAlive*KeepAliveCountMax.
	KeepAlive         time.Duration
	KeepAliveCountMax int
	// Logf receives notices (host key recorded, insecure mode). May be nil.
	Logf func(format string, args ...any)
}

func (c SSHConfig) port() int {
	if c.Port == 0 {
		return 22
	}
	return c.Port
}

func (c SSHConfig) addr() string {
	return net.JoinHostPort(c.Address, strconv.Itoa(c.port()))
}

// dest is "user@address:port" for messages.
func (c SSHConfig) dest() string {
	if c.User == "" {
		return c.addr()
	}
	return c.User + "@" + c.addr()
}

func (c SSHConfig) label() string {
	if c.Name != "" {
		return c.Name
	}
	return c.dest()
}

// SSH runs commands on one host over a single SSH connection, one session
// per command. It is safe for concurrent use.
type SSH struct {
	cfg    SSHConfig
	client *goph.Client
	hops   []*ssh.Client
	// proxy is the ProxyCommand under the first hop (or the host), for
	// its stderr when the connection dies; closed with its client.
	proxy *proxyConn

	closed    chan struct{}
	closeOnce sync.Once
	dead      chan struct{} // closed when the connection is gone
	deadOnce  sync.Once
	deadErr   error
	wg        sync.WaitGroup

	sftpMu sync.Mutex
	sftp   *sftp.Client

	// signals: the server relays signal requests to the command (OpenSSH
	// 7.9 and later), so Stop ends it without the timeout(1) wrapper.
	signals bool
}

var (
	_ Transport     = (*SSH)(nil)
	_ FileTransport = (*SSH)(nil)
)

// Dial connects to cfg.Address through cfg.Jump, checking every host key
// and authenticating on every hop. Errors are *ConnectError.
func Dial(ctx context.Context, cfg SSHConfig) (*SSH, error) {
	s := &SSH{cfg: cfg, closed: make(chan struct{}), dead: make(chan struct{})}
	if len(cfg.Jump) > 0 && proxyCommandSet(cfg.ProxyCommand) {
		// OpenSSH uses whichever comes first in ssh_config; the resolver
		// passes only that one, so both here is a caller's mistake, and
		// guessing could route through the wrong bastion.
		return nil, &ConnectError{Dest: cfg.dest(), Kind: ErrConnect,
			Err: errors.New("both ProxyCommand and a jump host (ProxyJump) are set; only one can carry the connection")}
	}
	var via *ssh.Client
	fail := func(err error) (*SSH, error) {
		for i := len(s.hops) - 1; i >= 0; i-- {
			s.hops[i].Close()
		}
		return nil, err
	}
	for i, hop := range cfg.Jump {
		c, proxy, err := dialOne(ctx, via, hop)
		if proxy != nil {
			s.proxy = proxy
		}
		if err != nil {
			var ce *ConnectError
			if errors.As(err, &ce) {
				ce.Hop = fmt.Sprintf("%s (hop %d of %d)", hop.label(), i+1, len(cfg.Jump))
			}
			return fail(err)
		}
		s.hops = append(s.hops, c)
		via = c
	}
	c, proxy, err := dialOne(ctx, via, cfg)
	if proxy != nil {
		s.proxy = proxy
	}
	if err != nil {
		var ce *ConnectError
		var oce *ssh.OpenChannelError
		if len(cfg.Jump) > 0 && errors.As(err, &ce) && errors.As(err, &oce) && oce.Reason == ssh.Prohibited {
			// The last hop would not forward to us: its fault, not ours.
			last := cfg.Jump[len(cfg.Jump)-1]
			ce.Hop = fmt.Sprintf("%s (hop %d of %d, refuses to forward: AllowTcpForwarding?)", last.label(), len(cfg.Jump), len(cfg.Jump))
		}
		return fail(err)
	}
	s.signals = relaysSignals(string(c.ServerVersion()))
	s.client = &goph.Client{Client: c, Config: &goph.Config{
		User: cfg.User, Addr: cfg.Address, Port: uint(cfg.port()), Timeout: cfg.ConnectTimeout,
	}}

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := c.Wait()
		if err == nil {
			err = errors.New("server closed the connection")
		}
		select {
		case <-s.closed:
		default:
			if s.proxy != nil {
				// A proxy command that died says why on its stderr.
				err = fmt.Errorf("%w; %s", err, s.proxy.failure(time.Second))
			}
		}
		s.markDead(err)
	}()
	if ka := cfg.KeepAlive; ka >= 0 {
		if ka == 0 {
			ka = DefaultKeepAlive
		}
		n := cfg.KeepAliveCountMax
		if n <= 0 {
			n = DefaultKeepAliveCountMax
		}
		s.wg.Add(1)
		go s.keepAlive(ka, n)
	}
	return s, nil
}

func (s *SSH) markDead(err error) {
	s.deadOnce.Do(func() {
		s.deadErr = err
		close(s.dead)
	})
}

// keepAlive probes the server so that a link that died silently (no RST:
// a rebooted host, a dropped VPN) is noticed and in-flight commands fail
// with ErrConnectionLost instead of waiting for their own timeout.
func (s *SSH) keepAlive(interval time.Duration, countMax int) {
	defer s.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-s.dead:
			return
		case <-tick.C:
		}
		reply := make(chan error, 1)
		go func() {
			// Ends when the reply comes or the connection closes.
			_, _, err := s.client.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		wait := time.NewTimer(interval * time.Duration(countMax))
		select {
		case err := <-reply:
			wait.Stop()
			if err != nil {
				s.markDead(fmt.Errorf("keepalive: %w", err))
				return
			}
		case <-wait.C:
			s.markDead(fmt.Errorf("no answer to keepalive within %v", interval*time.Duration(countMax)))
			s.client.Client.Close()
			return
		case <-s.closed:
			wait.Stop()
			return
		}
	}
}

// lost wraps cause as ErrConnectionLost, using the connection's own death
// reason when known (it may arrive a moment after the session noticed).
func (s *SSH) lost(cause error) error {
	select {
	case <-s.dead:
		cause = s.deadErr
	case <-time.After(200 * time.Millisecond):
	}
	return fmt.Errorf("%w: ssh %s: %v", ErrConnectionLost, s.cfg.dest(), cause)
}

// sessionErr is ErrConnectionLost when the connection is gone, else a
// plain error (e.g. the server's MaxSessions refusing a channel).
func (s *SSH) sessionErr(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return s.lost(err)
	}
	select {
	case <-s.dead:
		return s.lost(err)
	default:
	}
	return fmt.Errorf("ssh %s: %s: %w", s.cfg.dest(), what, err)
}

// Describe implements Transport: "ssh koopark@127.0.0.1:2222 via bastion".
func (s *SSH) Describe() string { return DescribeSSH(s.cfg) }

// DescribeSSH describes cfg the way SSH.Describe does, without dialing.
func DescribeSSH(cfg SSHConfig) string {
	d := "ssh " + cfg.dest()
	if len(cfg.Jump) > 0 {
		var names []string
		for _, h := range cfg.Jump {
			names = append(names, h.label())
		}
		d += " via " + strings.Join(names, ", ")
	} else if proxyCommandSet(cfg.ProxyCommand) {
		d += " via ProxyCommand"
	}
	return d
}

// Close implements Transport: ends the SFTP client, the connection, the
// hops and the keepalive goroutine.
func (s *SSH) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		s.markDead(errors.New("transport closed"))
		s.sftpMu.Lock()
		if s.sftp != nil {
			s.sftp.Close()
		}
		s.sftpMu.Unlock()
		err = s.client.Close()
		for i := len(s.hops) - 1; i >= 0; i-- {
			s.hops[i].Close()
		}
		s.wg.Wait()
	})
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Run implements Transport. The timeout(1) wrapper (two more processes on
// the host per command) is kept where it is needed: for servers that do
// not relay signals, and for commands with their own timeout (a step
// timeout), whose remote process must end even if the link dies.
func (s *SSH) Run(ctx context.Context, cmd Command) (Result, error) {
	wrap := !s.signals || cmd.Timeout > 0
	return execute(ctx, cmd, runOptions{becomePassword: s.cfg.BecomePassword, remoteTimeout: wrap}, s.start)
}

// relaysSignals reports whether an SSH server banner is OpenSSH 7.9 or
// later, the first release that delivers "signal" channel requests.
func relaysSignals(banner string) bool {
	_, v, ok := strings.Cut(banner, "OpenSSH_")
	if !ok {
		return false
	}
	var major, minor int
	if n, _ := fmt.Sscanf(v, "%d.%d", &major, &minor); n < 2 {
		return false
	}
	return major > 7 || (major == 7 && minor >= 9)
}

func (s *SSH) start(line string, stdout, stderr io.Writer) (io.WriteCloser, process, error) {
	select {
	case <-s.dead:
		return nil, nil, s.lost(s.deadErr)
	default:
	}
	sess, err := s.client.NewSession()
	if err != nil {
		return nil, nil, s.sessionErr("open session", err)
	}
	sess.Stdout = stdout
	sess.Stderr = stderr
	// Always a pipe: with a nil Stdin x/crypto would send EOF at once,
	// which is what sends sacctmgr into its endless prompt loop.
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, nil, err
	}
	if err := sess.Start(line); err != nil {
		sess.Close()
		return nil, nil, s.sessionErr("start command", err)
	}
	return stdin, &sshProc{s: s, sess: sess}, nil
}

type sshProc struct {
	s    *SSH
	sess *ssh.Session
	once sync.Once
}

func (p *sshProc) Wait() (int, error) {
	err := p.sess.Wait()
	p.sess.Close()
	if err == nil {
		return 0, nil
	}
	var exitErr *ssh.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitStatus(), nil
	}
	// No exit status: the channel or the connection went away first.
	return -1, p.s.lost(err)
}

// Stop sends TERM (not KILL: under sudo only TERM is relayed to the root
// command) and closes the session. Servers that ignore signal requests
// are covered by the timeout(1) wrapper around every remote line.
func (p *sshProc) Stop() {
	p.once.Do(func() {
		_ = p.sess.Signal(ssh.SIGTERM)
		p.sess.Close()
	})
}
