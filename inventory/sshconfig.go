package inventory

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// sshConfig resolves hosts with OpenSSH's semantics: with `ssh -G` where
// an ssh client is installed, else with goResolver. nil means no
// ssh_config at all (SSHConfigPath "none").
type sshConfig struct {
	opts Options
	// path is the config given as -F; "" means ssh's own defaults
	// (~/.ssh/config, then /etc/ssh/ssh_config).
	path   string
	sshBin string // "" uses the Go resolver
	goRes  *goResolver

	mu    sync.Mutex
	cache map[string]*SSHResolution
}

// SSHResolution is how ssh_config and OpenSSH's defaults resolve one
// host (or jump hop): what `ssh` would connect to, and where each
// setting came from ("inventory", "ssh_config FILE:LINE", "ssh -G" or
// "default").
type SSHResolution struct {
	// Alias is the name given to ssh (the inventory's address, else its
	// name).
	Alias          string   `json:"alias"`
	Address        string   `json:"address"`
	User           string   `json:"user"`
	Port           int      `json:"port"`
	IdentityFiles  []string `json:"identity_files"`
	IdentitiesOnly bool     `json:"identities_only"`
	// ProxyCommand is expanded (%h, %p, %r, %n, %k) and run with sh -c.
	ProxyCommand string `json:"proxy_command,omitempty"`
	// ProxyJump lists the hops as ssh_config names them, first hop first.
	ProxyJump             []string `json:"proxy_jump,omitempty"`
	KnownHostsFiles       []string `json:"known_hosts_files"`
	GlobalKnownHostsFiles []string `json:"global_known_hosts_files"`
	// HostKeyAlias is the name the host key is known under (lower case,
	// as ssh uses it).
	HostKeyAlias string `json:"host_key_alias,omitempty"`
	// StrictHostKeyChecking is ssh's value: yes, no, ask or accept-new.
	StrictHostKeyChecking string `json:"strict_host_key_checking"`
	// Resolver is "ssh -G" or "go" (no ssh client on this machine).
	Resolver string            `json:"resolver"`
	Sources  map[string]string `json:"sources"`
	Warnings []string          `json:"warnings,omitempty"`
}

// sshSettings is what ssh_config says about one host for the inventory
// builder; zero fields are unset there (the inventory or the builder's
// defaults decide).
type sshSettings struct {
	hostName       string
	port           int
	user           string
	identityFiles  []string
	knownHosts     []string
	proxyJump      []string
	proxyCommand   string
	identitiesOnly bool
	policy         transport.HostKeyPolicy
	res            *SSHResolution
}

// loadSSHConfig prepares the resolver and reads the whole config once
// for the lines runbook cannot honour (each a warning naming its file
// and line) and the lines ssh itself would refuse.
func loadSSHConfig(opts Options) (*sshConfig, hcl.Diagnostics) {
	p := opts.SSHConfigPath
	if p == "none" {
		return nil, nil
	}
	if p != "" {
		if _, err := os.Stat(p); err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Cannot read ssh config", Detail: fmt.Sprintf("%s: %v; ignoring it.", p, err)}}
		}
	}
	c := &sshConfig{opts: opts, path: p, cache: map[string]*SSHResolution{}}
	c.goRes = &goResolver{config: p, local: localSide(opts)}
	c.sshBin = sshBinary(opts)
	var diags hcl.Diagnostics
	scan := &goResolver{config: p, local: c.goRes.local, scanAll: true}
	if _, _, warns, err := scan.resolve(sshQuery{Host: "runbook-ssh-config-scan"}); err != nil {
		diags = append(diags, sshDiag("Cannot resolve with ssh config", err.Error()))
	} else {
		for _, w := range warns {
			d := sshDiag("ssh_config setting not honoured", w.String())
			d.Subject = scan.lineRange(w.File, w.Line)
			diags = append(diags, d)
		}
	}
	if c.sshBin != "" {
		// ssh itself stops at a line it refuses: say so once, with its
		// own words (they name the file and line).
		if _, err := (sshGResolver{bin: c.sshBin, config: p}).resolve(sshQuery{Host: "runbook-ssh-config-scan"}); err != nil {
			diags = append(diags, sshDiag("ssh refuses the ssh config", err.Error()+"\nrunbook resolves hosts with its own reading of the file instead (the lines above are skipped)."))
		}
	}
	return c, diags
}

func sshDiag(summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail}
}

// sshBinary is the ssh client to ask, or "" for the Go resolver: none
// is installed, RUNBOOK_SSH_RESOLVER=go asks for it, or the home
// directory or user is not the one ssh would use (the options fake them
// for tests, or $HOME is not the passwd entry's home, which is where ssh
// reads ~/.ssh/config): ssh -G would answer for another configuration.
func sshBinary(opts Options) string {
	if opts.Home != "" || opts.User != "" || os.Getenv("RUNBOOK_SSH_RESOLVER") == "go" {
		return ""
	}
	if u, err := user.Current(); err != nil || u.HomeDir != opts.home() {
		return ""
	}
	bin, err := exec.LookPath("ssh")
	if err != nil {
		return ""
	}
	return bin
}

// resolve answers q, with `ssh -G` when there is an ssh client, and
// always with the Go resolver too: its reading says which file and line
// each setting came from, and which lines runbook does not honour.
func (c *sshConfig) resolve(q sshQuery) (*SSHResolution, error) {
	return c.resolveWith(q, c.sshBin)
}

// resolveGo answers q with the Go resolver only: it is quick (no
// process per host), so the inventory builder uses it for thousands of
// hosts; Connect and `runbook inventory` then ask ssh -G (resolve) and
// say where the two differ.
func (c *sshConfig) resolveGo(q sshQuery) (*SSHResolution, error) {
	return c.resolveWith(q, "")
}

func (c *sshConfig) resolveWith(q sshQuery, sshBin string) (*SSHResolution, error) {
	key := fmt.Sprintf("%q", []any{q.Host, q.User, q.Port, q.IdentityFiles, q.Jump, sshBin})
	c.mu.Lock()
	if r, ok := c.cache[key]; ok {
		c.mu.Unlock()
		return r, nil
	}
	c.mu.Unlock()
	gd, origin, warns, gerr := c.goRes.resolve(q)
	res := &SSHResolution{Alias: q.Host, Resolver: "go", Sources: map[string]string{}}
	d := gd
	if sshBin != "" {
		sd, err := (sshGResolver{bin: sshBin, config: c.path}).resolve(q)
		if err == nil {
			d = sd
			res.Resolver = "ssh -G"
		} else {
			res.Warnings = append(res.Warnings, err.Error()+"; resolved by runbook's own reading of the config instead")
		}
	}
	if d == nil {
		return nil, gerr
	}
	for _, w := range warns {
		res.Warnings = append(res.Warnings, w.String())
	}
	source := func(key, field string) {
		src := origin[key]
		if src == "" {
			src = "default"
		}
		if res.Resolver == "ssh -G" && (gd == nil || !sameValues(gd[key], d[key])) {
			src = "ssh -G"
		}
		res.Sources[field] = src
	}
	res.Address = d.get("hostname")
	source("hostname", "address")
	res.User = d.get("user")
	source("user", "user")
	res.Port, _ = strconv.Atoi(d.get("port"))
	if res.Port == 0 {
		res.Port = 22
	}
	source("port", "port")
	tok := sshTokens{local: c.goRes.local, hostArg: q.Host, host: res.Address, user: res.User, port: res.Port, hostKeyAlias: d.get("hostkeyalias")}
	var idSources []string
	for i, id := range d["identityfile"] {
		if strings.EqualFold(id, "none") {
			continue
		}
		p, err := tok.expand(tildeExpand(id, c.goRes.local.Home), true)
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("IdentityFile %v; skipped", err))
			continue
		}
		if !contains(res.IdentityFiles, p) {
			res.IdentityFiles = append(res.IdentityFiles, p)
			src := origin["identityfile#"+strconv.Itoa(i)]
			if gd == nil || i >= len(gd["identityfile"]) || gd["identityfile"][i] != id {
				src = "ssh -G"
			}
			idSources = append(idSources, firstNonEmpty(src, "default"))
		}
	}
	res.Sources["identity_files"] = strings.Join(uniqueStrings(idSources), ", ")
	res.IdentitiesOnly = d.get("identitiesonly") == "yes"
	source("identitiesonly", "identities_only")
	if pc := d.get("proxycommand"); pc != "" && !strings.EqualFold(pc, "none") {
		x, err := percentExpand(pc, false, func(ch byte) (string, bool) {
			switch ch {
			case 'h', 'k', 'n', 'p', 'r':
				return tok.value(ch)
			}
			return "", false
		})
		if err != nil {
			return nil, fmt.Errorf("host %s: ProxyCommand %v", q.Host, err)
		}
		res.ProxyCommand = x
		source("proxycommand", "proxy_command")
	}
	if pj := d.get("proxyjump"); pj != "" && !strings.EqualFold(pj, "none") {
		for _, hop := range strings.Split(pj, ",") {
			res.ProxyJump = append(res.ProxyJump, strings.TrimSpace(hop))
		}
		source("proxyjump", "proxy_jump")
	}
	if ukh := d.get("userknownhostsfile"); ukh != "none" {
		if gd != nil && gd.get("userknownhostsfile") == ukh {
			res.KnownHostsFiles = gd[userKnownHostsList]
		} else {
			res.KnownHostsFiles = strings.Fields(ukh)
		}
	}
	source("userknownhostsfile", "known_hosts_files")
	if gkh := d.get("globalknownhostsfile"); gkh != "none" {
		res.GlobalKnownHostsFiles = strings.Fields(gkh)
	}
	source("globalknownhostsfile", "global_known_hosts_files")
	if res.HostKeyAlias = d.get("hostkeyalias"); res.HostKeyAlias != "" {
		source("hostkeyalias", "host_key_alias")
	}
	res.StrictHostKeyChecking = map[string]string{"true": "yes", "false": "no", "ask": "ask", "accept-new": "accept-new"}[d.get("stricthostkeychecking")]
	source("stricthostkeychecking", "strict_host_key_checking")
	c.mu.Lock()
	c.cache[key] = res
	c.mu.Unlock()
	return res, nil
}

func sameValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func uniqueStrings(s []string) []string {
	var out []string
	for _, x := range s {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// HostKeyPolicy is runbook's reading of StrictHostKeyChecking:
// accept-new, and also "no", record an unknown key; a changed key is
// always refused (only --insecure-ignore-host-keys skips the check).
func (r *SSHResolution) HostKeyPolicy() transport.HostKeyPolicy {
	switch r.StrictHostKeyChecking {
	case "accept-new", "no":
		return transport.HostKeyAcceptNew
	}
	return transport.HostKeyStrict
}

// lookup returns the settings for alias (the name ssh would be given),
// as the inventory builder reads them: OpenSSH's defaults are left unset
// so the builder's own apply.
func (c *sshConfig) lookup(alias string, opts Options) sshSettings {
	return c.lookupFor(alias, "", 0)
}

// lookupFor is lookup with the inventory's user and port given to ssh as
// -l and -p: %r and %p in IdentityFile and UserKnownHostsFile, and Match
// user blocks, then see the user and port the host is reached with.
func (c *sshConfig) lookupFor(alias, user string, port int) sshSettings {
	var s sshSettings
	if c == nil {
		return s
	}
	res, err := c.resolveGo(sshQuery{Host: alias, User: user, Port: port})
	if err != nil || res == nil {
		return s
	}
	s.res = res
	s.hostName = res.Address
	if src := res.Sources["port"]; src != "default" && src != "inventory" {
		s.port = res.Port
	}
	if src := res.Sources["user"]; src != "default" && src != "inventory" {
		s.user = res.User
	}
	if res.Sources["identity_files"] != "default" {
		s.identityFiles = res.IdentityFiles
	}
	if res.Sources["known_hosts_files"] != "default" {
		s.knownHosts = res.KnownHostsFiles
	}
	s.proxyJump = res.ProxyJump
	s.proxyCommand = res.ProxyCommand
	s.identitiesOnly = res.IdentitiesOnly
	s.policy = res.HostKeyPolicy()
	return s
}
