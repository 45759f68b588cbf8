package transport

import (
	"errors"
	"strings"
)

// Connection errors. Dial returns a *ConnectError whose chain holds one of
// these, so callers branch with errors.Is and never parse messages.
var (
	// ErrConnect: the host could not be reached on the network (refused,
	// DNS, timeout, no route). The host is down or the address is wrong;
	// the engine marks it unreachable and goes on with the other hosts,
	// and a retry later may succeed. The more specific network errors
	// below all match ErrConnect too.
	ErrConnect = errors.New("cannot connect")
	// ErrConnectionRefused: the address answered but nothing listens on
	// the port: sshd not running or wrong port. Retrying will not help.
	ErrConnectionRefused error = &kindError{msg: "connection refused", parent: ErrConnect}
	// ErrDNS: the host name does not resolve: a typo in the inventory or
	// ssh_config, not an outage.
	ErrDNS error = &kindError{msg: "host name does not resolve", parent: ErrConnect}
	// ErrConnectTimeout: no TCP connection or no finished SSH handshake
	// within ConnectTimeout: firewall, wrong address, or a wedged sshd.
	ErrConnectTimeout error = &kindError{msg: "connect timed out", parent: ErrConnect}
	// ErrAuth: the server refused every credential we offered. The user
	// must fix keys, agent or user name; retrying is pointless.
	ErrAuth = errors.New("authentication failed")
	// ErrHostKeyUnknown: the host is not in known_hosts. The user decides
	// (check the fingerprint, then --accept-new-host-keys); the engine
	// must never decide that on its own.
	ErrHostKeyUnknown = errors.New("host key unknown")
	// ErrHostKeyChanged: the host offered a key different from the one on
	// record: reinstalled host or a man in the middle. Always fatal for
	// that host, even with --accept-new-host-keys.
	ErrHostKeyChanged = errors.New("host key changed")
	// ErrJump: a jump host (ProxyJump hop) failed; the target itself was
	// never reached, so the fix is on the hop named in the error. The
	// chain also holds the hop's own cause (ErrAuth, ErrConnectTimeout...).
	ErrJump = errors.New("jump host failed")
)

// kindError is a sentinel that also matches a broader sentinel, so
// errors.Is(err, ErrConnect) holds for every network-level failure.
type kindError struct {
	msg    string
	parent error
}

func (k *kindError) Error() string        { return k.msg }
func (k *kindError) Is(target error) bool { return target == k.parent }

// ConnectError is what Dial returns when it could not set up the
// connection. Kind is one of the sentinels above.
type ConnectError struct {
	// Dest is "user@address:port" of the host that failed (a hop or the
	// target).
	Dest string
	// Hop names the jump host that failed ("bastion (hop 1 of 2)"); empty
	// when the target itself failed.
	Hop  string
	Kind error
	Err  error
}

func (e *ConnectError) Error() string {
	where := "ssh " + e.Dest
	if e.Hop != "" {
		where = "jump host " + e.Hop + ": ssh " + e.Dest
	}
	if e.Err == nil {
		return where + ": " + e.Kind.Error()
	}
	return where + ": " + e.Err.Error()
}

// Unwrap exposes the kind, ErrJump for a failed hop, and the cause.
func (e *ConnectError) Unwrap() []error {
	errs := []error{e.Kind}
	if e.Hop != "" {
		errs = append(errs, ErrJump)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Hint returns a one-line "what to do" for err, or "" when there is
// nothing better to say than the error itself.
func Hint(err error) string {
	if err == nil {
		return ""
	}
	var be *BecomeError
	if errors.As(err, &be) {
		switch be.Reason {
		case BecomePasswordRequired:
			return "set become_password_env for this host (and export that variable), or add a NOPASSWD sudoers rule for the command"
		case BecomeWrongPassword:
			return "the sudo password is wrong: check the variable named by become_password_env"
		case BecomeNotAllowed:
			return "sudoers on the host does not allow this: check `sudo -l` as that user; a rule naming one program (e.g. /usr/bin/sacctmgr) only matches Argv commands, not shell lines"
		case BecomeUnknownUser:
			return "the become user does not exist on the host"
		case BecomeNotInstalled:
			return "install sudo on the host or run this step without become"
		}
	}
	var ce *ConnectError
	prefix := ""
	if errors.As(err, &ce) && ce.Hop != "" {
		prefix = "on jump host " + ce.Hop + ": "
	}
	switch {
	case errors.Is(err, ErrHostKeyChanged):
		return prefix + "do NOT continue unless you know the host was reinstalled; then delete the old line named above (ssh-keygen -R) and connect again"
	case errors.Is(err, ErrHostKeyUnknown):
		return prefix + "check the fingerprint with the host's admin (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host), then add it (ssh-keyscan) or re-run with --accept-new-host-keys"
	case errors.Is(err, ErrAuth):
		return prefix + "check user, identity_file and ssh-agent, and that the public key is in ~/.ssh/authorized_keys on the host; `ssh -v` shows what the server accepts"
	case errors.Is(err, ErrConnectionRefused):
		return prefix + "nothing listens on that port: is sshd running, and is the port right?"
	case errors.Is(err, ErrDNS):
		return prefix + "the name does not resolve: check address in the inventory or HostName in ~/.ssh/config"
	case errors.Is(err, ErrConnectTimeout):
		return prefix + "no answer in time: host down, firewall, or wrong address (an sshd that accepts but never answers also ends here)"
	case errors.Is(err, ErrJump):
		return "fix the jump host first: try `ssh -J` with the same hop by hand"
	case errors.Is(err, ErrConnect):
		return prefix + "the host is not reachable: check the network and the address"
	case errors.Is(err, ErrConnectionLost):
		return "the connection dropped mid-command: whether the command finished on the host is unknown; check the host, then re-run (steps are meant to be idempotent)"
	case errors.Is(err, ErrTimeout):
		return "the command ran past its timeout and was ended: raise the step's timeout, or check whether it waits for input (a prompt)"
	case errors.Is(err, ErrOutputCap):
		return "the command printed more than the output cap and was ended: often a prompt loop (e.g. sacctmgr without -i); fix the command or raise the cap"
	case errors.Is(err, ErrNotExist):
		return "the file does not exist on the host"
	}
	return ""
}

// keyTypeLabel names a key type like OpenSSH does in messages ("ED25519").
func keyTypeLabel(keyType string) string {
	switch {
	case strings.Contains(keyType, "ed25519"):
		return "ED25519"
	case strings.Contains(keyType, "ecdsa"):
		return "ECDSA"
	case strings.Contains(keyType, "rsa"):
		return "RSA"
	case strings.Contains(keyType, "dss"):
		return "DSA"
	}
	return strings.ToUpper(keyType)
}
