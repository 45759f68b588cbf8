package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// HostSSH is how one host (or jump hop) is reached, every setting final,
// with where each came from: "inventory", "ssh_config FILE:LINE",
// "ssh -G" (OpenSSH resolved it; no single line says so) or "default".
type HostSSH struct {
	Name    string `json:"name"`
	Local   bool   `json:"local,omitempty"`
	Alias   string `json:"ssh_alias,omitempty"`
	Address string `json:"address,omitempty"`
	User    string `json:"user,omitempty"`
	Port    int    `json:"port,omitempty"`
	// IdentityFiles in the order they are offered.
	IdentityFiles  []string `json:"identity_files"`
	IdentitiesOnly bool     `json:"identities_only"`
	ProxyCommand   string   `json:"proxy_command,omitempty"`
	// Jump is the chain of hops, first hop first.
	Jump []*HostSSH `json:"jump,omitempty"`
	// KnownHostsFiles are read in order; an unknown key is recorded in
	// the first.
	KnownHostsFiles []string `json:"known_hosts_files"`
	// HostKeyAlias is the name the host key is looked up and recorded
	// under (ssh_config's HostKeyAlias).
	HostKeyAlias string `json:"host_key_alias,omitempty"`
	// HostKeyPolicy is runbook's: strict, accept-new or insecure (the
	// command line's flags may loosen it further).
	HostKeyPolicy string `json:"host_key_policy"`
	// StrictHostKeyChecking is what ssh_config says (yes, no, ask,
	// accept-new); "no" is read as accept-new.
	StrictHostKeyChecking string            `json:"strict_host_key_checking,omitempty"`
	Resolver              string            `json:"resolver,omitempty"`
	Sources               map[string]string `json:"sources,omitempty"`
	Warnings              []string          `json:"warnings,omitempty"`
}

// sharedConfigs holds one resolver per way of loading an inventory, so
// Connect and `runbook inventory` ask ssh once per host and question.
var sharedConfigs sync.Map // sshOptionsKey -> *sshConfig

type sshOptionsKey struct{ path, home, user string }

func sharedSSHConfig(opts Options) *sshConfig {
	if opts.SSHConfigPath == "none" {
		return nil
	}
	key := sshOptionsKey{opts.SSHConfigPath, opts.home(), opts.currentUser()}
	if c, ok := sharedConfigs.Load(key); ok {
		return c.(*sshConfig)
	}
	if opts.SSHConfigPath != "" {
		if _, err := os.Stat(opts.SSHConfigPath); err != nil {
			return nil
		}
	}
	c := &sshConfig{opts: opts, path: opts.SSHConfigPath, cache: map[string]*SSHResolution{}, sshBin: sshBinary(opts)}
	c.goRes = &goResolver{config: opts.SSHConfigPath, local: localSide(opts)}
	actual, _ := sharedConfigs.LoadOrStore(key, c)
	return actual.(*sshConfig)
}

// ResolveSSH says how h is reached under opts (the Options the inventory
// was loaded with): the inventory's settings, completed by ssh_config as
// `ssh -l USER -p PORT ALIAS` would complete them (so %r and %p in
// IdentityFile are the inventory's user and port), then OpenSSH's
// defaults (its key order, known_hosts2, the global known_hosts files).
func (h *Host) ResolveSSH(opts Options) *HostSSH {
	if h.Local {
		return &HostSSH{Name: h.Name, Local: true, IdentityFiles: []string{}, KnownHostsFiles: []string{}, HostKeyPolicy: "none (local)"}
	}
	out := resolveOne(h, opts, true)
	for i, j := range h.Jump {
		// Only the first hop is reached on its own (and so through its
		// own ProxyCommand); later hops go through the one before.
		out.Jump = append(out.Jump, resolveOne(j, opts, i == 0))
	}
	return out
}

func resolveOne(h *Host, opts Options, firstLeg bool) *HostSSH {
	out := &HostSSH{
		Name: h.Name, Address: h.Address, User: h.User, Port: h.Port,
		IdentityFiles: append([]string{}, h.IdentityFiles...), KnownHostsFiles: append([]string{}, h.KnownHosts...),
		HostKeyPolicy: policyName(h.HostKeyPolicy), Sources: map[string]string{},
	}
	for _, f := range []string{"address", "user", "port", "identity_files", "known_hosts_files", "host_key_policy"} {
		out.Sources[f] = "inventory"
	}
	c := sharedSSHConfig(opts)
	if c == nil {
		out.Resolver = "none (no ssh_config)"
		return out
	}
	alias := sshAliasOf(c, h)
	out.Alias = alias
	// base is what the inventory builder read from ssh_config (the Go
	// resolver, no overrides): a value equal to it came from there.
	base, err := c.resolveGo(sshQuery{Host: alias})
	if err != nil {
		out.Warnings = append(out.Warnings, err.Error())
		return out
	}
	q := sshQuery{Host: alias}
	if h.User != base.User {
		q.User = h.User
	}
	if h.Port != base.Port {
		q.Port = h.Port
	}
	res, err := c.resolve(q)
	if err != nil {
		out.Warnings = append(out.Warnings, err.Error())
		return out
	}
	// goQ is the builder's reading with the inventory's user and port
	// (as lookupFor gives it): a value equal to base or goQ is ssh_config's.
	goQ, err := c.resolveGo(q)
	if err != nil {
		goQ = base
	}
	out.Resolver = res.Resolver
	out.Warnings = append(out.Warnings, res.Warnings...)
	if h.Address == base.Address || h.Address == goQ.Address {
		out.Address = res.Address
		out.Sources["address"] = res.Sources["address"]
	}
	if q.User == "" {
		out.User = res.User
		out.Sources["user"] = res.Sources["user"]
	}
	if q.Port == 0 {
		out.Port = res.Port
		out.Sources["port"] = res.Sources["port"]
	}
	if res.Resolver == "ssh -G" {
		out.Warnings = append(out.Warnings, differences(goQ, res)...)
	}
	home := c.goRes.local.Home
	switch {
	case len(h.IdentityFiles) > 0 && (slices.Equal(h.IdentityFiles, base.IdentityFiles) || slices.Equal(h.IdentityFiles, goQ.IdentityFiles)):
		// From ssh_config: expanded again with the final user and port.
		out.IdentityFiles = res.IdentityFiles
		out.Sources["identity_files"] = res.Sources["identity_files"]
	case base.Sources["identity_files"] == "default" && slices.Equal(h.IdentityFiles, defaultIdentities(home)):
		// OpenSSH's defaults in OpenSSH's order, those that exist.
		out.IdentityFiles = []string{}
		for _, f := range res.IdentityFiles {
			if _, err := os.Stat(f); err == nil {
				out.IdentityFiles = append(out.IdentityFiles, f)
			}
		}
		out.Sources["identity_files"] = "default"
	}
	switch {
	case len(h.KnownHosts) > 0 && (slices.Equal(h.KnownHosts, base.KnownHostsFiles) || slices.Equal(h.KnownHosts, goQ.KnownHostsFiles)):
		out.KnownHostsFiles = res.KnownHostsFiles
		out.Sources["known_hosts_files"] = res.Sources["known_hosts_files"]
	case base.Sources["known_hosts_files"] == "default" && slices.Equal(h.KnownHosts, []string{filepath.Join(home, ".ssh", "known_hosts")}):
		out.KnownHostsFiles = res.KnownHostsFiles
		out.Sources["known_hosts_files"] = "default"
	}
	// ssh reads the global files whatever the user files are.
	for _, f := range res.GlobalKnownHostsFiles {
		if !contains(out.KnownHostsFiles, f) {
			out.KnownHostsFiles = append(slices.Clone(out.KnownHostsFiles), f)
		}
	}
	if len(res.GlobalKnownHostsFiles) > 0 {
		out.Sources["known_hosts_files"] += " + global " + res.Sources["global_known_hosts_files"]
	}
	if out.IdentityFiles == nil {
		out.IdentityFiles = []string{}
	}
	if out.KnownHostsFiles == nil {
		out.KnownHostsFiles = []string{}
	}
	out.IdentitiesOnly = res.IdentitiesOnly
	out.Sources["identities_only"] = res.Sources["identities_only"]
	if firstLeg && len(h.Jump) == 0 && res.ProxyCommand != "" {
		out.ProxyCommand = res.ProxyCommand
		out.Sources["proxy_command"] = res.Sources["proxy_command"]
	}
	out.StrictHostKeyChecking = res.StrictHostKeyChecking
	if res.HostKeyAlias != "" {
		out.HostKeyAlias = res.HostKeyAlias
		out.Sources["host_key_alias"] = res.Sources["host_key_alias"]
	}
	if h.HostKeyPolicy == res.HostKeyPolicy() {
		out.Sources["host_key_policy"] = res.Sources["strict_host_key_checking"]
	}
	if len(h.Jump) > 0 {
		out.Sources["jump"] = "inventory"
		names := jumpNames(h.Jump)
		if n := len(res.ProxyJump); n > 0 && names[len(names)-1] == res.ProxyJump[n-1] {
			out.Sources["jump"] = res.Sources["proxy_jump"]
		}
	}
	return out
}

func jumpNames(hops []*Host) []string {
	var out []string
	for _, j := range hops {
		out = append(out, j.Name)
	}
	return out
}

// sshAliasOf is the name the inventory gave ssh for h: its name when
// ssh_config turns that name into h's address, else the address. (The
// builder looked the address up when the inventory set one.) A jump hop
// written user@host:port is looked up by its host.
func sshAliasOf(c *sshConfig, h *Host) string {
	name := h.Name
	if _, host, _, err := splitDest(name); err == nil && host != "" {
		name = host
	}
	if name == h.Address {
		return name
	}
	if r, err := c.resolveGo(sshQuery{Host: name}); err == nil && r.Address == h.Address {
		return name
	}
	return h.Address
}

func policyName(p transport.HostKeyPolicy) string {
	switch p {
	case transport.HostKeyAcceptNew:
		return "accept-new"
	case transport.HostKeyInsecure:
		return "insecure"
	}
	return "strict"
}

// Explain says in words how h is reached and why.
func (s *HostSSH) Explain() string {
	if s.Local {
		return fmt.Sprintf("%s runs here, on the local host, without SSH.\n", s.Name)
	}
	var b strings.Builder
	src := func(field string) string {
		if v := s.Sources[field]; v != "" {
			return " (" + v + ")"
		}
		return ""
	}
	from := func(field string) string {
		if v := s.Sources[field]; v != "" {
			return ", " + v
		}
		return ""
	}
	fmt.Fprintf(&b, "%s is reached over SSH", s.Name)
	if s.Alias != "" {
		fmt.Fprintf(&b, ", as `ssh %s` would reach it", s.Alias)
	}
	fmt.Fprintf(&b, ":\n")
	fmt.Fprintf(&b, "  address        %s%s\n", s.Address, src("address"))
	fmt.Fprintf(&b, "  user           %s%s\n", s.User, src("user"))
	fmt.Fprintf(&b, "  port           %d%s\n", s.Port, src("port"))
	if len(s.IdentityFiles) == 0 {
		fmt.Fprintf(&b, "  keys           none from files%s\n", src("identity_files"))
	} else {
		fmt.Fprintf(&b, "  keys, in order %s%s\n", strings.Join(s.IdentityFiles, ", "), src("identity_files"))
	}
	if s.IdentitiesOnly {
		fmt.Fprintf(&b, "  only these keys are offered, none other from the agent (IdentitiesOnly yes%s)\n", from("identities_only"))
	} else {
		fmt.Fprintf(&b, "  the ssh-agent's keys are offered too, when SSH_AUTH_SOCK is set\n")
	}
	switch {
	case len(s.Jump) > 0:
		var hops []string
		for _, j := range s.Jump {
			hop := fmt.Sprintf("%s@%s:%d", j.User, j.Address, j.Port)
			if j.Name != hop {
				hop = j.Name + " (" + hop + ")"
			}
			hops = append(hops, hop)
		}
		fmt.Fprintf(&b, "  through        %s%s\n", strings.Join(hops, " -> "), src("jump"))
		if j := s.Jump[0]; j.ProxyCommand != "" {
			fmt.Fprintf(&b, "  first hop via  the output of sh -c %q (%s)\n", j.ProxyCommand, j.Sources["proxy_command"])
		}
	case s.ProxyCommand != "":
		fmt.Fprintf(&b, "  connection     the output of sh -c %q%s\n", s.ProxyCommand, src("proxy_command"))
	default:
		fmt.Fprintf(&b, "  connection     direct TCP\n")
	}
	fmt.Fprintf(&b, "  known_hosts    %s%s\n", strings.Join(s.KnownHostsFiles, ", "), src("known_hosts_files"))
	if s.HostKeyAlias != "" {
		fmt.Fprintf(&b, "  host key name  %s (HostKeyAlias%s)\n", s.HostKeyAlias, from("host_key_alias"))
	}
	switch s.HostKeyPolicy {
	case "accept-new":
		fmt.Fprintf(&b, "  host key       an unknown key is recorded in %s; a changed key is refused%s\n", firstOr(s.KnownHostsFiles, "known_hosts"), src("host_key_policy"))
	case "insecure":
		fmt.Fprintf(&b, "  host key       NOT checked\n")
	default:
		fmt.Fprintf(&b, "  host key       must already be in known_hosts (--accept-new-host-keys records a new one)%s\n", src("host_key_policy"))
	}
	if s.StrictHostKeyChecking == "no" {
		fmt.Fprintf(&b, "                 StrictHostKeyChecking no is read as accept-new: a changed key is still refused\n")
	}
	if s.Resolver != "" {
		fmt.Fprintf(&b, "  resolved by    %s\n", s.Resolver)
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	return b.String()
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// differences names what runbook's own reading of ssh_config says
// otherwise than ssh -G (which wins): a bug to report, shown rather than
// hidden.
func differences(goRes, sshRes *SSHResolution) []string {
	var out []string
	diff := func(what string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			out = append(out, fmt.Sprintf("runbook's reading of ssh_config gives %s %v where ssh -G gives %v; using ssh's", what, a, b))
		}
	}
	diff("address", goRes.Address, sshRes.Address)
	diff("user", goRes.User, sshRes.User)
	diff("port", goRes.Port, sshRes.Port)
	diff("identity files", goRes.IdentityFiles, sshRes.IdentityFiles)
	diff("IdentitiesOnly", goRes.IdentitiesOnly, sshRes.IdentitiesOnly)
	diff("ProxyCommand", goRes.ProxyCommand, sshRes.ProxyCommand)
	diff("ProxyJump", goRes.ProxyJump, sshRes.ProxyJump)
	diff("known_hosts files", goRes.KnownHostsFiles, sshRes.KnownHostsFiles)
	diff("StrictHostKeyChecking", goRes.StrictHostKeyChecking, sshRes.StrictHostKeyChecking)
	return out
}
