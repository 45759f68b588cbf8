package inventory

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/lang"
	"github.com/zclconf/go-cty/cty"
)

// Options adjust how an inventory is completed. The zero value reads
// ~/.ssh/config and the current user's defaults.
type Options struct {
	// SSHConfigPath is the ssh_config to honour: "" means ~/.ssh/config,
	// "none" disables it.
	SSHConfigPath string
	// Home replaces the home directory (for "~", ~/.ssh/config and the
	// default keys); "" means the real one. For tests.
	Home string
	// User replaces the default login user; "" means the current user.
	User string
	// RemoteUser and PrivateKey, when set, replace every SSH host's login
	// user and keys, whatever the inventory and ssh_config say (the
	// CLI's -u and --private-key); jump hosts keep their own.
	RemoteUser string
	PrivateKey string
}

func (o Options) home() string {
	if o.Home != "" {
		return o.Home
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "/"
}

func (o Options) currentUser() string {
	if o.User != "" {
		return o.User
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// rawHost is a host as declared, before ssh_config and defaults. Empty
// or zero fields are unset.
type rawHost struct {
	name          string
	address       string
	port          int
	user          string
	identityFiles []string
	knownHosts    []string
	jump          []string
	jumpSet       bool // jump = [] explicitly: no hop, even if ssh_config has ProxyJump
	becomeEnv     string
	passwordEnv   string
	passphraseEnv string
	local         bool
	vars          map[string]cty.Value
	rng           hcl.Range
}

type rawGroup struct {
	name        string
	hosts       []string
	children    []string
	vars        map[string]cty.Value
	rng         hcl.Range
	hostsRng    hcl.Range
	childrenRng hcl.Range
}

// builder turns raw declarations into an Inventory.
type builder struct {
	path   string
	opts   Options
	ssh    *sshConfig
	hosts  []*rawHost
	groups []*rawGroup
	// connVars, when set (INI), pulls connection settings out of the
	// merged variables (ansible_host...) into the raw host.
	connVars func(h *rawHost, vars map[string]cty.Value) hcl.Diagnostics
	// groupFileVars and hostFileVars are group_vars/NAME and
	// host_vars/NAME beside an Ansible inventory (varsdirs.go).
	groupFileVars map[string]map[string]cty.Value
	hostFileVars  map[string]map[string]cty.Value
	// dir anchors relative key paths; "" means the inventory file's
	// directory.
	dir string
}

func (b *builder) build() (*Inventory, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	inv := &Inventory{Path: b.path, Groups: map[string]*Group{}, byName: map[string]*Host{}}
	rawByName := map[string]*rawHost{}
	for _, rh := range b.hosts {
		rawByName[rh.name] = rh
	}
	groupsByName := map[string]*rawGroup{}
	for _, g := range b.groups {
		groupsByName[g.name] = g
	}

	for _, g := range b.groups {
		if _, clash := rawByName[g.name]; clash {
			// Ansible only warns (a pattern naming both means the group).
			sev, detail := hcl.DiagError, "%q is both a host and a group, so a pattern naming it would be ambiguous."
			if b.connVars != nil {
				sev, detail = hcl.DiagWarning, "%q is both a host and a group; a pattern naming it means the group, as in Ansible."
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: sev, Summary: "Group and host with the same name",
				Detail:  fmt.Sprintf(detail, g.name),
				Subject: rangePtr(g.rng),
			})
		}
		for _, h := range g.hosts {
			if rawByName[h] == nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Unknown host in group",
					Detail:  fmt.Sprintf("Group %q lists host %q, which is not declared.%s", g.name, h, didYouMean(h, keys(rawByName))),
					Subject: rangePtr(g.hostsRng),
				})
			}
		}
		for _, c := range g.children {
			if groupsByName[c] == nil && c != "all" && c != "ungrouped" {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Unknown child group",
					Detail:  fmt.Sprintf("Group %q lists child group %q, which is not declared.%s", g.name, c, didYouMean(c, keys(groupsByName))),
					Subject: rangePtr(g.childrenRng),
				})
			}
		}
	}
	diags = append(diags, findCycles(b.groups, groupsByName)...)
	if diags.HasErrors() {
		return nil, diags
	}

	// Group depth orders var precedence: parents before children, so the
	// more specific group wins (Ansible's rule); ties go by name.
	depth := map[string]int{}
	var depthOf func(string, map[string]bool) int
	depthOf = func(g string, seen map[string]bool) int {
		if d, ok := depth[g]; ok {
			return d
		}
		if seen[g] {
			return 0
		}
		seen[g] = true
		d := 0
		for _, p := range b.groups {
			if p.name == "all" {
				continue // every group is all's child: naming one changes nothing
			}
			for _, c := range p.children {
				if c == g {
					d = max(d, depthOf(p.name, seen)+1)
				}
			}
		}
		depth[g] = d
		return d
	}
	for _, g := range b.groups {
		depthOf(g.name, map[string]bool{})
	}

	for _, g := range b.groups {
		inv.Groups[g.name] = &Group{Name: g.name, Hosts: g.hosts, Children: g.children, Vars: g.vars, DeclRange: g.rng}
	}
	all := &Group{Name: "all", Vars: map[string]cty.Value{}}
	if g := inv.Groups["all"]; g != nil {
		all = g
	}
	all.Hosts = nil
	inv.Groups["all"] = all
	grouped := map[string]bool{}
	for _, g := range b.groups {
		if g.name == "all" || g.name == "ungrouped" {
			continue
		}
		for h := range inv.members(g.name, nil) {
			grouped[h] = true
		}
	}
	ungrouped := inv.Groups["ungrouped"]
	if ungrouped == nil {
		ungrouped = &Group{Name: "ungrouped", Vars: map[string]cty.Value{}}
		inv.Groups["ungrouped"] = ungrouped
	}
	inUngrouped := map[string]bool{}
	for _, h := range ungrouped.Hosts {
		inUngrouped[h] = true
	}
	for _, rh := range b.hosts {
		all.Hosts = append(all.Hosts, rh.name)
		if !grouped[rh.name] && !inUngrouped[rh.name] {
			inUngrouped[rh.name] = true
			ungrouped.Hosts = append(ungrouped.Hosts, rh.name)
		}
	}

	// Ansible's ansible_group_priority orders groups of the same depth
	// (default 1, the higher wins); it is a setting, not a variable.
	priority := map[string]int{}
	if b.connVars != nil {
		for _, g := range b.groups {
			v, ok := g.vars["ansible_group_priority"]
			if !ok {
				continue
			}
			delete(g.vars, "ansible_group_priority")
			// int(value), as Ansible: a number is truncated, text must
			// be a whole number.
			p, ok := 0, false
			if !v.IsNull() && v.IsKnown() && v.Type() == cty.Number {
				i, _ := v.AsBigFloat().Int64() // truncates; ±Inf saturate
				p, ok = int(i), i > -1<<31 && i < 1<<31
			} else if s, isStr := ctyString(v); isStr {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				p, ok = n, err == nil
			}
			if !ok {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid group priority",
					Detail: fmt.Sprintf("Group %q: ansible_group_priority must be a whole number.", g.name), Subject: rangePtr(g.rng)})
				continue
			}
			priority[g.name] = p
		}
	}
	prio := func(g string) int {
		if p, ok := priority[g]; ok {
			return p
		}
		return 1
	}

	// Membership is computed once per group, not once per host and group:
	// node[0001:4000] must not cost 4000 × 4000 set builds.
	groupNames := inv.GroupNames()
	memberSets := make(map[string]map[string]bool, len(groupNames))
	for _, g := range groupNames {
		if g != "all" {
			memberSets[g] = inv.members(g, nil)
		}
	}
	for _, rh := range b.hosts {
		var groups []string
		for _, g := range groupNames {
			if g != "all" && memberSets[g][rh.name] {
				groups = append(groups, g)
			}
		}
		ordered := append([]string(nil), groups...)
		sort.SliceStable(ordered, func(i, j int) bool {
			if depth[ordered[i]] != depth[ordered[j]] {
				return depth[ordered[i]] < depth[ordered[j]]
			}
			if pi, pj := prio(ordered[i]), prio(ordered[j]); pi != pj {
				return pi < pj
			}
			return ordered[i] < ordered[j]
		})
		// Ansible's order, lowest first: all's inventory vars,
		// group_vars/all, the other groups' inventory vars (parents
		// first), their group_vars files (parents first), the host's
		// inventory vars, host_vars/HOST. So any group_vars file beats
		// any group's vars in the inventory file.
		vars := map[string]cty.Value{}
		for k, v := range all.Vars {
			vars[k] = v
		}
		for k, v := range b.groupFileVars["all"] {
			vars[k] = v
		}
		for _, g := range ordered {
			for k, v := range inv.Groups[g].Vars {
				vars[k] = v
			}
		}
		for _, g := range ordered {
			for k, v := range b.groupFileVars[g] {
				vars[k] = v
			}
		}
		for k, v := range rh.vars {
			vars[k] = v
		}
		for k, v := range b.hostFileVars[rh.name] {
			vars[k] = v
		}
		if b.connVars != nil {
			diags = append(diags, b.connVars(rh, vars)...)
		}
		h := &Host{Name: rh.name, Vars: vars, Groups: groups, DeclRange: rh.rng}
		inv.Hosts = append(inv.Hosts, h)
		inv.byName[h.Name] = h
	}
	if diags.HasErrors() {
		return nil, diags
	}

	for i, rh := range b.hosts {
		diags = append(diags, b.resolve(inv.Hosts[i], rh)...)
	}
	for i, rh := range b.hosts {
		diags = append(diags, b.resolveJumps(inv, inv.Hosts[i], rh, rawByName)...)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return inv, diags
}

// resolve fills connection settings: inventory, then ssh_config (looked
// up by address when given, else by name: what ssh would be called
// with), then OpenSSH's defaults.
func (b *builder) resolve(h *Host, rh *rawHost) hcl.Diagnostics {
	h.Local = rh.local
	h.BecomePasswordEnv = rh.becomeEnv
	h.PasswordEnv = rh.passwordEnv
	h.PassphraseEnv = rh.passphraseEnv
	alias := rh.address
	if alias == "" {
		alias = rh.name
	}
	// The inventory's user and port are ssh's -l and -p: %r and %p in
	// IdentityFile, and Match user, see them.
	s := b.ssh.lookupFor(alias, rh.user, rh.port)
	// HostName applies to the address too, as when ssh is given it: an
	// inventory "address" may itself be an ssh_config alias.
	h.Address = firstNonEmpty(s.hostName, alias)
	h.Port = firstNonZero(rh.port, s.port, 22)
	h.User = firstNonEmpty(rh.user, s.user, b.opts.currentUser())
	h.IdentityFiles = b.paths(rh.identityFiles)
	if len(h.IdentityFiles) == 0 {
		h.IdentityFiles = s.identityFiles
	}
	if len(h.IdentityFiles) == 0 {
		h.IdentityFiles = defaultIdentities(b.opts.home())
	}
	h.KnownHosts = b.paths(rh.knownHosts)
	if len(h.KnownHosts) == 0 {
		h.KnownHosts = s.knownHosts
	}
	if len(h.KnownHosts) == 0 {
		h.KnownHosts = []string{filepath.Join(b.opts.home(), ".ssh", "known_hosts")}
	}
	h.HostKeyPolicy = s.policy
	if h.Port < 1 || h.Port > 65535 {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid port", Detail: fmt.Sprintf("Host %q: port %d is out of range.", h.Name, h.Port), Subject: rangePtr(rh.rng)}}
	}
	return nil
}

// resolveJumps turns jump specs into hosts. A spec naming an inventory
// host uses that host's settings (and its own hops first); anything else
// is "[user@]host[:port]" completed from ssh_config, like ssh -J does.
func (b *builder) resolveJumps(inv *Inventory, h *Host, rh *rawHost, raw map[string]*rawHost) hcl.Diagnostics {
	if h.Local {
		return nil
	}
	specs := rh.jump
	if !rh.jumpSet {
		alias := rh.address
		if alias == "" {
			alias = rh.name
		}
		specs = b.ssh.lookup(alias, b.opts).proxyJump
	}
	chain, err := b.jumpChain(inv, specs, []string{h.Name}, raw)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid jump", Detail: fmt.Sprintf("Host %q: %v", h.Name, err), Subject: rangePtr(rh.rng)}}
	}
	h.Jump = chain
	return nil
}

func (b *builder) jumpChain(inv *Inventory, specs []string, path []string, raw map[string]*rawHost) ([]*Host, error) {
	if len(path) > 10 {
		return nil, fmt.Errorf("jump chain too long: %s", strings.Join(path, " -> "))
	}
	var chain []*Host
	// ssh_config's ProxyJump is followed as OpenSSH follows it: for
	// "ProxyJump a,b" ssh reaches a (through a's own jump hosts), then b
	// with `-J a`, so b's own ProxyJump does not apply (not a -> a -> b).
	// An inventory host's declared jump always applies.
	for i, spec := range specs {
		if contains(path, spec) {
			return nil, fmt.Errorf("jump cycle: %s -> %s", strings.Join(path, " -> "), spec)
		}
		if hop := inv.byName[spec]; hop != nil {
			if hop.Local {
				return nil, fmt.Errorf("jump host %q is a local host", spec)
			}
			rh := raw[spec]
			sub := rh.jump
			if !rh.jumpSet && i == 0 {
				alias := firstNonEmpty(rh.address, rh.name)
				sub = b.ssh.lookup(alias, b.opts).proxyJump
			}
			before, err := b.jumpChain(inv, sub, append(path, spec), raw)
			if err != nil {
				return nil, err
			}
			chain = append(chain, before...)
			cp := *hop
			cp.Jump = nil
			chain = append(chain, &cp)
			continue
		}
		u, host, port, err := splitDest(spec)
		if err != nil {
			return nil, err
		}
		// A hop's own user and port are ssh's -l and -p too.
		s := b.ssh.lookupFor(host, u, port)
		hop := &Host{
			Name:          spec,
			Address:       firstNonEmpty(s.hostName, host),
			Port:          firstNonZero(port, s.port, 22),
			User:          firstNonEmpty(u, s.user, b.opts.currentUser()),
			IdentityFiles: s.identityFiles,
			KnownHosts:    s.knownHosts,
			HostKeyPolicy: s.policy,
		}
		if len(hop.IdentityFiles) == 0 {
			hop.IdentityFiles = defaultIdentities(b.opts.home())
		}
		if len(hop.KnownHosts) == 0 {
			hop.KnownHosts = []string{filepath.Join(b.opts.home(), ".ssh", "known_hosts")}
		}
		sub := s.proxyJump
		if i > 0 {
			sub = nil
		}
		before, err := b.jumpChain(inv, sub, append(path, spec), raw)
		if err != nil {
			return nil, err
		}
		chain = append(chain, before...)
		chain = append(chain, hop)
	}
	return chain, nil
}

// splitDest parses "[user@]host[:port]" (and "[v6addr]:port").
func splitDest(spec string) (user, host string, port int, err error) {
	rest := spec
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		user, rest = rest[:i], rest[i+1:]
	}
	var portStr string
	switch {
	case strings.HasPrefix(rest, "["):
		end := strings.Index(rest, "]")
		if end < 0 {
			return "", "", 0, fmt.Errorf("bad address %q", spec)
		}
		host = rest[1:end]
		if after := rest[end+1:]; after != "" {
			if !strings.HasPrefix(after, ":") {
				return "", "", 0, fmt.Errorf("bad address %q", spec)
			}
			portStr = after[1:]
		}
	case strings.Count(rest, ":") == 1:
		host, portStr, _ = strings.Cut(rest, ":")
	default:
		host = rest
	}
	if portStr != "" {
		p, perr := strconv.Atoi(portStr)
		if perr != nil || p < 1 || p > 65535 {
			return "", "", 0, fmt.Errorf("bad port in %q", spec)
		}
		port = p
	}
	if host == "" {
		return "", "", 0, fmt.Errorf("no host in %q", spec)
	}
	return user, host, port, nil
}

// paths expands ~ and makes relative paths relative to the inventory's
// directory, so an inventory kept in a repo can point at files beside it.
func (b *builder) paths(ps []string) []string {
	var out []string
	for _, p := range ps {
		p = expandTilde(p, b.opts.home())
		if !filepath.IsAbs(p) && b.dir != "" {
			p = filepath.Join(b.dir, p)
		} else if !filepath.IsAbs(p) && b.path != "" {
			p = filepath.Join(filepath.Dir(b.path), p)
		}
		out = append(out, p)
	}
	return out
}

func expandTilde(p, home string) string {
	if p == "~" {
		return home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(home, p[2:])
	}
	return p
}

// defaultIdentities are OpenSSH's default keys that exist.
func defaultIdentities(home string) []string {
	var out []string
	for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		p := filepath.Join(home, ".ssh", n)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func findCycles(groups []*rawGroup, byName map[string]*rawGroup) hcl.Diagnostics {
	var diags hcl.Diagnostics
	state := map[string]int{} // 0 new, 1 on stack, 2 done
	reported := map[string]bool{}
	var visit func(g *rawGroup, stack []string)
	visit = func(g *rawGroup, stack []string) {
		state[g.name] = 1
		stack = append(stack, g.name)
		for _, c := range g.children {
			cg := byName[c]
			if cg == nil {
				continue
			}
			switch state[c] {
			case 0:
				visit(cg, stack)
			case 1:
				i := indexOf(stack, c)
				cycle := append(append([]string(nil), stack[i:]...), c)
				if !reported[c] {
					reported[c] = true
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError, Summary: "Cycle in group children",
						Detail:  "Groups contain each other: " + strings.Join(cycle, " -> ") + ".",
						Subject: rangePtr(g.childrenRng),
					})
				}
			}
		}
		state[g.name] = 2
	}
	for _, g := range groups {
		if state[g.name] == 0 {
			visit(g, nil)
		}
	}
	return diags
}

func rangePtr(r hcl.Range) *hcl.Range {
	if r.Filename == "" {
		return nil
	}
	return &r
}

// didYouMean is lang's, so the inventory and the runbook suggest names
// by the same rule.
func didYouMean(s string, names []string) string { return lang.DidYouMean(s, names) }

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool { return indexOf(list, s) >= 0 }

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func firstNonZero(n ...int) int {
	for _, x := range n {
		if x != 0 {
			return x
		}
	}
	return 0
}
