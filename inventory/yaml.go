package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v3"
)

// parseYAML reads an Ansible YAML inventory as Ansible's yaml plugin
// does: top-level keys are groups, each a mapping of `hosts` (host
// patterns, each a mapping of its variables), `vars` and `children`
// (groups again, to any depth). Host patterns expand ranges
// (node[01:04]) and may end in :port. Anything Ansible skips with a
// warning is a warning here too; what it refuses is an error. Values
// are typed as Ansible's YAML 1.1 loader types them.
func parseYAML(path string, src []byte, b *builder) hcl.Diagnostics {
	y := newYAMLFile(path, src)
	if bytes.HasPrefix(bytes.TrimLeft(src, " \t\r\n"), vaultHeader) {
		y.errorAt(nil, "Encrypted inventory", "This file is encrypted with ansible-vault; runbook does not read vault files. Keep the inventory in clear, and its secrets in environment variables (runbook_become_password_env and the like name them).")
		return y.diags
	}
	root := y.decode()
	if y.diags.HasErrors() {
		return y.diags
	}
	b.connVars = iniConnVars
	if root == nil || y.isNull(root) {
		y.errorAt(root, "Empty inventory", "The YAML inventory holds nothing: write its groups, e.g. all: hosts: ctl1:.")
		return y.diags
	}
	if root.Kind != yaml.MappingNode {
		y.errorAt(root, "Invalid YAML inventory", fmt.Sprintf("The document is %s; a YAML inventory is a mapping of groups (all: children: …, hosts: …, vars: …).", y.describe(root)))
		return y.diags
	}
	p := &yamlInventory{y: y, b: b, hosts: map[string]*rawHost{}, groups: map[string]*rawGroup{}, inGroup: map[*rawGroup]map[string]bool{}}
	entries := y.entries(root)
	for _, e := range entries {
		if e.name == "plugin" && !y.isNull(e.value) && y.truthy(e.value) {
			y.errorAt(e.key, "Inventory plugin configuration", "This file configures an Ansible inventory plugin (plugin: …); runbook reads static inventories only (hosts.yml with all: hosts: …).")
			return y.diags
		}
	}
	for _, e := range entries {
		if !p.groupName(e) {
			continue
		}
		p.group(e.name, e.key, e.value, 0)
	}
	return y.diags
}

// yamlInventory is the state of one YAML inventory being read.
type yamlInventory struct {
	y       *yamlFile
	b       *builder
	hosts   map[string]*rawHost
	groups  map[string]*rawGroup
	inGroup map[*rawGroup]map[string]bool
}

// groupName checks that an entry's key can name a group (Ansible refuses
// a number or a boolean there).
func (p *yamlInventory) groupName(e yamlEntry) bool {
	if !e.isString {
		p.y.errorAt(e.key, "Invalid group name", fmt.Sprintf("%s is not a string; quote it to make it a group name.", e.name))
		return false
	}
	if strings.TrimSpace(e.name) == "" {
		p.y.errorAt(e.key, "Invalid group name", "A group needs a name.")
		return false
	}
	return true
}

func (p *yamlInventory) group(name string, key, data *yaml.Node, depth int) *rawGroup {
	y := p.y
	if depth > MaxNesting {
		y.errorAt(key, "Nested too deeply", fmt.Sprintf("Groups are nested more than %d levels deep here.", MaxNesting))
		return nil
	}
	if data != nil && !y.isNull(data) && data.Kind != yaml.MappingNode {
		y.warnAt(key, "Not a group", fmt.Sprintf("%q is skipped: a group is a mapping of hosts, vars and children, and this is %s.", name, y.describe(data)))
		return nil
	}
	rng := y.rng(key)
	g := p.groups[name]
	if g == nil {
		g = &rawGroup{name: name, vars: map[string]cty.Value{}, rng: rng, hostsRng: rng, childrenRng: rng}
		p.groups[name] = g
		p.b.groups = append(p.b.groups, g)
	}
	if data == nil || y.isNull(data) {
		return g
	}
	entries := y.entries(data)
	// The three sections must be mappings (a lone string is a one-entry
	// mapping); a list there is the usual slip, and Ansible refuses it.
	sections := map[string]*yaml.Node{}
	for _, e := range entries {
		switch e.name {
		case "hosts", "vars", "children":
			v := e.value
			if v.Kind == yaml.ScalarNode && !y.isNull(v) && y.isString(v) {
				sections[e.name] = v // one name, no value
				continue
			}
			if v.Kind != yaml.MappingNode && !y.isNull(v) {
				hint := ""
				if v.Kind == yaml.SequenceNode {
					hint = " Write each entry as a key ending in a colon (node01:), not as a list item (- node01)."
				}
				y.errorAt(e.key, fmt.Sprintf("Invalid %s", e.name), fmt.Sprintf("The %s of group %q must be a mapping, not %s.%s", e.name, name, y.describe(v), hint))
				return g
			}
		}
	}
	for _, e := range entries {
		if v, one := sections[e.name]; one {
			// "hosts: ctl1" is {ctl1: null}.
			p.section(name, g, e, []yamlEntry{{key: v, value: nil, name: v.Value, isString: true}}, depth)
			continue
		}
		if e.value.Kind != yaml.MappingNode && !y.isNull(e.value) {
			y.warnAt(e.key, "Key skipped", fmt.Sprintf("%q in group %q is skipped: it is %s, not a mapping.", e.name, name, y.describe(e.value)))
			continue
		}
		switch e.name {
		case "hosts", "vars", "children":
			if !y.isNull(e.value) {
				p.section(name, g, e, y.entries(e.value), depth)
			}
		default:
			y.warnAt(e.key, "Key skipped", fmt.Sprintf("%q in group %q is skipped: a group has only hosts, vars and children.%s", e.name, name, didYouMean(e.name, []string{"hosts", "vars", "children"})))
		}
	}
	return g
}

func (p *yamlInventory) section(name string, g *rawGroup, sec yamlEntry, entries []yamlEntry, depth int) {
	y := p.y
	switch sec.name {
	case "vars":
		for _, v := range entries {
			if d := rejectSecret(v.name, y.rng(v.key)); d != nil {
				y.diags = append(y.diags, d)
				continue
			}
			if val, ok := y.value(v.value, 0); ok {
				g.vars[v.name] = val
			}
		}
	case "children":
		g.childrenRng = y.rng(sec.key)
		for _, c := range entries {
			if !p.groupName(c) {
				continue
			}
			if name == "ungrouped" {
				y.errorAt(c.key, "Invalid child group", "The ungrouped group cannot have children.")
				continue
			}
			child := p.group(c.name, c.key, c.value, depth+1)
			if child == nil {
				continue
			}
			// Every group is in all already; an explicit all: children:
			// edge would only make its children one level deeper than the
			// groups a file declares at the top, which Ansible does not.
			if name != "all" && !contains(g.children, c.name) {
				g.children = append(g.children, c.name)
			}
		}
	case "hosts":
		g.hostsRng = y.rng(sec.key)
		for _, h := range entries {
			p.host(g, h)
		}
	}
}

func (p *yamlInventory) host(g *rawGroup, e yamlEntry) {
	y := p.y
	rng := y.rng(e.key)
	if !e.isString {
		y.errorAt(e.key, "Invalid host pattern", fmt.Sprintf("Host pattern %s must be a string: quote it.", e.name))
		return
	}
	pattern, port, _ := parseAddress(e.name, true)
	names, err := expandRange(pattern)
	if err != nil {
		y.errorAt(e.key, "Invalid host pattern", err.Error())
		return
	}
	// Ansible reads `host: ~`, `host:` and any other false value as no
	// variables; anything else must be a mapping.
	var vars []yamlEntry
	if v := e.value; v != nil && !y.isNull(v) {
		switch {
		case v.Kind == yaml.MappingNode:
			vars = y.entries(v)
		case !y.truthy(v):
		default:
			y.errorAt(e.key, "Invalid host variables", fmt.Sprintf("The variables of host %q must be a mapping (ansible_host: 10.0.0.5), not %s.", e.name, y.describe(v)))
			return
		}
	}
	values := map[string]cty.Value{}
	for _, v := range vars {
		if d := rejectSecret(v.name, y.rng(v.key)); d != nil {
			y.diags = append(y.diags, d)
			continue
		}
		if val, ok := y.value(v.value, 0); ok {
			values[v.name] = val
		}
	}
	for _, n := range names {
		if n == "" {
			y.errorAt(e.key, "Invalid host pattern", fmt.Sprintf("%q names no host.", e.name))
			continue
		}
		if n == "all" || n == "ungrouped" {
			y.errorAt(e.key, "Reserved name", fmt.Sprintf("%q cannot name a host.", n))
			continue
		}
		h := p.hosts[n]
		if h == nil {
			h = &rawHost{name: n, rng: rng, vars: map[string]cty.Value{}}
			p.hosts[n] = h
			p.b.hosts = append(p.b.hosts, h)
			// As Ansible: the port of a pattern counts where the host is
			// first declared.
			if port > 0 {
				h.vars["ansible_port"] = cty.NumberIntVal(int64(port))
			}
		}
		for k, v := range values {
			h.vars[k] = v
		}
		if !p.inGroup[g][n] {
			if p.inGroup[g] == nil {
				p.inGroup[g] = map[string]bool{}
			}
			p.inGroup[g][n] = true
			g.hosts = append(g.hosts, n)
		}
	}
}

// yamlFile is one YAML file being read (an inventory or a vars file),
// with what its diagnostics need: the path, and line starts to turn
// yaml's line:column into the byte offsets the snippet printer uses.
type yamlFile struct {
	path       string
	src        []byte
	lineStarts []int
	// budget bounds the nodes read through aliases: a few anchors
	// referring to each other can otherwise expand to billions.
	budget int
	diags  hcl.Diagnostics
}

// maxYAMLNodes bounds the values one YAML file expands to.
const maxYAMLNodes = 1 << 24

func newYAMLFile(path string, src []byte) *yamlFile {
	y := &yamlFile{path: path, src: src, lineStarts: []int{0}, budget: maxYAMLNodes}
	for i, c := range src {
		if c == '\n' {
			y.lineStarts = append(y.lineStarts, i+1)
		}
	}
	return y
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
var yamlErrName = regexp.MustCompile(`'([^']+)'`)

// decode parses the file's one document and returns its root node (nil
// for an empty file). Syntax errors become diagnostics at their line.
func (y *yamlFile) decode() *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(y.src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		y.syntaxError(err)
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		y.errorAt(&next, "More than one YAML document", "An inventory or vars file is one YAML document; this is a second one (after ---).")
		return nil
	} else if !errors.Is(err, io.EOF) {
		y.syntaxError(err)
		return nil
	}
	// What the file may expand to through aliases: many times what it
	// holds (<<: *defaults merged into every host), but not the billions
	// an alias of an alias of … makes.
	y.budget = min(max(16*countNodes(&doc), 1<<18), maxYAMLNodes)
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		return doc.Content[0]
	}
	return &doc
}

// countNodes counts the nodes of a tree without following aliases.
func countNodes(root *yaml.Node) int {
	n := 0
	stack := []*yaml.Node{root}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		stack = append(stack, top.Content...)
	}
	return n
}

func (y *yamlFile) syntaxError(err error) {
	msg := err.Error()
	line := 0
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		// yaml names the line where the enclosing block starts ("line 1:
		// did not find expected key" for a slip on line 40); the first
		// line whose prefix no longer parses is nearer the slip.
		if at := y.firstBadLine(line); at > line {
			line = at
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		// "unknown anchor 'x' referenced": point at the first *x or &x.
		if m := yamlErrName.FindStringSubmatch(msg); m != nil {
			for _, mark := range []string{"*", "&"} {
				if i := bytes.Index(y.src, []byte(mark+m[1])); i >= 0 {
					line = bytes.Count(y.src[:i], []byte("\n")) + 1
					break
				}
			}
		}
	}
	if line < 1 || line > len(y.lineStarts) {
		line = 1
	}
	y.diags = append(y.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid YAML",
		Detail: strings.ToUpper(msg[:1]) + msg[1:] + ".", Subject: rangePtr(y.lineRange(line, 1, 0))})
}

// firstBadLine finds, by bisection, the shortest prefix of the file
// (in lines, from line from on) that does not parse; 0 if none is found.
func (y *yamlFile) firstBadLine(from int) int {
	parses := func(lines int) bool {
		end := len(y.src)
		if lines < len(y.lineStarts) {
			end = y.lineStarts[lines]
		}
		dec := yaml.NewDecoder(bytes.NewReader(y.src[:end]))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); err != nil {
				return errors.Is(err, io.EOF)
			}
		}
	}
	lo, hi := max(from-1, 0), len(y.lineStarts) // lo parses (or is before the block), hi does not
	if parses(hi) {
		return 0
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if parses(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// rng is the range of a node: from its position to the end of its value
// on that line (a scalar), or to the end of the line.
func (y *yamlFile) rng(n *yaml.Node) hcl.Range {
	if n == nil {
		return y.lineRange(1, 1, 0)
	}
	width := 0
	if n.Kind == yaml.ScalarNode && !strings.Contains(n.Value, "\n") && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		width = utf8.RuneCountInString(n.Value)
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			width += 2
		}
	}
	if n.Kind == yaml.AliasNode {
		width = 1 + utf8.RuneCountInString(n.Value)
	}
	return y.lineRange(n.Line, n.Column, width)
}

// lineRange is line:col (col counted in characters, as yaml counts
// them), width characters wide; 0 means to the end of the line.
func (y *yamlFile) lineRange(line, col, width int) hcl.Range {
	if line < 1 {
		line = 1
	}
	if line > len(y.lineStarts) {
		line = len(y.lineStarts)
	}
	start := y.lineStarts[line-1]
	end := len(y.src)
	if line < len(y.lineStarts) {
		end = y.lineStarts[line] - 1
	}
	text := y.src[start:end]
	off := 0
	for c := 1; c < col && off < len(text); c++ {
		_, n := utf8.DecodeRune(text[off:])
		off += n
	}
	stop := len(text)
	if width > 0 {
		stop = off
		for c := 0; c < width && stop < len(text); c++ {
			_, n := utf8.DecodeRune(text[stop:])
			stop += n
		}
	}
	if stop < off {
		stop = off
	}
	return hcl.Range{Filename: y.path,
		Start: hcl.Pos{Line: line, Column: col, Byte: start + off},
		End:   hcl.Pos{Line: line, Column: col + utf8.RuneCount(text[off:stop]), Byte: start + stop}}
}

func (y *yamlFile) errorAt(n *yaml.Node, summary, detail string) {
	y.diags = append(y.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rangePtr(y.rng(n))})
}

func (y *yamlFile) warnAt(n *yaml.Node, summary, detail string) {
	y.diags = append(y.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail, Subject: rangePtr(y.rng(n))})
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// yamlEntry is one key: value of a mapping, after merge keys (<<).
type yamlEntry struct {
	key, value *yaml.Node
	// name is the key as text; isString says YAML reads it as a string
	// (not 1, true or ~).
	name     string
	isString bool
}

// entries lists a mapping's entries as Ansible's loader builds the dict:
// merge keys (<<: *anchor) first, under the mapping's own keys; a
// duplicate key warns and the last one wins, in the first one's place.
func (y *yamlFile) entries(n *yaml.Node) []yamlEntry {
	return y.entriesDepth(n, 0)
}

func (y *yamlFile) entriesDepth(n *yaml.Node, depth int) []yamlEntry {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var merged, own []yamlEntry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if y.spend() {
			return nil
		}
		if dk := deref(k); dk.Kind == yaml.ScalarNode && dk.Tag == "!!merge" && dk.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			if depth > MaxNesting {
				y.errorAt(k, "Nested too deeply", fmt.Sprintf("Merge keys (<<) are nested more than %d levels deep here.", MaxNesting))
				return nil
			}
			var subs []*yaml.Node
			switch v.Kind {
			case yaml.MappingNode:
				subs = []*yaml.Node{v}
			case yaml.SequenceNode:
				for _, s := range v.Content {
					subs = append(subs, s)
				}
			}
			for _, s := range subs {
				if deref(s).Kind != yaml.MappingNode {
					y.errorAt(k, "Invalid merge key", "<< takes a mapping or a list of mappings (<<: *anchor).")
					return nil
				}
			}
			// The first mapping listed wins over the later ones.
			for j := len(subs) - 1; j >= 0; j-- {
				merged = append(merged, y.entriesDepth(subs[j], depth+1)...)
			}
			continue
		}
		name, isString := y.keyText(k)
		own = append(own, yamlEntry{key: k, value: v, name: name, isString: isString})
	}
	seen := map[string]bool{}
	for _, e := range own {
		if seen[e.name] {
			y.warnAt(e.key, "Duplicate key", fmt.Sprintf("%q is given twice in this mapping; the last value is used.", e.name))
		}
		seen[e.name] = true
	}
	index := map[string]int{}
	out := make([]yamlEntry, 0, len(merged)+len(own))
	for _, e := range append(merged, own...) {
		if j, dup := index[e.name]; dup {
			out[j].key, out[j].value = e.key, e.value
			continue
		}
		index[e.name] = len(out)
		out = append(out, e)
	}
	return out
}

// spend counts one node against the file's budget and reports when it is
// exhausted (once).
func (y *yamlFile) spend() bool {
	y.budget--
	if y.budget == 0 {
		y.diags = append(y.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "YAML too large",
			Detail: "Its aliases expand the file to more values than runbook reads (aliases of aliases of …?).", Subject: rangePtr(y.lineRange(1, 1, 0))})
	}
	return y.budget <= 0
}

// keyText is a mapping key as a name: a string as written, any other
// scalar as Python's json writes the key (true, null, 10, 1.5).
func (y *yamlFile) keyText(k *yaml.Node) (string, bool) {
	k = deref(k)
	if k.Kind != yaml.ScalarNode {
		return k.Value, false
	}
	v, ok := y.scalar(k)
	if !ok {
		return k.Value, false
	}
	if s, isStr := v.(string); isStr {
		tag, _ := y.resolve(k)
		return s, tag == "!!str" || tag == "!unsafe"
	}
	name, err := jsonKey(v)
	if err != nil {
		return k.Value, false
	}
	return name, false
}

func (y *yamlFile) isNull(n *yaml.Node) bool {
	n = deref(n)
	if n == nil {
		return true
	}
	if n.Kind != yaml.ScalarNode {
		return false
	}
	tag, _ := y.resolve(n)
	return tag == "!!null"
}

func (y *yamlFile) isString(n *yaml.Node) bool {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		return false
	}
	tag, _ := y.resolve(n)
	return tag == "!!str" || tag == "!unsafe"
}

// truthy is Python's truth of the value: false for null, "", 0, false and
// empty collections.
func (y *yamlFile) truthy(n *yaml.Node) bool {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		return len(n.Content) > 0
	case yaml.ScalarNode:
		v, ok := y.scalar(n)
		if !ok {
			return true
		}
		switch x := v.(type) {
		case nil:
			return false
		case string:
			return x != ""
		case bool:
			return x
		case *big.Int:
			return x.Sign() != 0
		case float64:
			return x != 0
		}
	}
	return true
}

func (y *yamlFile) describe(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	tag, _ := y.resolve(n)
	switch tag {
	case "!!null":
		return "empty"
	case "!!bool":
		return "a boolean (" + n.Value + ")"
	case "!!int", "!!float":
		return "a number (" + n.Value + ")"
	}
	return fmt.Sprintf("a string (%q)", n.Value)
}

// YAML 1.1's implicit types, as PyYAML (Ansible's loader) resolves a
// plain scalar: yes/no/on/off are booleans, 0755 is octal, 1_000 and
// 1:20 (sexagesimal) are integers, 1e3 is a string but 1.0e+3 a float.
var (
	yamlBool  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	yamlFloat = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?` +
		`|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?` +
		`|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*` +
		`|[-+]?\.(?:inf|Inf|INF)` +
		`|\.(?:nan|NaN|NAN))$`)
	yamlInt = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+` +
		`|[-+]?0[0-7_]+` +
		`|[-+]?(?:0|[1-9][0-9_]*)` +
		`|[-+]?0x[0-9a-fA-F_]+` +
		`|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	yamlNull      = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	yamlTimestamp = regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]` +
		`|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
	yamlTimestampParts = regexp.MustCompile(`^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})` +
		`(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?` +
		`(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?$`)
)

// resolve is the tag of a scalar: its explicit tag, else !!str for a
// quoted or block scalar, else the YAML 1.1 implicit type of a plain one.
func (y *yamlFile) resolve(n *yaml.Node) (string, bool) {
	if n.Style&yaml.TaggedStyle != 0 {
		tag := n.Tag
		if t, ok := strings.CutPrefix(tag, "tag:yaml.org,2002:"); ok {
			tag = "!!" + t
		}
		return tag, true
	}
	if n.Kind != yaml.ScalarNode {
		return n.Tag, false
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return "!!str", false
	}
	s := n.Value
	switch {
	case yamlBool.MatchString(s):
		return "!!bool", false
	case yamlFloat.MatchString(s):
		return "!!float", false
	case yamlInt.MatchString(s):
		return "!!int", false
	case s == "<<":
		return "!!merge", false
	case yamlNull.MatchString(s):
		return "!!null", false
	case yamlTimestamp.MatchString(s):
		return "!!timestamp", false
	}
	return "!!str", false
}

// value turns a node into the cty value Ansible's loader would make of
// it, by the mapping INI values use too (ansibleToCty): mappings become
// objects, lists tuples, scalars typed as YAML 1.1 types them. ok is
// false when the value is refused (a diagnostic says why) and the
// variable is dropped.
func (y *yamlFile) value(n *yaml.Node, depth int) (cty.Value, bool) {
	g, ok := y.goValue(n, depth)
	if !ok {
		return cty.NilVal, false
	}
	v, err := ansibleToCty(g)
	if err != nil {
		y.errorAt(n, "Invalid value", err.Error()+".")
		return cty.NilVal, false
	}
	return v, true
}

// goValue is a node as the Go value ansibleToCty reads: nil, bool,
// *big.Int, float64, string, []any or map[string]any.
func (y *yamlFile) goValue(n *yaml.Node, depth int) (any, bool) {
	if n == nil {
		return nil, true
	}
	if depth > maxValueDepth {
		y.errorAt(n, "Nested too deeply", fmt.Sprintf("Values are nested more than %d levels deep here.", maxValueDepth))
		return nil, false
	}
	if y.spend() {
		return nil, false
	}
	orig := n
	n = deref(n)
	if n == nil {
		return nil, true
	}
	tag, explicit := y.resolve(n)
	switch tag {
	case "!vault", "!vault-encrypted":
		y.warnAt(orig, "Encrypted value ignored", "Values encrypted with ansible-vault are not read: runbook takes secrets from environment variables (runbook_become_password_env and the like name them).")
		return nil, false
	}
	if explicit {
		switch tag {
		case "!unsafe", "!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!map", "!!seq", "!!set", "!!omap", "!!pairs", "!!binary":
		default:
			y.errorAt(orig, "Unknown YAML tag", fmt.Sprintf("The tag %s is not one Ansible's loader knows.", tag))
			return nil, false
		}
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, e := range y.entriesDepth(n, depth) {
			v, ok := y.goValue(e.value, depth+1)
			if !ok {
				return nil, false
			}
			if tag == "!!set" {
				v = nil
			}
			m[e.name] = v
		}
		return m, true
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, ok := y.goValue(c, depth+1)
			if !ok {
				return nil, false
			}
			list = append(list, v)
		}
		return list, true
	}
	v, ok := y.scalar(n)
	if !ok {
		y.errorAt(orig, "Invalid value", fmt.Sprintf("%q cannot be read as %s.", n.Value, tag))
	}
	return v, ok
}

// scalar is the value of a scalar node: nil, bool, *big.Int, float64 or
// string.
func (y *yamlFile) scalar(n *yaml.Node) (any, bool) {
	tag, _ := y.resolve(n)
	s := n.Value
	switch tag {
	case "!!null":
		return nil, true
	case "!!bool":
		switch strings.ToLower(s) {
		case "yes", "true", "on":
			return true, true
		case "no", "false", "off":
			return false, true
		}
		return nil, false
	case "!!int":
		return yamlIntValue(s)
	case "!!float":
		return yamlFloatValue(s)
	case "!!timestamp":
		// A date or datetime, which Ansible prints in ISO form.
		return yamlTimestampText(s)
	}
	// !!str, !unsafe (a string Ansible will not template: runbook never
	// templates inventory values), !!binary kept as its text.
	return s, true
}

// yamlIntValue is PyYAML's construct_yaml_int.
func yamlIntValue(s string) (any, bool) {
	s = strings.ReplaceAll(s, "_", "")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := new(big.Int)
	ok := false
	switch {
	case s == "0":
		ok = true
	case strings.HasPrefix(s, "0b"):
		_, ok = n.SetString(s[2:], 2)
	case strings.HasPrefix(s, "0x"):
		_, ok = n.SetString(s[2:], 16)
	case strings.HasPrefix(s, "0"):
		_, ok = n.SetString(s[1:], 8)
	case strings.Contains(s, ":"):
		ok = true
		for _, part := range strings.Split(s, ":") {
			d, err := strconv.Atoi(part)
			if err != nil {
				return nil, false
			}
			n.Mul(n, big.NewInt(60))
			n.Add(n, big.NewInt(int64(d)))
		}
	default:
		_, ok = n.SetString(s, 10)
	}
	if !ok {
		return nil, false
	}
	if neg {
		n.Neg(n)
	}
	return n, true
}

// yamlFloatValue is PyYAML's construct_yaml_float.
func yamlFloatValue(s string) (any, bool) {
	s = strings.ToLower(strings.ReplaceAll(s, "_", ""))
	sign := 1.0
	if s != "" && (s[0] == '-' || s[0] == '+') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	switch {
	case s == ".inf":
		return math.Inf(int(sign)), true
	case s == ".nan":
		return math.NaN(), true
	case strings.Contains(s, ":"):
		f := 0.0
		parts := strings.Split(s, ":")
		for i, part := range parts {
			d, err := strconv.ParseFloat(part, 64)
			if err != nil || (i < len(parts)-1 && strings.Contains(part, ".")) {
				return nil, false
			}
			f = f*60 + d
		}
		return sign * f, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, false
	}
	return sign * f, true
}

// yamlTimestampText is a YAML timestamp as Ansible prints the date or
// datetime PyYAML makes of it (Python's isoformat): 2002-12-14,
// 2001-12-14T21:59:43.100000-05:00.
func yamlTimestampText(s string) (any, bool) {
	m := yamlTimestampParts.FindStringSubmatch(s)
	if m == nil {
		return nil, false
	}
	num := func(i int) int { n, _ := strconv.Atoi(m[i]); return n }
	year, month, day := num(1), num(2), num(3)
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return nil, false
	}
	date := fmt.Sprintf("%04d-%02d-%02d", year, month, day)
	if m[4] == "" {
		return date, true
	}
	hour, minute, second := num(4), num(5), num(6)
	if hour > 23 || minute > 59 || second > 59 {
		return nil, false
	}
	out := fmt.Sprintf("%sT%02d:%02d:%02d", date, hour, minute, second)
	if frac := m[7]; frac != "" {
		if len(frac) > 6 {
			frac = frac[:6]
		}
		frac += strings.Repeat("0", 6-len(frac))
		if frac != "000000" {
			out += "." + frac
		}
	}
	switch {
	case m[9] != "":
		h, mi := num(10), 0
		if m[11] != "" {
			mi = num(11)
		}
		if h > 23 || mi > 59 {
			return nil, false
		}
		out += fmt.Sprintf("%s%02d:%02d", m[9], h, mi)
	case m[8] == "Z":
		out += "+00:00"
	}
	return out, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// looksYAML says whether a file without a telling extension is YAML: its
// first line that is not blank or a comment is "---" or "key:" (or
// "key: value"), which no INI line is.
func looksYAML(src []byte) bool {
	for _, line := range strings.Split(string(src), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		return t == "---" || strings.HasPrefix(t, "--- ") || yamlKeyLine.MatchString(t)
	}
	return false
}

var yamlKeyLine = regexp.MustCompile(`^["']?[^\s\[\]#;=:"']+["']?:(\s|$)`)
