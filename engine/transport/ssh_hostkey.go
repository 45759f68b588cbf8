package transport

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyPolicy says what to do with a host key that is not in known_hosts.
// A key that differs from the recorded one is refused under every policy
// except Insecure.
type HostKeyPolicy int

const (
	// HostKeyStrict accepts only keys already in known_hosts (the default,
	// like OpenSSH's StrictHostKeyChecking=yes with BatchMode).
	HostKeyStrict HostKeyPolicy = iota
	// HostKeyAcceptNew records the key of a host never seen before in the
	// first known_hosts file (--accept-new-host-keys), like OpenSSH's
	// accept-new.
	HostKeyAcceptNew
	// HostKeyInsecure accepts any key, changed ones included. Only for an
	// explicit --insecure-ignore-host-keys: it disables MITM protection.
	HostKeyInsecure
)

func (p HostKeyPolicy) String() string {
	switch p {
	case HostKeyStrict:
		return "strict"
	case HostKeyAcceptNew:
		return "accept-new"
	case HostKeyInsecure:
		return "insecure"
	}
	return fmt.Sprintf("HostKeyPolicy(%d)", int(p))
}

// knownHostsMu serialises appends to known_hosts: with forks, many hosts
// may be accepted at the same moment into the same file.
var knownHostsMu sync.Mutex

// hostKeyChecker verifies one host's key against known_hosts files.
type hostKeyChecker struct {
	files  []string
	policy HostKeyPolicy
	logf   func(format string, args ...any)

	mu  sync.Mutex
	err error
}

// kindMsgError carries a full message and a sentinel to match.
type kindMsgError struct {
	kind error
	msg  string
}

func (e *kindMsgError) Error() string { return e.msg }
func (e *kindMsgError) Unwrap() error { return e.kind }

// refusal is the last error our callback returned: x/crypto wraps it in
// a handshake error, and we want to report it as is.
func (h *hostKeyChecker) refusal() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// callback is the ssh.HostKeyCallback for this host.
func (h *hostKeyChecker) callback() ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := h.check(hostname, remote, key)
		h.mu.Lock()
		h.err = err
		h.mu.Unlock()
		return err
	}
}

func (h *hostKeyChecker) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	if h.policy == HostKeyInsecure {
		if h.logf != nil {
			h.logf("WARNING: not checking the host key of %s (%s): --insecure-ignore-host-keys", knownhosts.Normalize(hostname), fingerprint(key))
		}
		return nil
	}
	unknown, err := h.lookup(hostname, remote, key)
	if !unknown || h.policy != HostKeyAcceptNew {
		return err
	}
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	// Look again under the lock: another connection may have added it.
	if unknown, err := h.lookup(hostname, remote, key); !unknown {
		return err
	}
	host := knownhosts.Normalize(hostname)
	if len(h.files) == 0 {
		return &kindMsgError{ErrHostKeyUnknown, fmt.Sprintf("host key for %s is unknown (%s) and there is no known_hosts file to record it in", host, fingerprint(key))}
	}
	file := h.files[0]
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("recording host key: %w", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("recording host key: %w", err)
	}
	_, werr := f.WriteString(knownhosts.Line([]string{host}, key) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("recording host key in %s: %w", file, werr)
	}
	if h.logf != nil {
		h.logf("added host key for %s (%s) to %s", host, fingerprint(key), file)
	}
	return nil
}

// parsedKnownHosts shares parsed known_hosts files between connections.
// Without it every dial parses every file twice (algorithms and check):
// with one fleet-wide file of N lines and N hosts dialled at once, that is
// N² parsed lines held at the same moment (11.5 MB at 200 hosts). An entry
// is reused while the files' sizes and mtimes are unchanged, so keys that
// accept-new appends are seen by the next lookup.
var parsedKnownHosts struct {
	sync.Mutex
	m map[string]parsedKH // files joined by NUL → parse
}

type parsedKH struct {
	stamp string // size and mtime of every file
	cb    ssh.HostKeyCallback
}

// load builds a knownhosts callback from the files that exist. Missing
// files are normal (a fresh account has no known_hosts); nil means none.
func (h *hostKeyChecker) load() (ssh.HostKeyCallback, error) {
	var existing []string
	var stamp strings.Builder
	for _, f := range h.files {
		if st, err := os.Stat(f); err == nil {
			existing = append(existing, f)
			fmt.Fprintf(&stamp, "%d:%d;", st.Size(), st.ModTime().UnixNano())
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if len(existing) == 0 {
		return nil, nil
	}
	key := strings.Join(existing, "\x00")
	parsedKnownHosts.Lock()
	defer parsedKnownHosts.Unlock()
	if p, ok := parsedKnownHosts.m[key]; ok && p.stamp == stamp.String() {
		return p.cb, nil
	}
	cb, err := knownhosts.New(existing...)
	if err != nil {
		return nil, err
	}
	if parsedKnownHosts.m == nil {
		parsedKnownHosts.m = map[string]parsedKH{}
	}
	parsedKnownHosts.m[key] = parsedKH{stamp: stamp.String(), cb: cb}
	return cb, nil
}

// lookup checks key against the files. unknown reports a host with no key
// on record (err then says so); otherwise err is nil for a known key, or
// says which file:line holds the other key.
func (h *hostKeyChecker) lookup(hostname string, remote net.Addr, key ssh.PublicKey) (unknown bool, err error) {
	cb, err := h.load()
	if err != nil {
		return false, fmt.Errorf("reading known_hosts: %w", err)
	}
	host := knownhosts.Normalize(hostname)
	if cb == nil {
		return true, unknownKeyError(host, key, h.files)
	}
	err = cb(hostname, remote, key)
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
		return true, unknownKeyError(host, key, h.files)
	case errors.As(err, &keyErr):
		var held []string
		for _, w := range keyErr.Want {
			held = append(held, fmt.Sprintf("%s:%d holds %s", w.Filename, w.Line, fingerprint(w.Key)))
		}
		return false, &kindMsgError{ErrHostKeyChanged, fmt.Sprintf(
			"host key for %s has CHANGED: the host offered %s, but %s; someone may be intercepting the connection (man-in-the-middle), or the host was reinstalled",
			host, fingerprint(key), strings.Join(held, ", "))}
	case errors.As(err, &revoked):
		return false, &kindMsgError{ErrHostKeyChanged, fmt.Sprintf(
			"host key for %s (%s) is marked @revoked at %s:%d", host, fingerprint(key), revoked.Revoked.Filename, revoked.Revoked.Line)}
	}
	return false, err
}

func unknownKeyError(host string, key ssh.PublicKey, files []string) error {
	where := "no known_hosts file"
	if len(files) > 0 {
		where = "not in " + strings.Join(files, ", ")
	}
	return &kindMsgError{ErrHostKeyUnknown, fmt.Sprintf(
		"host key for %s is unknown (%s; %s); add it to known_hosts or use --accept-new-host-keys", host, fingerprint(key), where)}
}

// openSSHHostKeyOrder is OpenSSH 9's default HostKeyAlgorithms order
// (certificates first, so @cert-authority entries keep working).
var openSSHHostKeyOrder = []string{
	ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
	ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
	ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

// probeKey is a key no host has: checking it against known_hosts makes
// knownhosts list the keys it does have for an address. Any 32 bytes are
// an ed25519 public key to ssh.NewPublicKey; generating a real one cost a
// measurable part of a short run's CPU.
var probeKey = sync.OnceValue(func() ssh.PublicKey {
	k, err := ssh.NewPublicKey(ed25519.PublicKey([]byte("runbook known_hosts probe key 32")))
	if err != nil {
		return nil
	}
	return k
})

// algorithms returns the host key algorithms matching the keys known for
// addr, so a host with an RSA key on record is asked for RSA rather than
// offering its ED25519 key first and tripping a false "key changed" (Go's
// knownhosts, unlike OpenSSH, does not negotiate by the recorded types).
func (h *hostKeyChecker) algorithms(addr string) []string {
	if h.policy == HostKeyInsecure || probeKey() == nil {
		return nil
	}
	cb, err := h.load()
	if err != nil {
		return nil
	}
	fake := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
	var keyErr *knownhosts.KeyError
	if cb == nil || !errors.As(cb(addr, fake, probeKey()), &keyErr) || len(keyErr.Want) == 0 {
		// Nothing on record: ask in OpenSSH's order, so accept-new
		// records the key OpenSSH would (ED25519 before RSA; x/crypto's
		// own default puts RSA first).
		return openSSHHostKeyOrder
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a ...string) {
		for _, x := range a {
			if !seen[x] {
				seen[x] = true
				algos = append(algos, x)
			}
		}
	}
	for _, w := range keyErr.Want {
		switch t := w.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

func fingerprint(key ssh.PublicKey) string {
	return keyTypeLabel(key.Type()) + " " + ssh.FingerprintSHA256(key)
}
