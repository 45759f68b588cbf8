package inventory

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// parseINI reads an Ansible INI inventory as ansible-core 2.14's ini
// plugin does (docs/language.md, "Ansible INI inventory"): hosts before
// any section are in ungrouped; [group] sections hold host lines (a host
// pattern, ranges like node[01:16] expanded, then key=value variables,
// split like a shell line); [group:vars] one key=value per line;
// [group:children] one group name per line. Every value is read as a
// Python literal (ansibleINIValue). What Ansible refuses is an error
// here too.
func parseINI(path string, src []byte, b *builder) hcl.Diagnostics {
	p := &iniParser{path: path, b: b, hosts: map[string]*rawHost{}, groups: map[string]*rawGroup{}, inGroup: map[string]map[string]bool{}, pending: map[string]*iniPending{}}
	// Ansible's inventory starts with these two; a host line before any
	// section is in ungrouped.
	p.group("all", hcl.Range{})
	p.group("ungrouped", hcl.Range{})
	p.parse(src)
	p.finish()
	b.connVars = iniConnVars
	return p.diags
}

type iniParser struct {
	path    string
	b       *builder
	diags   hcl.Diagnostics
	hosts   map[string]*rawHost
	groups  map[string]*rawGroup
	inGroup map[string]map[string]bool // group -> its direct hosts, as a set
	// pending are groups named before they are declared: [g:vars] needs
	// g declared somewhere ([g] or [g:children]), and so does a child
	// listed under [p:children].
	pending      map[string]*iniPending
	pendingOrder []string
}

type iniPending struct {
	kind    string // "vars" or "children"
	rng     hcl.Range
	parents []string
}

func (p *iniParser) errorf(rng hcl.Range, summary, format string, args ...any) {
	p.diags = append(p.diags, iniError(rng, summary, fmt.Sprintf(format, args...)))
}

func (p *iniParser) warnf(rng hcl.Range, summary, format string, args ...any) {
	p.diags = append(p.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rangePtr(rng)})
}

func (p *iniParser) group(name string, rng hcl.Range) *rawGroup {
	g := p.groups[name]
	if g == nil {
		g = &rawGroup{name: name, vars: map[string]cty.Value{}, rng: rng, hostsRng: rng, childrenRng: rng}
		p.groups[name] = g
		p.b.groups = append(p.b.groups, g)
	}
	return g
}

func (p *iniParser) addChild(parent, child string) {
	g := p.groups[parent]
	if !contains(g.children, child) {
		g.children = append(g.children, child)
	}
}

// setVar is Ansible's inventory.set_variable: a name that is a group's
// sets the group's variable, even on a host line (when a host and a
// group share a name).
func (p *iniParser) setVar(entity, k string, v cty.Value) {
	if g := p.groups[entity]; g != nil {
		g.vars[k] = v
		return
	}
	p.hosts[entity].vars[k] = v
}

// iniLine is one line as Python's str.splitlines() cuts them.
type iniLine struct {
	text  string
	start int // byte offset in the file
}

// splitINILines cuts src where Python's splitlines does (\n, \r\n, \r,
// \v, \f, \x1c-\x1e, U+0085, U+2028, U+2029), so line numbers match
// Ansible's.
func splitINILines(src []byte) []iniLine {
	var lines []iniLine
	start := 0
	s := string(src)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		brk := 0
		switch r {
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			brk = size
		case '\r':
			brk = 1
			if i+1 < len(s) && s[i+1] == '\n' {
				brk = 2
			}
		}
		if r == utf8.RuneError && size == 1 {
			brk = 0
		}
		if brk == 0 {
			i += size
			continue
		}
		lines = append(lines, iniLine{text: s[start:i], start: start})
		i += brk
		start = i
	}
	if start < len(s) {
		lines = append(lines, iniLine{text: s[start:], start: start})
	}
	return lines
}

// Python's \s and \w in a str pattern (Unicode).
const (
	pySpace = `\t\n\v\f\r \x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`
	pyWord  = `\p{L}\p{N}_`
)

var (
	iniSectionRe   = regexp.MustCompile(`^\[([^:\]` + pySpace + `]+)(?::([` + pyWord + `]+))?\][` + pySpace + `]*(?:#.*)?$`)
	iniGroupNameRe = regexp.MustCompile(`^([^:\]` + pySpace + `]+)[` + pySpace + `]*(?:#.*)?$`)
)

// replaceInvalidUTF8 puts U+FFFD for each byte that is not UTF-8.
func replaceInvalidUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

func (p *iniParser) parse(src []byte) {
	section, state := "ungrouped", "hosts"
	warnedUTF8 := false
	for i, ln := range splitINILines(src) {
		lineNo := i + 1
		raw := ln.text
		rng := hcl.Range{Filename: p.path, Start: hcl.Pos{Line: lineNo, Column: 1, Byte: ln.start}, End: hcl.Pos{Line: lineNo, Column: utf8.RuneCountInString(raw) + 1, Byte: ln.start + len(raw)}}
		if len(raw) > maxINILine {
			p.errorf(rng, "Line too long", "Line %d is longer than %d KiB.", lineNo, maxINILine>>10)
			continue
		}
		line := pyStrip(raw)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue // comment lines may hold any bytes, as in Ansible
		}
		if !utf8.ValidString(line) {
			// Ansible reads such bytes as lone surrogates (surrogateescape)
			// and writes them as \udcXX in JSON, which reads back as U+FFFD.
			if !warnedUTF8 {
				warnedUTF8 = true
				p.warnf(rng, "Not UTF-8", "Line %d (and maybe others) is not UTF-8 text: each byte that is not is read as U+FFFD. Save the file as UTF-8.", lineNo)
			}
			line = replaceInvalidUTF8(line)
		}
		if m := iniSectionRe.FindStringSubmatch(line); m != nil {
			section, state = m[1], m[2]
			if state == "" {
				state = "hosts"
			}
			if state != "hosts" && state != "vars" && state != "children" {
				p.errorf(rng, "Invalid section header", "[%s:%s]: unknown section type %q; expected [group], [group:vars] or [group:children].", section, state, state)
				state = "skip"
				continue
			}
			p.section(section, state, rng)
			continue
		}
		if line[0] == '[' && (line[len(line)-1] == ']' || !strings.Contains(line, "]")) {
			detail := fmt.Sprintf("%q has no closing ].", line)
			if line[len(line)-1] == ']' {
				detail = fmt.Sprintf("%q: expected [group], [group:vars] or [group:children], with no spaces or other characters in the name.", line)
			}
			p.errorf(rng, "Invalid section header", "%s", detail)
			section, state = "", "skip"
			continue
		}
		switch state {
		case "hosts":
			p.hostLine(section, line, rng)
		case "vars":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				p.errorf(rng, "Invalid variable", "%q: expected key=value.", line)
				continue
			}
			k = pyStrip(k)
			if d := rejectSecret(k, rng); d != nil {
				p.diags = append(p.diags, d)
				continue
			}
			val, err := ansibleINIValue(pyStrip(v))
			if err != nil {
				p.errorf(rng, "Invalid variable", "%s: %v.", k, err)
				continue
			}
			p.setVar(section, k, val)
		case "children":
			m := iniGroupNameRe.FindStringSubmatch(line)
			if m == nil {
				p.errorf(rng, "Invalid child group", "%q: expected one group name per line.", line)
				continue
			}
			child := m[1]
			if child == "all" {
				p.errorf(rng, "Invalid child group", "Group %q lists all as a child; all holds every group, so that is a loop.", section)
				continue
			}
			if p.groups[child] != nil {
				p.addChild(section, child)
				continue
			}
			if pd := p.pending[child]; pd != nil {
				pd.parents = append(pd.parents, section)
				continue
			}
			p.pending[child] = &iniPending{kind: "children", rng: rng, parents: []string{section}}
			p.pendingOrder = append(p.pendingOrder, child)
		}
	}
}

// section starts [name] or [name:state] (hosts, vars or children).
func (p *iniParser) section(name, state string, rng hcl.Range) {
	if p.groups[name] == nil {
		// [g:vars] does not declare g: it must be declared somewhere.
		if state == "vars" && p.pending[name] == nil {
			p.pending[name] = &iniPending{kind: "vars", rng: rng}
			p.pendingOrder = append(p.pendingOrder, name)
		}
		p.group(name, rng)
	}
	g := p.groups[name]
	if g.rng.Filename == "" {
		g.rng, g.hostsRng, g.childrenRng = rng, rng, rng
	}
	if pd := p.pending[name]; pd != nil && state != "vars" {
		if pd.kind == "children" {
			for _, parent := range pd.parents {
				p.addChild(parent, name)
			}
		}
		delete(p.pending, name)
	}
}

func (p *iniParser) hostLine(group, line string, rng hcl.Range) {
	tokens, err := shlexSplit(line)
	if err != nil {
		p.errorf(rng, "Invalid host line", "%q: %v.", line, err)
		return
	}
	if len(tokens) == 0 {
		p.errorf(rng, "Invalid host line", "%q names no host.", line)
		return
	}
	names, port, err := iniHostPattern(tokens[0])
	if err != nil {
		p.errorf(rng, "Invalid host pattern", "%v", err)
		return
	}
	if len(names) == 0 {
		p.warnf(rng, "Empty host range", "%q expands to no host (its range counts down).", tokens[0])
	}
	type kv struct {
		k string
		v cty.Value
	}
	var vars []kv
	for _, t := range tokens[1:] {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			p.errorf(rng, "Invalid host variable", "%q: expected key=value.", t)
			return
		}
		if d := rejectSecret(k, rng); d != nil {
			p.diags = append(p.diags, d)
			continue
		}
		val, err := ansibleINIValue(v)
		if err != nil {
			p.errorf(rng, "Invalid host variable", "%s: %v.", k, err)
			return
		}
		vars = append(vars, kv{k, val})
	}
	for _, n := range names {
		switch n {
		case "":
			p.errorf(rng, "Invalid host pattern", "%q names no host.", tokens[0])
			return
		case "all", "ungrouped":
			p.errorf(rng, "Reserved name", "%q cannot name a host: it is the group of every host (or of hosts in no group).", n)
			return
		}
		h := p.hosts[n]
		if h == nil {
			h = &rawHost{name: n, rng: rng, vars: map[string]cty.Value{}}
			p.hosts[n] = h
			p.b.hosts = append(p.b.hosts, h)
			// The pattern's port counts where the host is first seen.
			if port > 0 {
				h.vars["ansible_port"] = cty.NumberIntVal(int64(port))
			}
		}
		if p.inGroup[group] == nil {
			p.inGroup[group] = map[string]bool{}
		}
		if !p.inGroup[group][n] {
			p.inGroup[group][n] = true
			g := p.groups[group]
			g.hosts = append(g.hosts, n)
		}
		for _, e := range vars {
			p.setVar(n, e.k, e.v)
		}
	}
}

// iniHostPattern is the INI plugin's _expand_hostpattern: the base
// plugin's, then no trailing ":" and no YAML document marker.
func iniHostPattern(pattern string) ([]string, int, error) {
	pat, port, ok := parseAddress(pattern, true)
	if m := paHostPort.FindStringSubmatch(pattern); !ok && m != nil && m[1] == "" {
		// Ansible takes ":22" whole for a host name; runbook could
		// not reach it.
		return nil, 0, fmt.Errorf("%q names no host, only a port", pattern)
	}
	names, err := expandRange(pat)
	if err != nil {
		return nil, 0, err
	}
	if strings.HasSuffix(pyStrip(pattern), ":") && port == 0 {
		return nil, 0, fmt.Errorf("invalid host pattern %q: a trailing : must be followed by a port", pattern)
	}
	for _, n := range names {
		if pyStrip(n) == "---" {
			return nil, 0, fmt.Errorf("invalid host pattern %q: --- starts a YAML document; is this file YAML?", pattern)
		}
	}
	return names, port, nil
}

// finish checks what had to be declared later, and drops hosts from
// ungrouped that are in another group (Ansible's reconcile_inventory).
func (p *iniParser) finish() {
	for _, name := range p.pendingOrder {
		pd := p.pending[name]
		if pd == nil {
			continue
		}
		if pd.kind == "vars" {
			p.errorf(pd.rng, "Undefined group", "[%s:vars] is for group %q, which is not defined: add a [%s] or [%s:children] section.", name, name, name, name)
		} else {
			p.errorf(pd.rng, "Undefined group", "[%s:children] lists group %q, which is not defined: add a [%s] or [%s:children] section.%s",
				pd.parents[len(pd.parents)-1], name, name, name, didYouMean(name, keys(p.groups)))
		}
	}
	parents := map[string][]string{}
	for _, g := range p.b.groups {
		for _, c := range g.children {
			parents[c] = append(parents[c], g.name)
		}
	}
	// hostGroups: the groups of each host, with their ancestors.
	hostGroups := map[string]map[string]bool{}
	var climb func(set map[string]bool, g string)
	climb = func(set map[string]bool, g string) {
		if set[g] {
			return
		}
		set[g] = true
		for _, pg := range parents[g] {
			climb(set, pg)
		}
	}
	for _, g := range p.b.groups {
		for _, h := range g.hosts {
			if hostGroups[h] == nil {
				hostGroups[h] = map[string]bool{}
			}
			climb(hostGroups[h], g.name)
		}
	}
	ung := p.groups["ungrouped"]
	kept := ung.hosts[:0]
	for _, h := range ung.hosts {
		other := false
		for g := range hostGroups[h] {
			if g != "all" && g != "ungrouped" {
				other = true
				break
			}
		}
		if !other {
			kept = append(kept, h)
		}
	}
	ung.hosts = kept
}

// shlexSplit is Python's shlex.split(line, comments=True): POSIX quoting
// (single quotes literal, a backslash escapes " \ in double quotes and
// anything outside), and # starts a comment anywhere outside quotes,
// even inside a word.
func shlexSplit(s string) ([]string, error) {
	var out []string
	var tok strings.Builder
	state := ' '    // ' ' between words, 'a' in a word, a quote, or '\\'
	escaped := ' '  // the state an escape returns to
	quoted := false // this word had quotes (so "" is a word)
	emit := func() {
		if tok.Len() > 0 || quoted {
			out = append(out, tok.String())
		}
		tok.Reset()
		quoted = false
	}
	isWS := func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }
	for _, r := range s {
		switch state {
		case ' ':
			switch {
			case isWS(r):
			case r == '#':
				return out, nil
			case r == '\\':
				escaped, state = 'a', '\\'
			case r == '\'' || r == '"':
				state = r
			default:
				tok.WriteRune(r)
				state = 'a'
			}
		case 'a':
			switch {
			case isWS(r):
				emit()
				state = ' '
			case r == '#':
				emit()
				return out, nil
			case r == '\'' || r == '"':
				state = r
			case r == '\\':
				escaped, state = 'a', '\\'
			default:
				tok.WriteRune(r)
			}
		case '\'', '"':
			quoted = true
			switch {
			case r == state:
				state = 'a'
			case r == '\\' && state == '"':
				escaped, state = '"', '\\'
			default:
				tok.WriteRune(r)
			}
		case '\\':
			// In double quotes only \" and \\ are escapes.
			if escaped == '"' && r != '\\' && r != '"' {
				tok.WriteRune('\\')
			}
			tok.WriteRune(r)
			state = escaped
		}
	}
	switch state {
	case '\'', '"':
		return nil, fmt.Errorf("unterminated quote (no closing %c)", state)
	case '\\':
		return nil, fmt.Errorf("a \\ ends the line")
	case 'a':
		emit()
	}
	return out, nil
}

// Ansible's host address patterns (ansible.parsing.utils.addresses), as
// RE2: Python's \w is Unicode, and the label's (?<![_-]) is spelled out.
var (
	paBracketedHostPort = regexp.MustCompile(`^\[(.+)\]:([0-9]+)$`)
	paHostPort          = regexp.MustCompile(`^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$`)
	paIPv4              = regexp.MustCompile(`^(?:` + ipv4Component + `\.){3}` + ipv4Component + `$`)
	// Python's pattern is ^A|B|...|Z$ under re.match: every alternative
	// is anchored at the start, only the last at the end.
	paIPv6     = regexp.MustCompile(`^(?:` + ipv6Alternatives + `)`)
	paHostname = regexp.MustCompile(`^` + hostLabel + `(?:\.` + hostLabel + `)*$`)
)

const (
	numericRange      = `\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`
	hexadecimalRange  = `\[(?:[0-9a-fA-F]+:[0-9a-fA-F]+)(?::[0-9]+)?\]`
	alphanumericRange = `\[(?:[a-zA-Z]:[a-zA-Z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`
	ipv6Component     = `(?:[0-9a-fA-F]{1,4}|` + hexadecimalRange + `)`
	ipv4Component     = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|` + numericRange + `)`
	// A label starts with a word character or a range, goes on with
	// those or -, and does not end in _ or -.
	hostLabel = `(?:(?:[` + pyWord + `]|` + alphanumericRange + `)(?:[` + pyWord + `-]|` + alphanumericRange + `)*)?(?:[\p{L}\p{N}]|` + alphanumericRange + `)`
	c6        = ipv6Component
	c4        = ipv4Component
)

var ipv6Alternatives = strings.Join([]string{
	`(?:` + c6 + `:){7}` + c6,
	`(?:` + c6 + `:){1,6}:`,
	`(?:` + c6 + `:)(?::` + c6 + `){1,6}`,
	`(?:` + c6 + `:){2}(?::` + c6 + `){1,5}`,
	`(?:` + c6 + `:){3}(?::` + c6 + `){1,4}`,
	`(?:` + c6 + `:){4}(?::` + c6 + `){1,3}`,
	`(?:` + c6 + `:){5}(?::` + c6 + `){1,2}`,
	`(?:` + c6 + `:){6}(?::` + c6 + `)`,
	`:(?::` + c6 + `){1,6}`,
	c6 + `?::`,
	`(?:0:){6}(?:` + c6 + `\.){3}` + c6,
	`::(?:ffff:)?(?:` + c6 + `\.){3}` + c6,
	`(?:0:){5}ffff:(?:` + c6 + `\.){3}` + c6 + `$`,
}, "|")

// parseAddress is Ansible's parse_address (ansible.parsing.utils.
// addresses) as the inventory plugins' _expand_hostpattern calls it: a trailing :port (or [host]:port) split off when the rest is
// an IPv4 or IPv6 address or a host name, ranges allowed. When it is
// none of those, ok is false and the whole pattern is the name (port 0),
// as Ansible does. Port 0 means none.
func parseAddress(pattern string, allowRanges bool) (host string, port int, ok bool) {
	addr := pattern
	portText := ""
	for _, re := range []*regexp.Regexp{paBracketedHostPort, paHostPort} {
		if m := re.FindStringSubmatch(addr); m != nil {
			addr, portText = m[1], m[2]
		}
	}
	if !paIPv4.MatchString(addr) && !paIPv6.MatchString(addr) && !paHostname.MatchString(addr) {
		return pattern, 0, false
	}
	if !allowRanges && strings.Contains(addr, "[") {
		return pattern, 0, false
	}
	if portText != "" {
		n, err := strconv.Atoi(strings.TrimLeft(portText, "0"))
		switch {
		case strings.TrimLeft(portText, "0") == "":
			n = 0
		case err != nil || n > math.MaxInt32:
			n = math.MaxInt32 // out of any port range: reported as such
		}
		port = n
	}
	return addr, port, true
}

// expandRange is Ansible's expand_hostname_range: the first [beg:end] or
// [beg:end:step] of p expanded (numbers, zero-padded when beg is; or
// letters of a-zA-Z), then the rest of each name likewise. A range that
// counts down yields no host, as in Ansible. runbook caps the hosts one
// pattern makes (maxRangeHosts).
func expandRange(p string) ([]string, error) {
	budget := maxRangeHosts
	return expandRangeN(p, p, &budget)
}

func expandRangeN(whole, p string, budget *int) ([]string, error) {
	if !strings.Contains(p, "[") {
		*budget--
		if *budget < 0 {
			return nil, fmt.Errorf("range too large in %q: over %d hosts", whole, maxRangeHosts)
		}
		return []string{p}, nil
	}
	bad := func(why string) ([]string, error) {
		return nil, fmt.Errorf("bad range in %q: %s", whole, why)
	}
	r := strings.Replace(strings.Replace(p, "[", "|", 1), "]", "|", 1)
	parts := strings.Split(r, "|")
	if len(parts) != 3 {
		if !strings.Contains(p, "]") {
			return bad("unclosed [")
		}
		return bad("expected name[begin:end]")
	}
	head, nrange, tail := parts[0], parts[1], parts[2]
	bounds := strings.Split(nrange, ":")
	if len(bounds) != 2 && len(bounds) != 3 {
		return bad("a range is begin:end or begin:end:step")
	}
	beg, end, step := bounds[0], bounds[1], "1"
	if len(bounds) == 3 {
		step = bounds[2]
	}
	if beg == "" {
		beg = "0"
	}
	if end == "" {
		return bad("a range needs an end")
	}
	width := 0
	if beg[0] == '0' && len(beg) > 1 {
		width = len(beg)
		if len(end) != width {
			return bad(fmt.Sprintf("zero-padded %s and %s differ in width (write both with %d digits)", beg, end, width))
		}
	}
	var seq []string
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	ib, ie := strings.Index(letters, beg), strings.Index(letters, end)
	st, stErr := pyIntText(step)
	if ib >= 0 && ie >= 0 && stErr == nil && st != 0 {
		if ib > ie {
			return bad("begin is after end")
		}
		if st > 0 {
			for i := ib; i <= ie; i += int(st) {
				seq = append(seq, letters[i:i+1])
			}
		}
	} else {
		a, err1 := pyIntText(beg)
		b, err2 := pyIntText(end)
		switch {
		case err1 != nil || err2 != nil:
			return bad("begin and end must be numbers or single letters")
		case stErr != nil:
			return bad("the step must be a number")
		case st == 0:
			return bad("the step must not be 0")
		}
		n := int64(0)
		if st > 0 && b+1 > a {
			n = (b - a + st) / st
		} else if st < 0 && b+1 < a {
			n = (a - b - 1 - st - 1) / -st
		}
		if n > int64(maxRangeHosts) {
			return nil, fmt.Errorf("range too large in %q: %d hosts, at most %d", whole, n, maxRangeHosts)
		}
		for i, x := int64(0), a; i < n; i, x = i+1, x+st {
			seq = append(seq, pyZfill(strconv.FormatInt(x, 10), width))
		}
	}
	var out []string
	for _, s := range seq {
		more, err := expandRangeN(whole, head+s+tail, budget)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// pyIntText is Python's int(text) for what a range holds: optional sign,
// digits with single underscores between them.
func pyIntText(s string) (int64, error) {
	s = pyStrip(s)
	t := strings.TrimLeft(s, "+-")
	if len(s)-len(t) > 1 || t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return 0, strconv.ErrSyntax
	}
	n, ok := new(big.Int).SetString(strings.ReplaceAll(t, "_", ""), 10)
	if !ok {
		return 0, strconv.ErrSyntax
	}
	if s[0] == '-' {
		n.Neg(n)
	}
	if !n.IsInt64() || n.Int64() > 1<<40 || n.Int64() < -(1<<40) {
		return 0, strconv.ErrRange
	}
	return n.Int64(), nil
}

// pyZfill is Python's str.zfill: zeros after any sign, up to width.
func pyZfill(s string, width int) string {
	if len(s) >= width {
		return s
	}
	sign := ""
	if s[0] == '-' || s[0] == '+' {
		sign, s = s[:1], s[1:]
	}
	return sign + strings.Repeat("0", width-len(sign)-len(s)) + s
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

// Ansible's connection variables, highest precedence first. The ssh
// connection plugin reads each option from the last of its variables
// that is set, so the legacy ansible_ssh_* names beat the current ones,
// wherever each was set (a group's ansible_ssh_host beats a host's
// ansible_host).
var (
	connHostVars = []string{"ansible_ssh_host", "ansible_host"}
	connPortVars = []string{"ansible_ssh_port", "ansible_port"}
	connUserVars = []string{"ansible_ssh_user", "ansible_user"}
	connKeyVars  = []string{"ansible_ssh_private_key_file", "ansible_private_key_file"}
)

// sshConnections are the ansible_connection values runbook reaches over
// SSH (smart is ssh; paramiko is 2.14's alias of paramiko_ssh).
var sshConnections = map[string]bool{"ssh": true, "smart": true, "paramiko": true, "paramiko_ssh": true}

// iniConnVars moves Ansible's connection variables (after group/host
// merging, so [all:vars] ansible_user=... works) into the host settings,
// and drops them from the vars.
func iniConnVars(h *rawHost, vars map[string]cty.Value) hcl.Diagnostics {
	var diags hcl.Diagnostics
	bad := func(k string, v cty.Value) {
		diags = append(diags, iniError(h.rng, "Invalid connection variable", fmt.Sprintf("Host %q: %s must be text or a number, not %s.", h.name, k, v.Type().FriendlyName())))
	}
	// str takes the first of keys that is set (and not null) and drops
	// them all from vars.
	str := func(keys ...string) (string, string, bool) {
		found, name, ok := "", "", false
		for _, k := range keys {
			v, set := vars[k]
			if !set {
				continue
			}
			delete(vars, k)
			if ok || v.IsNull() {
				continue
			}
			s, isStr := ansibleString(v)
			if !isStr {
				bad(k, v)
				continue
			}
			found, name, ok = s, k, true
		}
		return found, name, ok
	}
	if s, _, ok := str(connHostVars...); ok {
		h.address = s
	}
	if s, k, ok := str(connPortVars...); ok {
		p, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || p < 1 || p > 65535 {
			diags = append(diags, iniError(h.rng, "Invalid port", fmt.Sprintf("Host %q: %s %q is not a port.", h.name, k, s)))
		}
		h.port = p
	}
	if s, _, ok := str(connUserVars...); ok {
		h.user = s
	}
	if s, _, ok := str(connKeyVars...); ok {
		h.identityFiles = []string{s}
	}
	if s, _, ok := str("ansible_connection"); ok {
		name := strings.TrimPrefix(strings.TrimPrefix(s, "ansible.builtin."), "ansible.legacy.")
		switch {
		case name == "local":
			h.local = true
		case sshConnections[name]:
		default:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Unsupported connection",
				Detail: fmt.Sprintf("Host %q: ansible_connection=%s is not supported (runbook connects with ssh or local); using ssh.", h.name, s), Subject: rangePtr(h.rng)})
		}
	}
	for _, k := range []string{"ansible_ssh_common_args", "ansible_ssh_extra_args"} {
		if s, _, ok := str(k); ok {
			if j := proxyJumpArg(s); j != nil {
				h.jump, h.jumpSet = j, true
			}
		}
	}
	list := func(k string) ([]string, bool) {
		v, ok := vars[k]
		if !ok {
			return nil, false
		}
		if !v.IsNull() && v.IsKnown() && (v.Type().IsTupleType() || v.Type().IsListType()) {
			delete(vars, k)
			var out []string
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				s, ok := ansibleString(e)
				if !ok {
					bad(k, v)
					return nil, false
				}
				out = append(out, s)
			}
			return out, true
		}
		s, _, ok := str(k)
		return splitList(s), ok
	}
	if l, ok := list("runbook_jump"); ok {
		h.jump, h.jumpSet = l, true
	}
	if l, ok := list("runbook_known_hosts"); ok {
		h.knownHosts = l
	}
	if s, _, ok := str("runbook_become_password_env"); ok {
		h.becomeEnv = s
	}
	if s, _, ok := str("runbook_password_env"); ok {
		h.passwordEnv = s
	}
	if s, _, ok := str("runbook_passphrase_env"); ok {
		h.passphraseEnv = s
	}
	return diags
}

// ansibleString is Python's str() of a scalar, what Ansible does with a
// connection option's value: True, 22, 1.5.
func ansibleString(v cty.Value) (string, bool) {
	if v.IsNull() || !v.IsKnown() {
		return "", false
	}
	switch v.Type() {
	case cty.Bool:
		if v.True() {
			return "True", true
		}
		return "False", true
	case cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			i, _ := bf.Int(nil)
			return i.String(), true
		}
		f, _ := bf.Float64()
		return pyFloatRepr(f), true
	}
	return ctyString(v)
}

// proxyJumpArg finds -J hops or -o ProxyJump=hops in ssh arguments.
func proxyJumpArg(args string) []string {
	words, err := shlexSplit(args)
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

func iniError(rng hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rangePtr(rng)}
}

// maxINILine is the longest INI line read (Ansible has no limit; a
// megabyte line is a broken file).
const maxINILine = 1 << 20
