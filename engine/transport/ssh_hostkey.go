package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
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
	unknown, key, err := h.lookup(hostname, remote, key)
	if !unknown || h.policy != HostKeyAcceptNew {
		return err
	}
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	// Look again under the lock: another connection may have added it.
	if unknown, _, err := h.lookup(hostname, remote, key); !unknown {
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
	db    *knownhosts.HostKeyDB
}

// load parses the files that exist. Missing files are normal (a fresh
// account has no known_hosts); nil means none.
func (h *hostKeyChecker) load() (*knownhosts.HostKeyDB, error) {
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
		return p.db, nil
	}
	// skeema's HostKeyDB over x/crypto's parser: it knows which lines are
	// @cert-authority (for the algorithms to ask for) and lets a wildcard
	// pattern match any port, as OpenSSH does.
	db, err := knownhosts.NewDB(existing...)
	if err != nil {
		return nil, err
	}
	if parsedKnownHosts.m == nil {
		parsedKnownHosts.m = map[string]parsedKH{}
	}
	parsedKnownHosts.m[key] = parsedKH{stamp: stamp.String(), db: db}
	return db, nil
}

// lookup checks key against the files. unknown reports a host with no key
// on record (err then says so); otherwise err is nil for a known key, or
// says which file:line holds the other key. record is the key accept-new
// should write: the plain key of a certificate no known CA signed.
func (h *hostKeyChecker) lookup(hostname string, remote net.Addr, key ssh.PublicKey) (unknown bool, record ssh.PublicKey, err error) {
	unknown, record, err = h.lookupAt(hostname, remote, key)
	if !unknown {
		return unknown, record, err
	}
	// OpenSSH, for a host new on a non-standard port, is content with
	// the key recorded for the bare host name ("checking without port
	// identifier"); any other answer there leaves the host unknown.
	if host, port, splitErr := net.SplitHostPort(hostname); splitErr == nil && port != "22" {
		if u, _, e := h.lookupAt(net.JoinHostPort(host, "22"), remote, key); !u && e == nil {
			return false, record, nil
		}
	}
	return unknown, record, err
}

func (h *hostKeyChecker) lookupAt(hostname string, remote net.Addr, key ssh.PublicKey) (unknown bool, record ssh.PublicKey, err error) {
	db, err := h.load()
	if err != nil {
		return false, key, fmt.Errorf("reading known_hosts: %w", err)
	}
	host := knownhosts.Normalize(hostname)
	if cert, ok := key.(*ssh.Certificate); ok {
		return h.lookupCert(db, hostname, remote, cert)
	}
	if db == nil {
		return true, key, unknownKeyError(host, key, h.files, "")
	}
	unknown, err = h.judge(db, hostname, host, key, db.HostKeyCallback()(hostname, remote, key))
	return unknown, key, err
}

// lookupCert checks a host certificate: signed by a CA on record for the
// host, it is accepted; otherwise, as OpenSSH does ("No matching CA found.
// Retry with plain key"), its plain key is checked like any host key,
// unless the certificate or its CA is @revoked.
func (h *hostKeyChecker) lookupCert(db *knownhosts.HostKeyDB, hostname string, remote net.Addr, cert *ssh.Certificate) (bool, ssh.PublicKey, error) {
	host := knownhosts.Normalize(hostname)
	if db == nil {
		return true, cert.Key, unknownKeyError(host, cert.Key, h.files, "")
	}
	cb := db.HostKeyCallback()
	certErr := cb(hostname, remote, cert)
	if certErr == nil {
		return false, cert, nil
	}
	// The revoked set is checked before any host matching, so asking
	// about the CA key alone tells whether the CA is revoked.
	var revoked *xknownhosts.RevokedError
	if errors.As(cb(hostname, remote, cert.SignatureKey), &revoked) {
		return false, cert, &kindMsgError{ErrHostKeyChanged, fmt.Sprintf(
			"host key for %s is a certificate signed by %s, which is marked @revoked at %s:%d",
			host, fingerprint(cert.SignatureKey), revoked.Revoked.Filename, revoked.Revoked.Line)}
	}
	unknown, err := h.judge(db, hostname, host, cert.Key, cb(hostname, remote, cert.Key))
	if unknown {
		err = unknownKeyError(host, cert.Key, h.files, fmt.Sprintf("its certificate was not accepted: %v", certErr))
	}
	return unknown, cert.Key, err
}

// judge turns the callback's answer for a plain key into our errors.
func (h *hostKeyChecker) judge(db *knownhosts.HostKeyDB, hostname, host string, key ssh.PublicKey, err error) (unknown bool, _ error) {
	var keyErr *xknownhosts.KeyError
	var revoked *xknownhosts.RevokedError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &revoked):
		return false, &kindMsgError{ErrHostKeyChanged, fmt.Sprintf(
			"host key for %s (%s) is marked @revoked at %s:%d", host, fingerprint(key), revoked.Revoked.Filename, revoked.Revoked.Line)}
	case errors.As(err, &keyErr):
		// x/crypto counts @cert-authority lines as keys of the host; for
		// OpenSSH a CA vouches only for certificates, so a plain key of a
		// host known only by its CA is unknown, not changed.
		var held []string
		for _, w := range keyErr.Want {
			if isCAKey(db, hostname, w.Key) {
				continue
			}
			held = append(held, fmt.Sprintf("%s:%d holds %s", w.Filename, w.Line, fingerprint(w.Key)))
		}
		if len(held) == 0 {
			return true, unknownKeyError(host, key, h.files, "")
		}
		return false, &kindMsgError{ErrHostKeyChanged, fmt.Sprintf(
			"host key for %s has CHANGED: the host offered %s, but %s; someone may be intercepting the connection (man-in-the-middle), or the host was reinstalled",
			host, fingerprint(key), strings.Join(held, ", "))}
	}
	return false, err
}

func isCAKey(db *knownhosts.HostKeyDB, hostname string, k ssh.PublicKey) bool {
	for _, known := range db.HostKeys(hostname) {
		if known.Cert && bytes.Equal(known.Marshal(), k.Marshal()) {
			return true
		}
	}
	return false
}

func unknownKeyError(host string, key ssh.PublicKey, files []string, extra string) error {
	where := "no known_hosts file"
	if len(files) > 0 {
		where = "not in " + strings.Join(files, ", ")
	}
	if extra != "" {
		where += "; " + extra
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

// algorithms returns the host key algorithms matching the keys known for
// addr (certificate algorithms for @cert-authority lines), so a host with
// an RSA key on record is asked for RSA rather than offering its ED25519
// key first and tripping a false "key changed" (Go's knownhosts, unlike
// OpenSSH, does not negotiate by the recorded types).
func (h *hostKeyChecker) algorithms(addr string) []string {
	if h.policy == HostKeyInsecure {
		return nil
	}
	db, err := h.load()
	if err != nil || db == nil {
		return openSSHHostKeyOrder
	}
	algos := db.HostKeyAlgorithms(addr)
	if len(algos) == 0 {
		// Nothing on record: ask in OpenSSH's order, so accept-new
		// records the key OpenSSH would (ED25519 before RSA; x/crypto's
		// own default puts RSA first).
		return openSSHHostKeyOrder
	}
	plain := false
	for _, k := range db.HostKeys(addr) {
		plain = plain || !k.Cert
	}
	if !plain {
		// Known only through a CA: a host without a certificate must
		// still be able to show its plain key (OpenSSH then reports it
		// unknown, or records it under accept-new).
		for _, a := range openSSHHostKeyOrder {
			if !slices.Contains(algos, a) && !strings.Contains(a, "-cert-") {
				algos = append(algos, a)
			}
		}
	}
	return algos
}

func fingerprint(key ssh.PublicKey) string {
	return keyTypeLabel(key.Type()) + " " + ssh.FingerprintSHA256(key)
}
