package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/kevinburke/ssh_config"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// sshConfig is a parsed ~/.ssh/config; nil means none.
type sshConfig struct {
	cfg  *ssh_config.Config
	path string
}

// sshSettings is what ssh_config says about one host; zero fields unset.
type sshSettings struct {
	hostName      string
	port          int
	user          string
	identityFiles []string
	knownHosts    []string
	proxyJump     []string
	policy        transport.HostKeyPolicy
}

// loadSSHConfig reads the ssh_config. A file the parser cannot read (it
// rejects e.g. `Match exec`) is a warning, not an error: the inventory
// alone may well be enough.
func loadSSHConfig(opts Options) (*sshConfig, hcl.Diagnostics) {
	p := opts.SSHConfigPath
	if p == "none" {
		return nil, nil
	}
	if p == "" {
		p = filepath.Join(opts.home(), ".ssh", "config")
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) && opts.SSHConfigPath == "" {
		return nil, nil
	}
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Cannot read ssh config", Detail: fmt.Sprintf("%s: %v; ignoring it.", p, err)}}
	}
	defer f.Close()
	cfg, err := ssh_config.Decode(f)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Cannot parse ssh config", Detail: fmt.Sprintf(
			"%s: %v; ignoring the whole file, so no host takes any setting from it (User, HostName, Port, IdentityFile...). Set what the hosts need in the inventory.", p, err)}}
	}
	return &sshConfig{cfg: cfg, path: p}, nil
}

// lookup returns the settings for alias (the name ssh would be given).
func (c *sshConfig) lookup(alias string, opts Options) sshSettings {
	var s sshSettings
	if c == nil {
		return s
	}
	get := func(key string) string {
		v, _ := c.cfg.Get(alias, key)
		return strings.TrimSpace(v)
	}
	s.user = get("User")
	if p, err := strconv.Atoi(get("Port")); err == nil {
		s.port = p
	}
	tok := tokens{alias: alias, home: opts.home(), localUser: opts.currentUser(), user: s.user, port: s.port}
	if hn := get("HostName"); hn != "" {
		s.hostName = tok.expand(hn)
	}
	tok.host = firstNonEmpty(s.hostName, alias)
	ids, _ := c.cfg.GetAll(alias, "IdentityFile")
	for _, id := range ids {
		id = strings.Trim(strings.TrimSpace(id), `"`)
		if id == "" || strings.EqualFold(id, "none") {
			continue
		}
		s.identityFiles = append(s.identityFiles, expandTilde(tok.expand(id), opts.home()))
	}
	for _, kh := range strings.Fields(get("UserKnownHostsFile")) {
		s.knownHosts = append(s.knownHosts, expandTilde(tok.expand(kh), opts.home()))
	}
	if pj := get("ProxyJump"); pj != "" && !strings.EqualFold(pj, "none") {
		for _, hop := range strings.Split(pj, ",") {
			if hop = strings.TrimSpace(hop); hop != "" {
				hop = strings.TrimPrefix(hop, "ssh://")
				s.proxyJump = append(s.proxyJump, hop)
			}
		}
	}
	switch strings.ToLower(get("StrictHostKeyChecking")) {
	case "accept-new", "no", "off":
		// "no" is read as accept-new: a config file must not silently
		// disable the changed-key check; only the CLI flag does that.
		s.policy = transport.HostKeyAcceptNew
	}
	return s
}

// tokens expands the % tokens OpenSSH allows in HostName, IdentityFile
// and UserKnownHostsFile.
type tokens struct {
	alias, host, home, localUser, user string
	port                               int
}

func (t tokens) expand(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case 'h':
			b.WriteString(firstNonEmpty(t.host, t.alias))
		case 'n':
			b.WriteString(t.alias)
		case 'd':
			b.WriteString(t.home)
		case 'u':
			b.WriteString(t.localUser)
		case 'r':
			b.WriteString(firstNonEmpty(t.user, t.localUser))
		case 'p':
			b.WriteString(strconv.Itoa(firstNonZero(t.port, 22)))
		default:
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
