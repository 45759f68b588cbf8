package transport

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// authProbe is an SSH server that only authenticates. keys lists each
// distinct public key offered, in order (x/crypto's server asks its
// callback once per key and connection); requests counts every publickey
// request, duplicates included.
type authProbe struct {
	ln      net.Listener
	hostKey ssh.Signer
	allow   func(ssh.PublicKey) bool

	mu       sync.Mutex
	keys     []string // fingerprints
	requests int
	conns    []net.Conn
	wg       sync.WaitGroup
}

func startAuthProbe(t *testing.T, allowed ssh.PublicKey) *authProbe {
	t.Helper()
	return startAuthProbeFunc(t, func(k ssh.PublicKey) bool {
		return allowed != nil && string(k.Marshal()) == string(allowed.Marshal())
	})
}

// startAuthProbeFunc accepts the keys allow says yes to.
func startAuthProbeFunc(t *testing.T, allow func(ssh.PublicKey) bool) *authProbe {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &authProbe{ln: ln, hostKey: newSigner(t), allow: allow}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer c.Close()
				cfg := &ssh.ServerConfig{
					PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
						p.mu.Lock()
						p.keys = append(p.keys, ssh.FingerprintSHA256(k))
						p.mu.Unlock()
						if p.allow(k) {
							return nil, nil
						}
						return nil, errors.New("not authorized")
					},
					// Called for every request but an accepted query.
					AuthLogCallback: func(_ ssh.ConnMetadata, method string, err error) {
						if method == "publickey" {
							p.mu.Lock()
							p.requests++
							p.mu.Unlock()
						}
					},
				}
				cfg.AddHostKey(p.hostKey)
				sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
				if err != nil {
					return
				}
				go ssh.DiscardRequests(reqs)
				go func() {
					for nc := range chans {
						nc.Reject(ssh.Prohibited, "auth probe only")
					}
				}()
				sc.Wait()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *authProbe) offers() (keys []string, requests int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.keys...), p.requests
}

func (p *authProbe) reset() {
	p.mu.Lock()
	p.keys, p.requests = nil, 0
	p.mu.Unlock()
}

func (p *authProbe) config(t *testing.T, files ...string) SSHConfig {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	writeKnownHosts(t, kh, fmt.Sprintf("[127.0.0.1]:%d %s", p.ln.Addr().(*net.TCPAddr).Port, authorizedLine(p.hostKey.PublicKey())))
	return SSHConfig{
		Address: "127.0.0.1", Port: p.ln.Addr().(*net.TCPAddr).Port, User: "tester",
		IdentityFiles: files, KnownHostsFiles: []string{kh}, ConnectTimeout: 2 * time.Second,
	}
}

// startAgent serves an in-memory ssh-agent holding keys at a fresh
// SSH_AUTH_SOCK.
func startAgent(t *testing.T, keys ...ed25519.PrivateKey) {
	t.Helper()
	kr := agent.NewKeyring()
	for _, k := range keys {
		if err := kr.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				agent.ServeAgent(kr, c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	t.Setenv("SSH_AUTH_SOCK", sock)
}

type testKey struct {
	path string
	priv ed25519.PrivateKey
	fp   string
	pub  ssh.PublicKey
}

// newTestKey writes an OpenSSH key pair (FILE and FILE.pub).
func newTestKey(t *testing.T, dir, name, passphrase string) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, name)
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, name, []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	return testKey{path: path, priv: priv, fp: ssh.FingerprintSHA256(pub), pub: pub}
}

func TestSSHIdentityFilesOfferedOnceInOrder(t *testing.T) {
	dir := t.TempDir()
	a := newTestKey(t, dir, "id_a", "")
	b := newTestKey(t, dir, "id_b", "")
	good := newTestKey(t, dir, "id_good", "")
	copyOfA := filepath.Join(dir, "copy_of_a")
	if data, err := os.ReadFile(a.path); err != nil || os.WriteFile(copyOfA, data, 0o600) != nil {
		t.Fatal("copy key")
	}
	p := startAuthProbe(t, good.pub)
	// As ssh_config produces it: the same IdentityFile from two Host
	// blocks, a spelling of the same path, the same key under another name.
	cfg := p.config(t, a.path, b.path, a.path, filepath.Join(dir, ".", "id_a"), copyOfA, b.path, good.path)
	c, err := Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c.Close()
	keys, requests := p.offers()
	if want := []string{a.fp, b.fp, good.fp}; strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("offered %v, want file order %v", keys, want)
	}
	// a and b refused, good signed (x/crypto does not log an accepted
	// query); every duplicate would be one more.
	if requests != 3 {
		t.Fatalf("%d publickey requests, want 3: duplicates were offered", requests)
	}
}

func TestSSHIdentitiesOnly(t *testing.T) {
	dir := t.TempDir()
	listed := newTestKey(t, dir, "id_listed", "")
	agentOnly := newTestKey(t, dir, "id_agent_only", "")
	os.Remove(agentOnly.path)
	os.Remove(agentOnly.path + ".pub")
	startAgent(t, agentOnly.priv)
	p := startAuthProbe(t, agentOnly.pub)

	cfg := p.config(t, listed.path)
	cfg.UseAgent = true
	c, err := Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("without IdentitiesOnly the agent's key is offered: %v", err)
	}
	c.Close()
	// OpenSSH's order: the agent's keys before files it does not hold
	// (the agent's key is accepted, so the file is never needed).
	if got, _ := p.offers(); len(got) != 1 || got[0] != agentOnly.fp {
		t.Fatalf("offered %v, want [%s]", got, agentOnly.fp)
	}

	p.reset()
	cfg.IdentitiesOnly = true
	c, err = Dial(t.Context(), cfg)
	if !errors.Is(err, ErrAuth) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("IdentitiesOnly: want ErrAuth, got %v", err)
	}
	if got, _ := p.offers(); len(got) != 1 || got[0] != listed.fp {
		t.Fatalf("IdentitiesOnly offered %v, want only %s", got, listed.fp)
	}
	if !strings.Contains(err.Error(), "1 other key(s) (IdentitiesOnly)") {
		t.Fatalf("message should say why the agent's key was not offered: %v", err)
	}
}

// With IdentitiesOnly the agent still signs for an IdentityFile whose
// private key it holds (OpenSSH: a listed key is matched by its public
// key), and an encrypted key the agent holds needs no passphrase.
func TestSSHAgentSignsForListedIdentity(t *testing.T) {
	dir := t.TempDir()
	inAgent := newTestKey(t, dir, "id_in_agent", "")
	os.Remove(inAgent.path) // only id_in_agent.pub remains on disk
	encrypted := newTestKey(t, dir, "id_encrypted", "s3cret")
	other := newTestKey(t, dir, "id_other", "")
	startAgent(t, inAgent.priv, encrypted.priv, other.priv)

	for _, tc := range []struct {
		name string
		file string
		key  testKey
	}{
		{"private key missing, FILE.pub present", inAgent.path, inAgent},
		{"IdentityFile names the .pub", inAgent.path + ".pub", inAgent},
		{"encrypted key held by the agent", encrypted.path, encrypted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startAuthProbe(t, tc.key.pub)
			cfg := p.config(t, tc.file)
			cfg.UseAgent = true
			cfg.IdentitiesOnly = true
			cfg.PassphraseFunc = func(string) ([]byte, error) {
				t.Errorf("asked for a passphrase the agent made unnecessary")
				return nil, errors.New("no")
			}
			c, err := Dial(t.Context(), cfg)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			c.Close()
			keys, _ := p.offers()
			for _, fp := range keys {
				if fp == other.fp {
					t.Fatalf("IdentitiesOnly offered the agent's unlisted key: %v", keys)
				}
			}
		})
	}
	t.Run("no agent: the .pub alone is not a credential", func(t *testing.T) {
		p := startAuthProbe(t, inAgent.pub)
		cfg := p.config(t, inAgent.path)
		cfg.IdentitiesOnly = true
		_, err := Dial(t.Context(), cfg)
		if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), inAgent.path+" (missing)") {
			t.Fatalf("want ErrAuth naming the missing key, got %v", err)
		}
	})
}

// The order OpenSSH 9 offers (ssh -v "Will attempt key"): listed keys the
// agent holds, in the agent's order; the agent's other keys; the other
// files in the order given. ssh_auth_e2e_test.go checks this against the
// real ssh and ssh-agent.
func TestSSHKeyOrderFollowsOpenSSH(t *testing.T) {
	dir := t.TempDir()
	a := newTestKey(t, dir, "id_a", "")
	b := newTestKey(t, dir, "id_b", "")
	c := newTestKey(t, dir, "id_c", "")
	e := newTestKey(t, dir, "id_e", "")
	os.Remove(e.path)
	startAgent(t, c.priv, e.priv, b.priv)
	for _, tc := range []struct {
		identitiesOnly bool
		want           []string
	}{
		{false, []string{e.fp, b.fp, c.fp, a.fp}},
		{true, []string{e.fp, b.fp, a.fp}},
	} {
		p := startAuthProbe(t, nil)
		cfg := p.config(t, a.path, b.path, e.path)
		cfg.UseAgent = true
		cfg.IdentitiesOnly = tc.identitiesOnly
		_, err := Dial(t.Context(), cfg)
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("want ErrAuth, got %v", err)
		}
		if got, _ := p.offers(); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("IdentitiesOnly=%v: offered %v, want %v", tc.identitiesOnly, got, tc.want)
		}
	}
}

// userCert writes FILE-cert.pub for k, signed by ca, as ssh-keygen -s does.
func userCert(t *testing.T, ca ssh.Signer, k testKey) *ssh.Certificate {
	t.Helper()
	cert := &ssh.Certificate{Key: k.pub, CertType: ssh.UserCert, KeyId: "test user",
		ValidPrincipals: []string{"tester"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.path+"-cert.pub", ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return cert
}

// A certificate next to an identity file (FILE-cert.pub) is offered right
// after the plain key, as OpenSSH does, also with IdentitiesOnly and when
// the agent signs for the key.
func TestSSHUserCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := newSigner(t)
	k := newTestKey(t, dir, "id_cert", "")
	cert := userCert(t, ca, k)
	onlyCerts := func(pk ssh.PublicKey) bool {
		c, ok := pk.(*ssh.Certificate)
		return ok && string(c.SignatureKey.Marshal()) == string(ca.PublicKey().Marshal())
	}
	for _, viaAgent := range []bool{false, true} {
		t.Run(fmt.Sprintf("agent=%v", viaAgent), func(t *testing.T) {
			p := startAuthProbeFunc(t, onlyCerts)
			cfg := p.config(t, k.path)
			cfg.IdentitiesOnly = true
			if viaAgent {
				hidden := filepath.Join(t.TempDir(), "id_cert")
				if err := os.Rename(k.path, hidden); err != nil {
					t.Fatal(err)
				}
				defer os.Rename(hidden, k.path)
				startAgent(t, k.priv)
				cfg.UseAgent = true
			}
			c, err := Dial(t.Context(), cfg)
			if err != nil {
				t.Fatalf("Dial with a certificate: %v", err)
			}
			c.Close()
			keys, _ := p.offers()
			if want := []string{k.fp, ssh.FingerprintSHA256(cert)}; strings.Join(keys, " ") != strings.Join(want, " ") {
				t.Fatalf("offered %v, want the plain key then its certificate %v", keys, want)
			}
		})
	}
}
