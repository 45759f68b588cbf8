package inventory

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// ConnectOptions carries the CLI's connection flags.
type ConnectOptions struct {
	// AcceptNewHostKeys records unknown host keys (--accept-new-host-keys).
	AcceptNewHostKeys bool
	// InsecureIgnoreHostKeys skips host key checks entirely
	// (--insecure-ignore-host-keys). Wins over AcceptNewHostKeys.
	InsecureIgnoreHostKeys bool
	// ConnectTimeout and KeepAlive: zero means the transport's defaults.
	ConnectTimeout time.Duration
	KeepAlive      time.Duration
	// NoAgent stops offering ssh-agent keys even when SSH_AUTH_SOCK is set.
	NoAgent bool
	// PassphraseFunc asks for a key passphrase when passphrase_env is not
	// set (e.g. transport.TerminalPassphrase()); nil skips encrypted keys.
	PassphraseFunc func(keyFile string) ([]byte, error)
	// LookupEnv reads the *_env variables; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Logf receives notices (host key recorded...); may be nil.
	Logf func(format string, args ...any)
	// Inventory is the Options the inventory was loaded with (its
	// ssh_config, home and user); the zero value is the CLI's. Connect
	// resolves each host's ssh_config settings the inventory does not
	// carry (ProxyCommand, IdentitiesOnly, OpenSSH's key order, tokens
	// with the final user and port) under them.
	Inventory Options
	// HideEnv names environment variables that hold secrets of the run
	// (sensitive RUNBOOK_VAR_ values, other hosts' *_env secrets): a local
	// host's commands do not inherit them. Connect adds the host's own
	// *_env names.
	HideEnv []string
}

func (o ConnectOptions) env(name string) (string, bool) {
	if o.LookupEnv != nil {
		return o.LookupEnv(name)
	}
	return os.LookupEnv(name)
}

// secret reads the variable named by an inventory *_env attribute. A
// named variable that is unset or empty is an error: the inventory says a
// secret is needed, and failing now beats a sudo prompt timing out later.
func (o ConnectOptions) secret(h *Host, attr, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	v, ok := o.env(name)
	if !ok || v == "" {
		return "", fmt.Errorf("host %q: %s names the environment variable %s, which is not set", h.Name, attr, name)
	}
	return v, nil
}

// Secrets returns the secret values this host uses (become password,
// login password, key passphrase), for the report redactor. Unset
// variables are skipped.
func (h *Host) Secrets(opts ConnectOptions) []string {
	var out []string
	for _, name := range h.SecretEnvNames() {
		if v, ok := opts.env(name); ok && v != "" {
			out = append(out, v)
		}
	}
	return out
}

// SecretEnvNames returns the environment variables this host's *_env
// attributes name, its jump hosts' too.
func (h *Host) SecretEnvNames() []string {
	var out []string
	for _, x := range append([]*Host{h}, h.Jump...) {
		for _, name := range []string{x.BecomePasswordEnv, x.PasswordEnv, x.PassphraseEnv} {
			if name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

// SSHConfig builds the transport configuration for h (which must not be
// Local), reading the secrets its *_env attributes name.
func (h *Host) SSHConfig(opts ConnectOptions) (transport.SSHConfig, error) {
	cfg, err := h.sshConfig(opts)
	if err != nil {
		return cfg, err
	}
	if cfg.BecomePassword, err = opts.secret(h, "become_password_env", h.BecomePasswordEnv); err != nil {
		return cfg, err
	}
	res := h.ResolveSSH(opts.Inventory)
	applyResolved(&cfg, res)
	logResolverNotices(opts, res)
	for i, j := range h.Jump {
		hop, err := j.sshConfig(opts)
		if err != nil {
			return cfg, fmt.Errorf("jump host %q: %w", j.Name, err)
		}
		if i < len(res.Jump) {
			applyResolved(&hop, res.Jump[i])
		}
		cfg.Jump = append(cfg.Jump, hop)
	}
	return cfg, nil
}

// logResolverNotices says, for a host being connected, where ssh -G
// failed or runbook's own reading of ssh_config disagrees with it (the
// lines runbook does not honour were warnings when the inventory was
// loaded).
func logResolverNotices(opts ConnectOptions, res *HostSSH) {
	if opts.Logf == nil || res == nil {
		return
	}
	for _, s := range append([]*HostSSH{res}, res.Jump...) {
		for _, w := range s.Warnings {
			if strings.Contains(w, "ssh -G") {
				opts.Logf("%s: %s", s.Name, w)
			}
		}
	}
}

// applyResolved takes what ssh_config resolution adds to the host's
// own settings: the key files and known_hosts files as OpenSSH would
// use them, IdentitiesOnly and ProxyCommand.
func applyResolved(cfg *transport.SSHConfig, res *HostSSH) {
	if res == nil || res.Local {
		return
	}
	// Where ssh_config decides them, as ssh -G decides: with the
	// inventory's user, a Match user block may name another HostName.
	cfg.Address, cfg.User, cfg.Port = res.Address, res.User, res.Port
	cfg.IdentityFiles = res.IdentityFiles
	cfg.KnownHostsFiles = res.KnownHostsFiles
	cfg.IdentitiesOnly = res.IdentitiesOnly
	cfg.ProxyCommand = res.ProxyCommand
	cfg.HostKeyAlias = res.HostKeyAlias
}

func (h *Host) sshConfig(opts ConnectOptions) (transport.SSHConfig, error) {
	policy := h.HostKeyPolicy
	if opts.AcceptNewHostKeys && policy < transport.HostKeyAcceptNew {
		policy = transport.HostKeyAcceptNew
	}
	if opts.InsecureIgnoreHostKeys {
		policy = transport.HostKeyInsecure
	}
	cfg := transport.SSHConfig{
		Name:            h.Name,
		Address:         h.Address,
		Port:            h.Port,
		User:            h.User,
		IdentityFiles:   h.IdentityFiles,
		KnownHostsFiles: h.KnownHosts,
		HostKeyPolicy:   policy,
		UseAgent:        !opts.NoAgent,
		PassphraseFunc:  opts.PassphraseFunc,
		ConnectTimeout:  opts.ConnectTimeout,
		KeepAlive:       opts.KeepAlive,
		Logf:            opts.Logf,
	}
	var err error
	if cfg.Password, err = opts.secret(h, "password_env", h.PasswordEnv); err != nil {
		return cfg, err
	}
	if cfg.Passphrase, err = opts.secret(h, "passphrase_env", h.PassphraseEnv); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Connect returns the transport for h: Local for a local host, else one
// SSH connection (through its jump hosts) for the whole run. The caller
// closes it. SSH errors are *transport.ConnectError; see transport.Hint.
func Connect(ctx context.Context, h *Host, opts ConnectOptions) (transport.Transport, error) {
	if h.Local {
		pw, err := opts.secret(h, "become_password_env", h.BecomePasswordEnv)
		if err != nil {
			return nil, err
		}
		hide := append(slices.Clone(opts.HideEnv), h.SecretEnvNames()...)
		return transport.NewLocal(transport.LocalConfig{BecomePassword: pw, HideEnv: hide}), nil
	}
	cfg, err := h.SSHConfig(opts)
	if err != nil {
		return nil, err
	}
	c, err := transport.Dial(ctx, cfg)
	if err != nil {
		// Not `return transport.Dial(...)`: a nil *SSH in a non-nil
		// interface would look like a live transport.
		return nil, err
	}
	return c, nil
}
