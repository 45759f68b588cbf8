package inventory

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// parseINI reads an Ansible INI inventory: hosts at the top (ungrouped),
// [group] host lines with key=value vars, [group:vars] and
// [group:children]; comments start with # or ;. Host ranges like
// node[01:16] are expanded.
func parseINI(path string, src []byte, b *builder) hcl.Diagnostics {
	var diags hcl.Diagnostics
	hosts := map[string]*rawHost{}
	groups := map[string]*rawGroup{}
	group := func(name string, rng hcl.Range) *rawGroup {
		g := groups[name]
		if g == nil {
			g = &rawGroup{name: name, vars: map[string]cty.Value{}, rng: rng, hostsRng: rng, childrenRng: rng}
			groups[name] = g
			b.groups = append(b.groups, g)
		}
		return g
	}
	type childRef struct {
		parent, child string
		rng           hcl.Range
	}
	var childRefs []childRef
	inGroup := map[*rawGroup]map[string]bool{} // g.hosts as a set

	section, kind := "", "hosts" // top of file: ungrouped hosts
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 64<<10), maxINILine)
	lineNo, offset := 1, 0
	for ; sc.Scan(); lineNo++ {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		// Byte offsets too: the diagnostic printer finds the snippet by them.
		start := offset
		if nl := bytes.IndexByte(src[offset:], '\n'); nl >= 0 {
			offset += nl + 1
		} else {
			offset = len(src)
		}
		rng := hcl.Range{Filename: path, Start: hcl.Pos{Line: lineNo, Column: 1, Byte: start}, End: hcl.Pos{Line: lineNo, Column: len(raw) + 1, Byte: start + len(raw)}}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				diags = append(diags, iniError(rng, "Invalid section header", fmt.Sprintf("%q has no closing ].", line)))
				continue
			}
			name := line[1:end]
			section, kind = name, "hosts"
			if i := strings.LastIndexByte(name, ':'); i >= 0 {
				section, kind = name[:i], name[i+1:]
			}
			if section == "" || (kind != "hosts" && kind != "vars" && kind != "children") {
				diags = append(diags, iniError(rng, "Invalid section header", fmt.Sprintf("[%s]: expected [group], [group:vars] or [group:children].", name)))
				section, kind = "", "skip"
				continue
			}
			if section == "ungrouped" && kind == "children" {
				diags = append(diags, iniError(rng, "Invalid section header", "The ungrouped group cannot have children."))
			}
			group(section, rng)
			continue
		}
		switch kind {
		case "skip":
		case "vars":
			k, v, ok := strings.Cut(line, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				diags = append(diags, iniError(rng, "Invalid variable", fmt.Sprintf("%q: expected key=value.", line)))
				continue
			}
			if d := rejectSecret(k, rng); d != nil {
				diags = append(diags, d)
				continue
			}
			// Ansible reads :vars values as strings.
			group(section, rng).vars[k] = cty.StringVal(unquote(strings.TrimSpace(v)))
		case "children":
			name := strings.Fields(stripComment(line))
			if len(name) != 1 {
				diags = append(diags, iniError(rng, "Invalid child group", fmt.Sprintf("%q: expected one group name per line.", line)))
				continue
			}
			g := group(section, rng)
			g.children = append(g.children, name[0])
			childRefs = append(childRefs, childRef{section, name[0], rng})
		case "hosts":
			words, err := splitWords(line)
			if err != nil {
				diags = append(diags, iniError(rng, "Invalid host line", err.Error()))
				continue
			}
			if len(words) == 0 {
				continue
			}
			names, err := expandRange(words[0])
			if err != nil {
				diags = append(diags, iniError(rng, "Invalid host pattern", err.Error()))
				continue
			}
			vars := map[string]cty.Value{}
			for _, w := range words[1:] {
				k, v, ok := strings.Cut(w, "=")
				if !ok || k == "" {
					diags = append(diags, iniError(rng, "Invalid host variable", fmt.Sprintf("%q: expected key=value.", w)))
					continue
				}
				if d := rejectSecret(k, rng); d != nil {
					diags = append(diags, d)
					continue
				}
				vars[k] = iniLiteral(v)
			}
			for _, n := range names {
				port := 0
				if h, p, ok := strings.Cut(n, ":"); ok && strings.Count(n, ":") == 1 {
					if pn, err := strconv.Atoi(p); err == nil {
						n, port = h, pn
					}
				}
				if n == "" {
					diags = append(diags, iniError(rng, "Invalid host pattern", fmt.Sprintf("%q names no host.", words[0])))
					continue
				}
				if n == "all" || n == "ungrouped" {
					diags = append(diags, iniError(rng, "Reserved name", fmt.Sprintf("%q cannot name a host.", n)))
					continue
				}
				h := hosts[n]
				if h == nil {
					h = &rawHost{name: n, rng: rng, vars: map[string]cty.Value{}}
					hosts[n] = h
					b.hosts = append(b.hosts, h)
				}
				if port != 0 {
					h.vars["ansible_port"] = cty.NumberIntVal(int64(port))
				}
				for k, v := range vars {
					h.vars[k] = v
				}
				if section != "" {
					g := group(section, rng)
					if !inGroup[g][n] {
						if inGroup[g] == nil {
							inGroup[g] = map[string]bool{}
						}
						inGroup[g][n] = true
						g.hosts = append(g.hosts, n)
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		// Without this the rest of the file would be silently ignored.
		rng := hcl.Range{Filename: path, Start: hcl.Pos{Line: lineNo, Column: 1, Byte: offset}, End: hcl.Pos{Line: lineNo, Column: 1, Byte: offset}}
		detail := err.Error()
		if errors.Is(err, bufio.ErrTooLong) {
			detail = fmt.Sprintf("Line %d is longer than %d KiB; nothing after it was read.", lineNo, maxINILine>>10)
		}
		diags = append(diags, iniError(rng, "Line too long", detail))
	}
	// Ansible creates a child group named only under :children; we warn,
	// since it is more often a typo than an intentionally empty group.
	for _, c := range childRefs {
		if g := groups[c.child]; g == nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Empty child group",
				Detail: fmt.Sprintf("Group %q lists child %q, which has no section; it is an empty group.", c.parent, c.child), Subject: rangePtr(c.rng)})
			group(c.child, c.rng)
		}
	}
	b.connVars = iniConnVars
	return diags
}

// secretKeys would put a password in the inventory file; runbook reads
// secrets only from the environment.
var secretKeys = map[string]string{
	"ansible_become_password": "runbook_become_password_env", "ansible_become_pass": "runbook_become_password_env",
	"ansible_sudo_pass": "runbook_become_password_env", "ansible_sudo_password": "runbook_become_password_env",
	"ansible_password": "runbook_password_env", "ansible_ssh_pass": "runbook_password_env", "ansible_ssh_password": "runbook_password_env",
	"ansible_ssh_private_key_passphrase": "runbook_passphrase_env",
}

func rejectSecret(k string, rng hcl.Range) *hcl.Diagnostic {
	alt, ok := secretKeys[k]
	if !ok {
		return nil
	}
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Password in inventory ignored",
		Detail:  fmt.Sprintf("%s is ignored: runbook does not read secrets from inventory files. Put the secret in an environment variable and name it with %s=VARNAME.", k, alt),
		Subject: rangePtr(rng)}
}

// iniConnVars moves Ansible's connection variables (after group/host
// merging, so [all:vars] ansible_user=... works) into the host settings,
// and drops them from the vars.
func iniConnVars(h *rawHost, vars map[string]cty.Value) hcl.Diagnostics {
	var diags hcl.Diagnostics
	str := func(keys ...string) (string, bool) {
		for _, k := range keys {
			if v, ok := vars[k]; ok {
				delete(vars, k)
				if s, ok := ctyString(v); ok {
					return s, true
				}
			}
		}
		return "", false
	}
	if s, ok := str("ansible_host", "ansible_ssh_host"); ok {
		h.address = s
	}
	if s, ok := str("ansible_port", "ansible_ssh_port"); ok {
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > 65535 {
			diags = append(diags, iniError(h.rng, "Invalid port", fmt.Sprintf("Host %q: ansible_port %q is not a port.", h.name, s)))
		}
		h.port = p
	}
	if s, ok := str("ansible_user", "ansible_ssh_user"); ok {
		h.user = s
	}
	if s, ok := str("ansible_ssh_private_key_file", "ansible_private_key_file"); ok {
		h.identityFiles = []string{s}
	}
	if s, ok := str("ansible_connection"); ok {
		switch s {
		case "local":
			h.local = true
		case "ssh", "paramiko", "smart":
		default:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Unsupported connection",
				Detail: fmt.Sprintf("Host %q: ansible_connection=%s is not supported; using ssh.", h.name, s), Subject: rangePtr(h.rng)})
		}
	}
	for _, k := range []string{"ansible_ssh_common_args", "ansible_ssh_extra_args"} {
		if s, ok := str(k); ok {
			if j := proxyJumpArg(s); j != nil {
				h.jump, h.jumpSet = j, true
			}
		}
	}
	if s, ok := str("runbook_jump"); ok {
		h.jump, h.jumpSet = splitList(s), true
	}
	if s, ok := str("runbook_known_hosts"); ok {
		h.knownHosts = splitList(s)
	}
	if s, ok := str("runbook_become_password_env"); ok {
		h.becomeEnv = s
	}
	if s, ok := str("runbook_password_env"); ok {
		h.passwordEnv = s
	}
	if s, ok := str("runbook_passphrase_env"); ok {
		h.passphraseEnv = s
	}
	return diags
}

// proxyJumpArg finds -J hops or -o ProxyJump=hops in ssh arguments.
func proxyJumpArg(args string) []string {
	words, err := splitWords(args)
	if err != nil {
		return nil
	}
	for i, w := range words {
		switch {
		case w == "-J" && i+1 < len(words):
			return splitList(words[i+1])
		case strings.HasPrefix(w, "-J"):
			return splitList(w[2:])
		case w == "-o" && i+1 < len(words):
			if k, v, ok := strings.Cut(words[i+1], "="); ok && strings.EqualFold(strings.TrimSpace(k), "ProxyJump") {
				return splitList(v)
			}
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func ctyString(v cty.Value) (string, bool) {
	if v.IsNull() || !v.IsKnown() {
		return "", false
	}
	switch v.Type() {
	case cty.String:
		return v.AsString(), true
	case cty.Number:
		return v.AsBigFloat().Text('f', -1), true
	case cty.Bool:
		return strconv.FormatBool(v.True()), true
	}
	return "", false
}

// iniLiteral types an inline host value as Ansible does (a Python
// literal): numbers and True/False; anything else stays a string.
func iniLiteral(s string) cty.Value {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return cty.StringVal(s[1 : len(s)-1])
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return cty.NumberIntVal(n)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && strings.ContainsAny(s, ".eE") {
		return cty.NumberFloatVal(f)
	}
	switch s {
	case "True":
		return cty.True
	case "False":
		return cty.False
	}
	return cty.StringVal(s)
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

func stripComment(s string) string {
	if i := strings.IndexAny(s, "#;"); i >= 0 {
		return s[:i]
	}
	return s
}

// splitWords splits a host line like a shell would (quotes group words,
// a # starting a word begins a comment).
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			return words, nil
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// expandRange expands one Ansible range: node[01:03] -> node01 node02
// node03, rack[a:c] -> racka rackb rackc, with an optional :step.
func expandRange(p string) ([]string, error) {
	out, err := expandRangeN(p)
	if err == nil && len(out) > maxRangeHosts {
		return nil, fmt.Errorf("range too large in %q: %d hosts, at most %d", p, len(out), maxRangeHosts)
	}
	return out, err
}

func expandRangeN(p string) ([]string, error) {
	open := strings.IndexByte(p, '[')
	if open < 0 {
		return []string{p}, nil
	}
	// "[v6]:port" style addresses are not ranges.
	end := strings.IndexByte(p[open:], ']')
	if end < 0 {
		return nil, fmt.Errorf("unclosed [ in %q", p)
	}
	end += open
	parts := strings.Split(p[open+1:end], ":")
	if len(parts) < 2 || len(parts) > 3 {
		return []string{p}, nil
	}
	prefix, suffix := p[:open], p[end+1:]
	step := 1
	if len(parts) == 3 {
		s, err := strconv.Atoi(parts[2])
		if err != nil || s < 1 {
			return nil, fmt.Errorf("bad step in %q", p)
		}
		step = s
	}
	rest, err := expandRangeN(suffix)
	if err != nil {
		return nil, err
	}
	// Each range is bounded, their product must be too: n[0:9999]-[0:9999]
	// would be 10^8 hosts.
	if n := len(rest) * rangeLen(parts); n > maxRangeHosts {
		return nil, fmt.Errorf("range too large in %q: over %d hosts", p, maxRangeHosts)
	}
	var out []string
	add := func(mid string) {
		for _, r := range rest {
			out = append(out, prefix+mid+r)
		}
	}
	lo, hi := parts[0], parts[1]
	if a, err1 := strconv.Atoi(lo); err1 == nil {
		b, err2 := strconv.Atoi(hi)
		if err2 != nil || b < a {
			return nil, fmt.Errorf("bad range in %q", p)
		}
		if b-a > 10000 {
			return nil, fmt.Errorf("range too large in %q", p)
		}
		width := 0
		if len(lo) > 1 && lo[0] == '0' {
			width = len(lo)
		}
		for i := a; i <= b; i += step {
			add(fmt.Sprintf("%0*d", width, i))
		}
		return out, nil
	}
	if len(lo) == 1 && len(hi) == 1 && lo[0] <= hi[0] {
		for c := lo[0]; c <= hi[0]; c += byte(step) {
			add(string(c))
			if int(c)+step > 255 {
				break
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("bad range in %q", p)
}

func iniError(rng hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rangePtr(rng)}
}

// maxINILine is the longest INI line read.
const maxINILine = 1 << 20

// rangeLen is how many values lo:hi[:step] yields, 0 when it is not a
// valid range (the caller reports that).
func rangeLen(parts []string) int {
	step := 1
	if len(parts) == 3 {
		if s, err := strconv.Atoi(parts[2]); err == nil && s > 0 {
			step = s
		}
	}
	if a, err := strconv.Atoi(parts[0]); err == nil {
		if b, err := strconv.Atoi(parts[1]); err == nil && b >= a {
			return (b-a)/step + 1
		}
		return 0
	}
	if len(parts[0]) == 1 && len(parts[1]) == 1 && parts[0][0] <= parts[1][0] {
		return int(parts[1][0]-parts[0][0])/step + 1
	}
	return 0
}
