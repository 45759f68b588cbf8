package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/melbahja/goph"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/term"
)

// authSetup is what we will offer the server, plus a description of it for
// the "authentication failed (tried: ...)" message.
type authSetup struct {
	methods []ssh.AuthMethod
	tried   []string
	notes   []string // keys we could not use, and why
	closers []io.Closer
}

func (a *authSetup) describe() string {
	s := "tried: " + strings.Join(a.tried, "; ")
	if len(a.tried) == 0 {
		s = "nothing to try"
	}
	if len(a.notes) > 0 {
		s += "; skipped: " + strings.Join(a.notes, "; ")
	}
	return s
}

func (a *authSetup) close() {
	for _, c := range a.closers {
		c.Close()
	}
}

// buildAuth collects the credentials for cfg. All public keys go into ONE
// publickey method: x/crypto tries each method name only once, so a second
// PublicKeys method would never be used.
//
// Keys are offered in OpenSSH's order: the listed identities the agent
// holds (in the agent's order, signed by the agent), then the agent's
// other keys unless IdentitiesOnly, then the other identity files in the
// order given. Each path is read once and each key offered once: a server
// with a low MaxAuthTries must not be worn down by duplicates. As in
// OpenSSH, the agent signs for a listed identity even with IdentitiesOnly:
// a key file that is missing or encrypted but whose public key (the
// file's own, or FILE.pub) is in the agent needs no passphrase.
func buildAuth(cfg SSHConfig) (*authSetup, error) {
	a := &authSetup{}
	var agentSigners []ssh.Signer
	if cfg.UseAgent {
		if sock := os.Getenv("SSH_AUTH_SOCK"); sock == "" {
			a.notes = append(a.notes, "ssh-agent (SSH_AUTH_SOCK not set)")
		} else if conn, err := net.Dial("unix", sock); err != nil {
			a.notes = append(a.notes, fmt.Sprintf("ssh-agent (%v)", err))
		} else {
			a.closers = append(a.closers, conn)
			as, err := agent.NewClient(conn).Signers()
			if err != nil {
				a.notes = append(a.notes, fmt.Sprintf("ssh-agent (%v)", err))
			}
			agentSigners = as
		}
	}
	type identity struct {
		name   string
		signer ssh.Signer
		used   bool
	}
	var files []*identity
	var fileSigners []ssh.Signer
	seenPath := map[string]bool{}
	for _, path := range cfg.IdentityFiles {
		if seenPath[filepath.Clean(path)] {
			continue
		}
		seenPath[filepath.Clean(path)] = true
		s, note, err := loadIdentity(path, cfg, agentSigners)
		if err != nil {
			return nil, err
		}
		if s == nil {
			a.notes = append(a.notes, note)
			continue
		}
		if hasKey(fileSigners, s.PublicKey()) {
			continue // the same key under another name
		}
		fileSigners = append(fileSigners, s)
		files = append(files, &identity{name: path, signer: s})
		// OpenSSH offers FILE-cert(.pub) right after FILE's plain key.
		if cs := certificateFor(path, s); cs != nil && !hasKey(fileSigners, cs.PublicKey()) {
			fileSigners = append(fileSigners, cs)
			files = append(files, &identity{name: path + "-cert", signer: cs})
		}
	}

	var signers, agentOthers []ssh.Signer
	var what []string
	withheld := 0
	for _, as := range agentSigners {
		listed := false
		for _, id := range files {
			if !id.used && bytes.Equal(id.signer.PublicKey().Marshal(), as.PublicKey().Marshal()) {
				id.used, listed = true, true
				signers = append(signers, as)
				what = append(what, id.name+" via ssh-agent")
				break
			}
		}
		switch {
		case listed, hasKey(agentOthers, as.PublicKey()):
		case cfg.IdentitiesOnly:
			withheld++
		default:
			agentOthers = append(agentOthers, as)
		}
	}
	if len(agentOthers) > 0 {
		signers = append(signers, agentOthers...)
		what = append(what, fmt.Sprintf("ssh-agent: %d key(s)", len(agentOthers)))
	}
	for _, id := range files {
		if !id.used {
			signers = append(signers, id.signer)
			what = append(what, id.name)
		}
	}
	if withheld > 0 {
		a.notes = append(a.notes, fmt.Sprintf("ssh-agent: %d other key(s) (IdentitiesOnly)", withheld))
	}
	if len(signers) > 0 {
		a.methods = append(a.methods, ssh.PublicKeys(signers...))
		a.tried = append(a.tried, "publickey ("+strings.Join(what, ", ")+")")
	}
	if cfg.Password != "" {
		// goph pairs password with keyboard-interactive, which is how PAM
		// based sshd setups usually ask for it.
		a.methods = append(a.methods, goph.KeyboardInteractive(cfg.Password)...)
		a.tried = append(a.tried, "password", "keyboard-interactive")
	}
	return a, nil
}

func hasKey(signers []ssh.Signer, k ssh.PublicKey) bool {
	return agentSigner(signers, k) != nil
}

// agentSigner is the signer among signers for public key k, or nil.
func agentSigner(signers []ssh.Signer, k ssh.PublicKey) ssh.Signer {
	if k == nil {
		return nil
	}
	for _, s := range signers {
		if bytes.Equal(s.PublicKey().Marshal(), k.Marshal()) {
			return s
		}
	}
	return nil
}

// certificateFor is the signer for the certificate OpenSSH loads with an
// IdentityFile (FILE-cert, else FILE-cert.pub) when it certifies s's key;
// nil when there is none.
func certificateFor(path string, s ssh.Signer) ssh.Signer {
	for _, name := range []string{path + "-cert", path + "-cert.pub"} {
		cert, ok := publicKeyFile(name).(*ssh.Certificate)
		if !ok || cert.CertType != ssh.UserCert || !bytes.Equal(cert.Key.Marshal(), s.PublicKey().Marshal()) {
			continue
		}
		if cs, err := ssh.NewCertSigner(cert, s); err == nil {
			return cs
		}
	}
	return nil
}

// publicKeyFile reads path as a public key (an IdentityFile may name the
// .pub file when the private key lives only in an agent), or nil.
func publicKeyFile(path string) ssh.PublicKey {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil
	}
	return k
}

// loadIdentity returns the signer for one IdentityFile: the parsed private
// key, or the agent's when the file cannot sign (missing private key,
// public key only, encrypted) and the agent holds that key.
// A missing or unusable key is a note (OpenSSH also just skips it); a
// wrong passphrase is an error, since the user asked for that key
// explicitly.
func loadIdentity(path string, cfg SSHConfig, agentSigners []ssh.Signer) (_ ssh.Signer, note string, _ error) {
	pem, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if s := agentSigner(agentSigners, publicKeyFile(path+".pub")); s != nil {
			return s, "", nil
		}
		return nil, path + " (missing)", nil
	}
	if err != nil {
		return nil, fmt.Sprintf("%s (%v)", path, err), nil
	}
	s, err := ssh.ParsePrivateKey(pem)
	if err == nil {
		return s, "", nil
	}
	if pub := publicKeyFile(path); pub != nil {
		if s := agentSigner(agentSigners, pub); s != nil {
			return s, "", nil
		}
		return nil, path + " (a public key, not in ssh-agent)", nil
	}
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		return nil, fmt.Sprintf("%s (%v)", path, err), nil
	}
	pub := missing.PublicKey
	if pub == nil {
		pub = publicKeyFile(path + ".pub")
	}
	if s := agentSigner(agentSigners, pub); s != nil {
		return s, "", nil
	}
	pass := []byte(cfg.Passphrase)
	if len(pass) == 0 && cfg.PassphraseFunc != nil {
		if pass, err = cfg.PassphraseFunc(path); err != nil {
			return nil, "", fmt.Errorf("passphrase for %s: %w", path, err)
		}
	}
	if len(pass) == 0 {
		return nil, path + " (encrypted, no passphrase given)", nil
	}
	s, err = ssh.ParsePrivateKeyWithPassphrase(pem, pass)
	if err != nil {
		return nil, "", &kindMsgError{ErrAuth, fmt.Sprintf("identity file %s: %v", path, err)}
	}
	return s, "", nil
}

// TerminalPassphrase returns a PassphraseFunc that asks on the terminal
// (/dev/tty, so it works with stdin redirected), one prompt at a time
// even when hosts connect in parallel, and asks once per key file.
func TerminalPassphrase() func(keyFile string) ([]byte, error) {
	var mu sync.Mutex
	cache := map[string][]byte{}
	return func(keyFile string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if p, ok := cache[keyFile]; ok {
			return p, nil
		}
		tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("no terminal to ask for the passphrase: %w", err)
		}
		defer tty.Close()
		fmt.Fprintf(tty, "Enter passphrase for key '%s': ", keyFile)
		p, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		if err != nil {
			return nil, err
		}
		cache[keyFile] = p
		return p, nil
	}
}
