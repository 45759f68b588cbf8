// Package inventory reads the list of hosts a runbook runs on: an HCL
// inventory, or an Ansible one as Ansible users keep it (INI or YAML,
// with group_vars/ and host_vars/, a directory of them, or a host list),
// completed from ~/.ssh/config and OpenSSH's defaults, and turns a host
// into a transport.
package inventory

import (
	"fmt"
	"github.com/runbook-hpc/runbook/engine/lang"
	"path"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// Host is one resolved target: every connection setting is final (the
// inventory, then ~/.ssh/config, then OpenSSH defaults).
type Host struct {
	Name          string
	Address       string
	Port          int
	User          string
	IdentityFiles []string
	KnownHosts    []string
	// Jump is the chain of hops, first hop first, each itself resolved
	// (a hop's own jumps are already flattened into this list).
	Jump []*Host
	// Names of environment variables holding secrets; the secrets
	// themselves never live in the inventory.
	BecomePasswordEnv string
	PasswordEnv       string
	PassphraseEnv     string
	// HostKeyPolicy comes from StrictHostKeyChecking in ~/.ssh/config
	// (accept-new); the CLI flags can only loosen it further.
	HostKeyPolicy transport.HostKeyPolicy
	// Vars are the host's variables: group vars merged under host vars.
	Vars map[string]cty.Value
	// Groups the host belongs to, directly or through children, sorted;
	// "all" is implied and not listed.
	Groups []string
	// Local hosts are reached with the Local transport, not SSH.
	Local bool
	// DeclRange is where the host was declared (zero for synthetic hosts).
	DeclRange hcl.Range
}

// Group is a named set of hosts.
type Group struct {
	Name string
	// Hosts are the direct members, Children the direct child groups.
	Hosts     []string
	Children  []string
	Vars      map[string]cty.Value
	DeclRange hcl.Range
}

// Inventory is a loaded inventory.
type Inventory struct {
	// Path is the file or directory it came from (absolute), or the -i
	// host list as given; "" for the implicit local inventory.
	Path string
	// Hosts in declaration order.
	Hosts  []*Host
	Groups map[string]*Group
	byName map[string]*Host
}

// LocalHostName is the synthetic host used when there is no inventory.
const LocalHostName = "localhost"

// LocalInventory is what a run without inventory uses: this machine, as
// a host named "localhost" reached by the Local transport.
func LocalInventory(opts Options) *Inventory {
	h := &Host{Name: LocalHostName, Address: "127.0.0.1", User: opts.currentUser(), Local: true, Vars: map[string]cty.Value{}}
	inv := &Inventory{Hosts: []*Host{h}, Groups: map[string]*Group{}, byName: map[string]*Host{h.Name: h}}
	inv.Groups["all"] = &Group{Name: "all", Hosts: []string{h.Name}}
	inv.Groups["ungrouped"] = &Group{Name: "ungrouped", Hosts: []string{h.Name}}
	return inv
}

// Host returns the host named name, or nil.
func (inv *Inventory) Host(name string) *Host { return inv.byName[name] }

// GroupNames returns the group names, sorted.
func (inv *Inventory) GroupNames() []string {
	names := make([]string, 0, len(inv.Groups))
	for n := range inv.Groups {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Describe says how the host is reached: "local",
// "ssh koopark@127.0.0.1:2222", "ssh koopark@10.0.0.5:22 via bastion".
func (h *Host) Describe() string {
	if h.Local {
		return "local"
	}
	cfg := transport.SSHConfig{Address: h.Address, Port: h.Port, User: h.User}
	for _, j := range h.Jump {
		cfg.Jump = append(cfg.Jump, transport.SSHConfig{Name: j.Name, Address: j.Address, Port: j.Port, User: j.User})
	}
	return transport.DescribeSSH(cfg)
}

// Select returns the hosts matching patterns, in inventory order. A
// pattern is a host name, a group name, "all" or "*", a glob ("gpu*"),
// or a comma-separated list of those; "!x" excludes and "&x" intersects
// (as in Ansible). No patterns means all hosts. A name that matches
// nothing is an error, so a typo does not silently run on zero hosts.
func (inv *Inventory) Select(patterns []string) ([]*Host, error) {
	var terms []string
	for _, p := range patterns {
		for _, t := range strings.Split(p, ",") {
			if t = strings.TrimSpace(t); t != "" {
				terms = append(terms, t)
			}
		}
	}
	if len(terms) == 0 {
		return append([]*Host(nil), inv.Hosts...), nil
	}
	var union, inter, excl []string
	for _, t := range terms {
		switch t[0] {
		case '!':
			excl = append(excl, t[1:])
		case '&':
			inter = append(inter, t[1:])
		default:
			union = append(union, t)
		}
	}
	if len(union) == 0 {
		union = []string{"all"}
	}
	set := map[string]bool{}
	for _, t := range union {
		m, err := inv.match(t)
		if err != nil {
			return nil, err
		}
		for n := range m {
			set[n] = true
		}
	}
	for _, t := range inter {
		m, err := inv.match(t)
		if err != nil {
			return nil, err
		}
		for n := range set {
			if !m[n] {
				delete(set, n)
			}
		}
	}
	for _, t := range excl {
		m, err := inv.match(t)
		if err != nil {
			return nil, err
		}
		for n := range m {
			delete(set, n)
		}
	}
	var out []*Host
	for _, h := range inv.Hosts {
		if set[h.Name] {
			out = append(out, h)
		}
	}
	return out, nil
}

// Limit narrows hosts (e.g. a runbook's targets) to those matching
// patterns (--limit). An empty pattern list keeps every host.
func (inv *Inventory) Limit(hosts []*Host, patterns []string) ([]*Host, error) {
	if len(patterns) == 0 {
		return hosts, nil
	}
	sel, err := inv.Select(patterns)
	if err != nil {
		return nil, fmt.Errorf("--limit: %w", err)
	}
	keep := map[string]bool{}
	for _, h := range sel {
		keep[h.Name] = true
	}
	var out []*Host
	for _, h := range hosts {
		if keep[h.Name] {
			out = append(out, h)
		}
	}
	return out, nil
}

// match resolves one term to a set of host names.
func (inv *Inventory) match(term string) (map[string]bool, error) {
	out := map[string]bool{}
	if term == "all" || term == "*" {
		for _, h := range inv.Hosts {
			out[h.Name] = true
		}
		return out, nil
	}
	if strings.ContainsAny(term, "*?[") {
		if _, err := path.Match(term, ""); err != nil {
			return nil, fmt.Errorf("bad pattern %q: %w", term, err)
		}
		for _, h := range inv.Hosts {
			if ok, _ := path.Match(term, h.Name); ok {
				out[h.Name] = true
			}
		}
		for _, g := range inv.GroupNames() {
			if ok, _ := path.Match(term, g); ok {
				for n := range inv.members(g, nil) {
					out[n] = true
				}
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("pattern %q matches no host or group", term)
		}
		return out, nil
	}
	if _, ok := inv.Groups[term]; ok {
		return inv.members(term, nil), nil
	}
	if h := inv.byName[term]; h != nil {
		out[h.Name] = true
		return out, nil
	}
	return nil, fmt.Errorf("no host or group named %q%s", term, inv.suggest(term))
}

// members returns the hosts of group g and of its children.
func (inv *Inventory) members(g string, seen map[string]bool) map[string]bool {
	if seen == nil {
		seen = map[string]bool{}
	}
	out := map[string]bool{}
	if seen[g] {
		return out
	}
	seen[g] = true
	grp := inv.Groups[g]
	if grp == nil {
		return out
	}
	for _, h := range grp.Hosts {
		out[h] = true
	}
	for _, c := range grp.Children {
		for h := range inv.members(c, seen) {
			out[h] = true
		}
	}
	return out
}

func (inv *Inventory) suggest(term string) string {
	var names []string
	for _, h := range inv.Hosts {
		names = append(names, h.Name)
	}
	names = append(names, inv.GroupNames()...)
	if best := lang.Nearest(term, names); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}
