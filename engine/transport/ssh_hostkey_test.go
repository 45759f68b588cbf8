package transport

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// authorizedLine is "TYPE BASE64" of k.
func authorizedLine(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// hostCert signs host's key as a host certificate for 127.0.0.1.
func hostCert(t *testing.T, ca, host ssh.Signer) ssh.Signer {
	t.Helper()
	cert := &ssh.Certificate{
		Key: host.PublicKey(), CertType: ssh.HostCert, KeyId: "test host",
		ValidPrincipals: []string{"127.0.0.1"}, ValidBefore: ssh.CertTimeInfinity,
	}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewCertSigner(cert, host)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeKnownHosts(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSSHHostKeyRevoked(t *testing.T) {
	f := newFixture(t, serverOpts{})
	// Revoked wins even over a plain line for the same key.
	writeKnownHosts(t, f.kh, "@revoked * "+authorizedLine(f.srv.hostKey.PublicKey()), f.srv.knownHostsLine())
	for _, policy := range []HostKeyPolicy{HostKeyStrict, HostKeyAcceptNew} {
		f.cfg.HostKeyPolicy = policy
		_, err := Dial(t.Context(), f.cfg)
		if !errors.Is(err, ErrHostKeyChanged) || !strings.Contains(err.Error(), "@revoked at "+f.kh+":1") {
			t.Fatalf("%v: want a @revoked refusal naming %s:1, got %v", policy, f.kh, err)
		}
	}
	if b, _ := os.ReadFile(f.kh); strings.Count(string(b), "\n") != 2 {
		t.Fatalf("known_hosts modified: %q", b)
	}
}

func TestSSHHostCertificate(t *testing.T) {
	ca := newSigner(t)
	hostKey := newSigner(t)
	dir := t.TempDir()
	keyPath, client := writeKey(t, dir, "id", "")
	certOnly := startServer(t, serverOpts{hostKey: hostCert(t, ca, hostKey), authorized: []ssh.PublicKey{client.PublicKey()}})
	f := &sshFixture{srv: certOnly, dir: dir, keyPath: keyPath, kh: filepath.Join(dir, "known_hosts"), cfg: SSHConfig{
		Address: "127.0.0.1", Port: certOnly.port(), User: "tester", IdentityFiles: []string{keyPath},
		KnownHostsFiles: []string{filepath.Join(dir, "known_hosts")}, ConnectTimeout: 2 * time.Second,
	}}
	hostPort := fmt.Sprintf("[127.0.0.1]:%d", certOnly.port())

	t.Run("CA for the host", func(t *testing.T) {
		writeKnownHosts(t, f.kh, "@cert-authority "+hostPort+" "+authorizedLine(ca.PublicKey()))
		f.dial(t).Close()
		hk := &hostKeyChecker{files: []string{f.kh}}
		if algos := hk.algorithms(fmt.Sprintf("127.0.0.1:%d", certOnly.port())); len(algos) == 0 || algos[0] != ssh.CertAlgoED25519v01 {
			t.Fatalf("algorithms = %v, want the certificate algorithm first", algos)
		}
	})
	t.Run("wildcard CA on a non-standard port", func(t *testing.T) {
		// OpenSSH matches "*" against "[127.0.0.1]:PORT"; x/crypto alone
		// would only apply an unbracketed pattern to port 22.
		writeKnownHosts(t, f.kh, "@cert-authority * "+authorizedLine(ca.PublicKey()))
		f.dial(t).Close()
	})
	t.Run("CA revoked", func(t *testing.T) {
		writeKnownHosts(t, f.kh, "@cert-authority * "+authorizedLine(ca.PublicKey()), "@revoked * "+authorizedLine(ca.PublicKey()))
		f.cfg.HostKeyPolicy = HostKeyAcceptNew
		defer func() { f.cfg.HostKeyPolicy = HostKeyStrict }()
		_, err := Dial(t.Context(), f.cfg)
		if !errors.Is(err, ErrHostKeyChanged) || !strings.Contains(err.Error(), "@revoked at "+f.kh+":2") {
			t.Fatalf("want refusal for a revoked CA, got %v", err)
		}
	})
	t.Run("other CA", func(t *testing.T) {
		writeKnownHosts(t, f.kh, "@cert-authority * "+authorizedLine(newSigner(t).PublicKey()))
		_, err := Dial(t.Context(), f.cfg)
		if !errors.Is(err, ErrHostKeyUnknown) || !strings.Contains(err.Error(), "certificate was not accepted") {
			t.Fatalf("want unknown with the certificate's reason, got %v", err)
		}
		if !strings.Contains(err.Error(), ssh.FingerprintSHA256(hostKey.PublicKey())) {
			t.Fatalf("the message must name the plain key's fingerprint: %v", err)
		}
	})
}

// A host that offers a certificate nobody vouches for: OpenSSH retries
// with the plain key, so accept-new records that and strict reports it
// unknown (not a certificate error that no flag can get past).
func TestSSHHostCertificateFallsBackToPlainKey(t *testing.T) {
	ca := newSigner(t)
	hostKey := newSigner(t)
	f := newFixture(t, serverOpts{hostKey: hostCert(t, ca, hostKey), extraHostKeys: []ssh.Signer{hostKey}})
	os.Remove(f.kh)
	_, err := Dial(t.Context(), f.cfg)
	if !errors.Is(err, ErrHostKeyUnknown) {
		t.Fatalf("strict: want ErrHostKeyUnknown, got %v", err)
	}
	f.cfg.HostKeyPolicy = HostKeyAcceptNew
	f.dial(t).Close()
	b, _ := os.ReadFile(f.kh)
	want := fmt.Sprintf("[127.0.0.1]:%d %s", f.srv.port(), authorizedLine(hostKey.PublicKey()))
	if strings.TrimSpace(string(b)) != want {
		t.Fatalf("recorded %q, want the plain key %q", b, want)
	}
	f.cfg.HostKeyPolicy = HostKeyStrict
	f.dial(t).Close()
}

// A host known only by its CA that shows a plain key is unknown, as for
// OpenSSH: a CA line is not the host's key, so this is no "CHANGED".
func TestSSHHostKnownOnlyByCAShowsPlainKey(t *testing.T) {
	ca := newSigner(t)
	f := newFixture(t, serverOpts{})
	writeKnownHosts(t, f.kh, fmt.Sprintf("@cert-authority [127.0.0.1]:%d %s", f.srv.port(), authorizedLine(ca.PublicKey())))
	_, err := Dial(t.Context(), f.cfg)
	if !errors.Is(err, ErrHostKeyUnknown) || errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("want ErrHostKeyUnknown, got %v", err)
	}
	f.cfg.HostKeyPolicy = HostKeyAcceptNew
	f.dial(t).Close()
	f.cfg.HostKeyPolicy = HostKeyStrict
	f.dial(t).Close()
}
