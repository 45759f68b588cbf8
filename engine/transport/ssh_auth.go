package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
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

// buildAuth collects the credentials for cfg. All public keys (identity
// files first, then the agent's) go into ONE publickey method: x/crypto
// tries each method name only once, so a second PublicKeys method would
// never be used.
func buildAuth(cfg SSHConfig) (*authSetup, error) {
	a := &authSetup{}
	var signers []ssh.Signer
	var fileNames []string
	for _, path := range cfg.IdentityFiles {
		s, note, err := loadIdentity(path, cfg)
		if err != nil {
			return nil, err
		}
		if s == nil {
			a.notes = append(a.notes, note)
			continue
		}
		signers = append(signers, s)
		fileNames = append(fileNames, path)
	}
	agentKeys := 0
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
			for _, s := range as {
				if !hasKey(signers, s.PublicKey()) {
					signers = append(signers, s)
					agentKeys++
				}
			}
		}
	}
	if len(signers) > 0 {
		a.methods = append(a.methods, ssh.PublicKeys(signers...))
		what := fileNames
		if agentKeys > 0 {
			what = append(what, fmt.Sprintf("ssh-agent: %d key(s)", agentKeys))
		}
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
	for _, s := range signers {
		if bytes.Equal(s.PublicKey().Marshal(), k.Marshal()) {
			return true
		}
	}
	return false
}

// loadIdentity parses one private key. A missing or unusable key is a note
// (OpenSSH also just skips it); a wrong passphrase is an error, since the
// user asked for that key explicitly.
func loadIdentity(path string, cfg SSHConfig) (ssh.Signer, string, error) {
	pem, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path + " (missing)", nil
	}
	if err != nil {
		return nil, fmt.Sprintf("%s (%v)", path, err), nil
	}
	s, err := ssh.ParsePrivateKey(pem)
	if err == nil {
		return s, "", nil
	}
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		return nil, fmt.Sprintf("%s (%v)", path, err), nil
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
