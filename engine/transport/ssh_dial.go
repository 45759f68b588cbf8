package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// netDialer is replaced in tests (e.g. with a resolver that always fails).
var netDialer = &net.Dialer{}

// dialOne opens one SSH connection to c, directly or through via. The
// whole of TCP connect + handshake + auth runs under ConnectTimeout: the
// deadline closes the connection, which is the only way to interrupt a
// handshake with a server that accepted the TCP connection and went
// silent (and works on forwarded channels, which have no SetDeadline).
//
// proxy is the ProxyCommand carrying the connection, if any (it ends with
// the client).
func dialOne(ctx context.Context, via *ssh.Client, c SSHConfig) (_ *ssh.Client, proxy *proxyConn, _ error) {
	timeout := c.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	fail := func(kind, err error) error {
		return &ConnectError{Dest: c.dest(), Kind: kind, Err: err}
	}
	if c.Address == "" {
		return nil, nil, fail(ErrConnect, errors.New("no address"))
	}
	auth, err := buildAuth(c)
	if err != nil {
		return nil, nil, fail(ErrAuth, err)
	}
	// The agent is only needed to sign during the handshake.
	defer auth.close()
	if len(auth.methods) == 0 {
		return nil, nil, fail(ErrAuth, &kindMsgError{ErrAuth, "no credentials to offer (" + auth.describe() + ")"})
	}
	hk := &hostKeyChecker{files: c.KnownHostsFiles, policy: c.HostKeyPolicy, logf: c.Logf}
	addr := c.addr()
	// The name known_hosts is searched (and written) under: "[host]:port",
	// or the HostKeyAlias verbatim, as OpenSSH does (also the name a host
	// certificate must list). Lower case, as ssh lowercases both: Go's
	// known_hosts matching is case-sensitive, and a hashed entry is the
	// hash of the lower-case name.
	hostKeyName := strings.ToLower(addr)
	if c.HostKeyAlias != "" {
		hostKeyName = hostKeyAliasAddr(strings.ToLower(c.HostKeyAlias))
	}
	config := &ssh.ClientConfig{
		User:              c.User,
		Auth:              auth.methods,
		HostKeyCallback:   hk.callback(),
		HostKeyAlgorithms: hk.algorithms(hostKeyName),
		Timeout:           timeout,
	}

	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var conn net.Conn
	// Only the first hop (or a host without Jump) uses its ProxyCommand;
	// later hops are reached through the previous hop, as with OpenSSH's -J.
	switch {
	case via == nil && proxyCommandSet(c.ProxyCommand):
		proxy, err = startProxyCommand(c.ProxyCommand, c.Address, c.port())
		if err != nil {
			return nil, nil, fail(ErrConnect, err)
		}
		conn = proxy
	case via == nil:
		conn, err = netDialer.DialContext(dctx, "tcp", addr)
	default:
		conn, err = via.DialContext(dctx, "tcp", addr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fail(ErrConnect, fmt.Errorf("connect canceled: %w", ctx.Err()))
		}
		if dctx.Err() != nil {
			return nil, nil, fail(ErrConnectTimeout, fmt.Errorf("connect timed out after %v (TCP connect)", timeout))
		}
		kind, msg := classifyDialError(err)
		return nil, nil, fail(kind, fmt.Errorf("%s: %w", msg, err))
	}

	stop := context.AfterFunc(dctx, func() { conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, hostKeyName, config)
	if fired := !stop(); fired {
		// The deadline (or ctx) closed the connection mid-handshake.
		if err == nil {
			sc.Close()
		}
		conn.Close()
		why := ""
		if proxy != nil {
			why = proxy.stderrNote()
		}
		if ctx.Err() != nil {
			return nil, nil, fail(ErrConnect, fmt.Errorf("connect canceled: %w%s", ctx.Err(), why))
		}
		if proxy != nil {
			return nil, nil, fail(ErrConnectTimeout, fmt.Errorf("connect timed out after %v: the SSH handshake through the ProxyCommand did not finish%s", timeout, why))
		}
		return nil, nil, fail(ErrConnectTimeout, fmt.Errorf("connect timed out after %v: TCP connected but the SSH handshake did not finish", timeout))
	}
	if err != nil {
		// A proxy command that failed usually exits at once and says why
		// on stderr: wait a moment for both before closing it.
		proxyWhy := ""
		if proxy != nil && hk.refusal() == nil && !isAuthFailure(err) {
			proxyWhy = proxy.failure(time.Second)
		}
		conn.Close()
		if r := hk.refusal(); r != nil {
			var km *kindMsgError
			kind := ErrConnect
			if errors.As(r, &km) {
				kind = km.kind
			}
			return nil, nil, fail(kind, r)
		}
		if isAuthFailure(err) {
			return nil, nil, fail(ErrAuth, &kindMsgError{ErrAuth, fmt.Sprintf(
				"authentication failed for user %q (%s): %v", c.User, auth.describe(), err)})
		}
		if proxyWhy != "" {
			return nil, nil, fail(classifyProxyFailure(proxyWhy), fmt.Errorf("SSH handshake failed: %w; %s", err, proxyWhy))
		}
		return nil, nil, fail(ErrConnect, fmt.Errorf("SSH handshake failed: %w", err))
	}
	return ssh.NewClient(sc, chans, reqs), proxy, nil
}

func isAuthFailure(err error) bool {
	// Lower case: OpenSSH's sshd disconnects with "Too many
	// authentication failures" when MaxAuthTries is reached.
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "unable to authenticate") ||
		strings.Contains(s, "no supported methods remain") ||
		strings.Contains(s, "too many authentication")
}

// classifyDialError sorts a TCP dial error, direct or forwarded by a jump
// host (where the hop's sshd only gives us its message text).
func classifyDialError(err error) (error, string) {
	var dnsErr *net.DNSError
	var oce *ssh.OpenChannelError
	switch {
	case errors.As(err, &dnsErr):
		return ErrDNS, "cannot resolve host name"
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrConnectionRefused, "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ErrConnect, "no route to host"
	case errors.As(err, &oce):
		msg := strings.ToLower(oce.Message)
		switch {
		case oce.Reason == ssh.Prohibited:
			return ErrConnect, "the jump host refused to forward the connection"
		case strings.Contains(msg, "refused"):
			return ErrConnectionRefused, "connection refused (seen from the jump host)"
		case strings.Contains(msg, "name or service not known"), strings.Contains(msg, "not known"),
			strings.Contains(msg, "name resolution"), strings.Contains(msg, "no address"):
			return ErrDNS, "cannot resolve host name (on the jump host)"
		case strings.Contains(msg, "timed out"):
			return ErrConnectTimeout, "connect timed out (from the jump host)"
		}
		return ErrConnect, "the jump host could not connect"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrConnectTimeout, "connect timed out"
	}
	return ErrConnect, "cannot connect"
}

// hostKeyAliasAddr is the host:port the known_hosts callback is given for
// a HostKeyAlias, so that the name it looks up is the alias verbatim: an
// alias written as known_hosts writes a port, "[host]:2222", becomes
// host:2222 (looked up as "[host]:2222" again); any other alias is taken
// with port 22 (looked up as the bare alias).
func hostKeyAliasAddr(alias string) string {
	if strings.HasPrefix(alias, "[") {
		if h, p, err := net.SplitHostPort(alias); err == nil && p != "" {
			return net.JoinHostPort(h, p)
		}
	}
	return net.JoinHostPort(alias, "22")
}
