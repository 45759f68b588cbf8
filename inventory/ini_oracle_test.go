package inventory

// ansible-inventory as the oracle for INI inventories: each file of
// testdata/ansible-ini is read by `ansible-inventory -i FILE --list` and
// by runbook, and the two must agree on the hosts, each group's hosts
// and children, how each host is reached (address, port, user, key,
// local) and its typed variables. A file Ansible refuses, runbook must
// refuse too, at the line Ansible names.
//
// A corpus file says what runbook does differently by design in comment
// lines:
//
//	# runbook: error SUBSTRING     Ansible reads it, runbook refuses it
//	# runbook: warning SUBSTRING   runbook reads it the same, and warns
//
// RUNBOOK_ANSIBLE_INI_CORPUS=DIR compares every file of DIR too (for
// instance the inventories of Ansible's own integration tests, which
// stay out of this repository).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-hpc/runbook/engine/lang/tforacle"
)

// iniOracle runs ansible-inventory away from the user's Ansible
// configuration: its own HOME and empty ansible.cfg (2.14 refuses
// ANSIBLE_CONFIG=/dev/null), no ANSIBLE_* from the environment, only the
// ini plugin, and a source it cannot parse an error, not a warning.
type iniOracle struct {
	bin string
	dir string
	env []string
	// connVars are the ssh connection plugin's variables for each option
	// runbook compares, in ansible-doc's order: the last one set wins.
	connVars map[string][]string
}

// requireINIOracle returns the oracle, or skips the test when there is no
// ansible-inventory ($RUNBOOK_ANSIBLE_INVENTORY, else PATH); under
// RUNBOOK_REQUIRE_ORACLES that is a failure (make deps installs
// ansible-core).
func requireINIOracle(t *testing.T) *iniOracle {
	t.Helper()
	bin := os.Getenv("RUNBOOK_ANSIBLE_INVENTORY")
	if bin == "" {
		bin, _ = exec.LookPath("ansible-inventory")
	}
	if bin == "" {
		if v := os.Getenv(tforacle.RequireEnv); v != "" && v != "0" {
			t.Fatal(tforacle.RequireEnv + " is set and there is no ansible-inventory: install ansible-core (make deps), or set RUNBOOK_ANSIBLE_INVENTORY")
		}
		t.Skip("no ansible-inventory (ansible-core; `make deps` installs it, " + tforacle.RequireEnv + "=1 makes this a failure)")
	}
	o, err := newINIOracle(bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func newINIOracle(bin, dir string) (*iniOracle, error) {
	cfg := filepath.Join(dir, "ansible.cfg")
	if err := os.WriteFile(cfg, nil, 0o600); err != nil {
		return nil, err
	}
	o := &iniOracle{bin: bin, dir: dir}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ANSIBLE_") && !strings.HasPrefix(kv, "HOME=") {
			o.env = append(o.env, kv)
		}
	}
	o.env = append(o.env, "HOME="+dir, "ANSIBLE_HOME="+filepath.Join(dir, ".ansible"), "ANSIBLE_CONFIG="+cfg,
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "tmp"), "ANSIBLE_NOCOLOR=1", "ANSIBLE_INVENTORY_ENABLED=ini",
		"ANSIBLE_INVENTORY_UNPARSED_FAILED=true", "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true")
	doc := exec.Command(filepath.Join(filepath.Dir(bin), "ansible-doc"), "-t", "connection", "-j", "ssh")
	doc.Dir, doc.Env = dir, o.env
	out, err := doc.Output()
	if err != nil {
		return nil, fmt.Errorf("ansible-doc -t connection -j ssh: %v", err)
	}
	var d map[string]struct {
		Doc struct {
			Options map[string]struct {
				Vars []struct{ Name string }
			}
		}
	}
	if err := json.Unmarshal(out, &d); err != nil {
		return nil, fmt.Errorf("ansible-doc output: %v", err)
	}
	o.connVars = map[string][]string{}
	for _, opt := range []string{"host", "port", "remote_user", "private_key_file"} {
		for _, v := range d["ssh"].Doc.Options[opt].Vars {
			if strings.HasPrefix(v.Name, "ansible_") { // not inventory_hostname, delegated_vars[...]
				o.connVars[opt] = append(o.connVars[opt], v.Name)
			}
		}
		if len(o.connVars[opt]) == 0 {
			return nil, fmt.Errorf("ansible-doc lists no variables for ssh's %s option", opt)
		}
	}
	return o, nil
}

// iniView is what ansible-inventory --list says of an inventory, and
// what the comparison makes of runbook's.
type iniView struct {
	// groups holds the groups that have hosts or children (Ansible
	// leaves out empty ones); of "all", only its children.
	groups   map[string]iniViewGroup
	hostVars map[string]map[string]any
}

type iniViewGroup struct {
	Hosts    []string
	Children []string
}

// list reads file; rejected is Ansible's error when it refuses the file.
// err is ansible-inventory failing otherwise: never a verdict on the
// inventory, so never read as "both refuse".
func (o *iniOracle) list(file string) (view *iniView, rejected string, err error) {
	cmd := exec.Command(o.bin, "-i", file, "--list")
	cmd.Dir, cmd.Env = o.dir, o.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := stderr.String()
		if _, exit := err.(*exec.ExitError); !exit || strings.Contains(msg, "Unexpected Exception") || !strings.Contains(msg, "ERROR!") {
			return nil, "", fmt.Errorf("ansible-inventory failed, not on the inventory (fix the corpus or the oracle): %v\n%s", err, msg)
		}
		if i := strings.Index(msg, "with ini plugin:"); i >= 0 {
			msg = msg[i+len("with ini plugin:"):]
			if j := strings.Index(msg, "[WARNING]"); j >= 0 {
				msg = msg[:j]
			}
		}
		return nil, strings.Join(strings.Fields(msg), " "), nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		return nil, "", fmt.Errorf("ansible-inventory output: %v\n%s", err, stdout.String())
	}
	view = &iniView{groups: map[string]iniViewGroup{}, hostVars: map[string]map[string]any{}}
	for name, msg := range raw {
		if name == "_meta" {
			var meta struct{ Hostvars map[string]map[string]any }
			if err := decodeJSONNumbers(msg, &meta); err != nil {
				return nil, "", err
			}
			for h, vars := range meta.Hostvars {
				for k, v := range vars {
					vars[k] = normalizeJSON(v)
				}
				view.hostVars[h] = vars
			}
			continue
		}
		var g iniViewGroup
		if err := decodeJSONNumbers(msg, &g); err != nil {
			return nil, "", err
		}
		view.groups[name] = g
	}
	return view, "", nil
}

func decodeJSONNumbers(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// normalizeJSON makes a decoded JSON value comparable with ctyToJSON's:
// text as cty holds it (NFC), numbers as jsonNumber.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case string:
		return cty.StringVal(x).AsString()
	case json.Number:
		return jsonNumber(string(x))
	case []any:
		for i := range x {
			x[i] = normalizeJSON(x[i])
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[cty.StringVal(k).AsString()] = normalizeJSON(e)
		}
		return out
	}
	return v
}

// jsonNumber is a number as written: integers compare exactly, the rest
// as float64 (Python's float).
type jsonNumber string

func (n jsonNumber) equal(m jsonNumber) bool {
	a, _, err1 := big.ParseFloat(string(n), 10, 4096, big.ToNearestEven)
	b, _, err2 := big.ParseFloat(string(m), 10, 4096, big.ToNearestEven)
	if err1 != nil || err2 != nil {
		return n == m
	}
	if a.IsInt() && b.IsInt() {
		return a.Cmp(b) == 0
	}
	fa, _ := a.Float64()
	fb, _ := b.Float64()
	return fa == fb
}

// ctyToJSON is a cty value as JSON holds it.
func ctyToJSON(v cty.Value) any {
	if v.IsNull() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		// A byte that is not UTF-8 is U+FFFD to runbook; ansible-inventory
		// prints the lone surrogate it holds for it as "?".
		return strings.ReplaceAll(v.AsString(), "\uFFFD", "?")
	case t == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			i, _ := bf.Int(nil)
			return jsonNumber(i.String())
		}
		f, _ := bf.Float64()
		return jsonNumber(pyFloatRepr(f))
	case t == cty.Bool:
		return v.True()
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, ctyToJSON(e))
		}
		return out
	case t.IsObjectType() || t.IsMapType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = ctyToJSON(e)
		}
		return out
	}
	return fmt.Sprintf("<%s>", t.FriendlyName())
}

func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case jsonNumber:
		y, ok := b.(jsonNumber)
		return ok && x.equal(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			if f, ok := y[k]; !ok || !jsonEqual(e, f) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// runbookINIView is runbook's inventory in ansible-inventory's terms.
func runbookINIView(inv *Inventory) *iniView {
	v := &iniView{groups: map[string]iniViewGroup{}, hostVars: map[string]map[string]any{}}
	isChild := map[string]bool{}
	for _, g := range inv.Groups {
		if g.Name != "all" {
			for _, c := range g.Children {
				isChild[c] = true
			}
		}
	}
	var top []string
	for _, name := range inv.GroupNames() {
		if name == "all" {
			continue
		}
		g := inv.Groups[name]
		// Ansible makes every group without a parent a child of all.
		if !isChild[name] || contains(inv.Groups["all"].Children, name) {
			top = append(top, name)
		}
		if len(g.Hosts) > 0 || len(g.Children) > 0 {
			v.groups[name] = iniViewGroup{Hosts: g.Hosts, Children: g.Children}
		}
	}
	v.groups["all"] = iniViewGroup{Children: top}
	for _, h := range inv.Hosts {
		vars := map[string]any{}
		for k, val := range h.Vars {
			vars[k] = ctyToJSON(val)
		}
		v.hostVars[h.Name] = vars
	}
	return v
}

// runbookConsumed are the variables runbook turns into connection
// settings (or ignores, for passwords) instead of keeping in host.vars.
func runbookConsumed(k string) bool {
	if _, secret := secretKeys[k]; secret || strings.HasPrefix(k, "runbook_") {
		return true
	}
	for _, l := range [][]string{connHostVars, connPortVars, connUserVars, connKeyVars} {
		if contains(l, k) {
			return true
		}
	}
	switch k {
	case "ansible_connection", "ansible_ssh_common_args", "ansible_ssh_extra_args":
		return true
	}
	return false
}

var (
	corpusDirective = regexp.MustCompile(`(?m)^[#;][ \t]*runbook:[ \t]*(error|warning)[ \t]+(.+?)[ \t]*$`)
	ansibleErrLine  = regexp.MustCompile(`\.ini:(\d+): `)
)

// iniCase is one inventory and Ansible's reading of it.
type iniCase struct {
	name     string
	src      []byte
	file     string // the copy both read, alone in its directory (no group_vars/ beside it)
	strict   bool   // a corpus file: every runbook warning must be declared
	want     *iniView
	rejected string
	err      error
	done     chan struct{}
}

// compareINIWithAnsible holds runbook's reading of c against Ansible's.
func compareINIWithAnsible(t *testing.T, o *iniOracle, c *iniCase) {
	t.Helper()
	<-c.done
	if c.err != nil {
		t.Fatal(c.err)
	}
	src, file, want, rejected := c.src, c.file, c.want, c.rejected
	opts := testOpts(t)
	opts.SSHConfigPath = "none"
	var wantErrs, wantWarns []string
	for _, m := range corpusDirective.FindAllSubmatch(src, -1) {
		if string(m[1]) == "error" {
			wantErrs = append(wantErrs, string(m[2]))
		} else {
			wantWarns = append(wantWarns, string(m[2]))
		}
	}

	inv, diags := Load(file, opts)

	var errs, warns hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, d)
		} else {
			warns = append(warns, d)
		}
	}
	text := func(ds hcl.Diagnostics) string {
		var b strings.Builder
		for _, d := range ds {
			fmt.Fprintf(&b, "\n  %s", d.Error())
		}
		return b.String()
	}
	for _, w := range wantWarns {
		if !strings.Contains(text(warns), w) {
			t.Errorf("runbook should warn %q; its warnings:%s", w, text(warns))
		}
	}
	if rejected != "" {
		if len(wantErrs) > 0 {
			t.Errorf("Ansible refuses this inventory too (%s): drop its \"# runbook: error\" line", rejected)
		}
		if len(errs) == 0 {
			t.Fatalf("Ansible refuses this inventory (%s); runbook reads it", rejected)
		}
		// Where Ansible names the line, runbook's first error is there.
		if m := ansibleErrLine.FindStringSubmatch(rejected); m != nil && errs[0].Subject != nil {
			if got := fmt.Sprint(errs[0].Subject.Start.Line); got != m[1] {
				t.Errorf("Ansible refuses line %s (%s); runbook's first error is on line %s:%s", m[1], rejected, got, text(errs))
			}
		}
		t.Logf("both refuse it.\n  Ansible: %s\n  runbook:%s", rejected, text(errs))
		return
	}
	if len(wantErrs) > 0 {
		for _, e := range wantErrs {
			if !strings.Contains(text(errs), e) {
				t.Errorf("runbook should refuse this inventory with %q (by design); its errors:%s", e, text(errs))
			}
		}
		return
	}
	if len(errs) > 0 {
		t.Fatalf("Ansible reads this inventory; runbook refuses it:%s", text(errs))
	}
	if len(warns) > 0 && len(wantWarns) == 0 && c.strict {
		t.Errorf("runbook warns where Ansible reads the file as is (say so with \"# runbook: warning\"):%s", text(warns))
	}

	got := runbookINIView(inv)
	// Groups: each one's direct hosts and children, in Ansible's order.
	for _, g := range unionKeys(want.groups, got.groups) {
		w, r := want.groups[g], got.groups[g]
		if !reflect.DeepEqual(nilIfEmpty(w.Hosts), nilIfEmpty(r.Hosts)) {
			t.Errorf("group %s: hosts\n  Ansible %q\n  runbook %q", g, w.Hosts, r.Hosts)
		}
		wc, rc := nilIfEmpty(w.Children), nilIfEmpty(r.Children)
		if g == "all" {
			// all adopts the groups without a parent in no particular order.
			wc, rc = sortedCopy(wc), sortedCopy(rc)
		}
		if !reflect.DeepEqual(wc, rc) {
			t.Errorf("group %s: children\n  Ansible %q\n  runbook %q", g, w.Children, r.Children)
		}
	}
	// Hosts: the same ones, in the same order where a group lists them,
	// reached the same way, with the same variables.
	ansibleHosts := map[string]bool{}
	for _, g := range want.groups {
		for _, h := range g.Hosts {
			ansibleHosts[h] = true
		}
	}
	for h := range want.hostVars {
		ansibleHosts[h] = true
	}
	for _, h := range inv.Hosts {
		if !ansibleHosts[h.Name] {
			t.Errorf("runbook has host %q, Ansible does not", h.Name)
		}
		delete(ansibleHosts, h.Name)
	}
	for h := range ansibleHosts {
		t.Errorf("Ansible has host %q, runbook does not", h)
	}
	for _, h := range inv.Hosts {
		all := want.hostVars[h.Name]
		o.checkConnection(t, h, all, opts)
		wantVars := map[string]any{}
		for k, v := range all {
			if !runbookConsumed(k) {
				wantVars[k] = v
			}
		}
		gotVars := got.hostVars[h.Name]
		for _, k := range unionKeys(wantVars, gotVars) {
			wv, inW := wantVars[k]
			gv, inG := gotVars[k]
			switch {
			case !inW:
				t.Errorf("host %s: runbook has var %s = %#v, Ansible has none", h.Name, k, gv)
			case !inG:
				t.Errorf("host %s: Ansible has var %s = %#v, runbook has none", h.Name, k, wv)
			case !jsonEqual(wv, gv):
				t.Errorf("host %s: var %s\n  Ansible %#v\n  runbook %#v", h.Name, k, wv, gv)
			}
		}
	}
}

// checkConnection: the address, port, user and key Ansible's ssh plugin
// would use (the last of an option's variables that is set; else the
// inventory name, port 22, the current user), and local for
// ansible_connection=local.
func (o *iniOracle) checkConnection(t *testing.T, h *Host, vars map[string]any, opts Options) {
	t.Helper()
	last := func(opt string) (string, bool) {
		names := o.connVars[opt]
		for i := len(names) - 1; i >= 0; i-- {
			switch v := vars[names[i]].(type) {
			case string:
				return v, true
			case jsonNumber:
				return string(v), true
			case bool:
				return map[bool]string{true: "True", false: "False"}[v], true
			}
		}
		return "", false
	}
	addr, port, user := h.Name, "22", opts.User
	if v, ok := last("host"); ok {
		addr = v
	}
	if v, ok := last("port"); ok {
		port = v
	}
	if v, ok := last("remote_user"); ok {
		user = v
	}
	conn, _ := vars["ansible_connection"].(string)
	local := strings.TrimPrefix(strings.TrimPrefix(conn, "ansible.builtin."), "ansible.legacy.") == "local"
	if h.Local != local {
		t.Errorf("host %s: runbook local = %v; Ansible's ansible_connection is %q", h.Name, h.Local, conn)
	}
	if h.Address != addr || fmt.Sprint(h.Port) != port || h.User != user {
		t.Errorf("host %s: runbook connects to %s@%s:%d, Ansible to %s@%s:%s", h.Name, h.User, h.Address, h.Port, user, addr, port)
	}
	if key, ok := last("private_key_file"); ok {
		key = expandTilde(key, opts.Home)
		if !filepath.IsAbs(key) {
			key = filepath.Join(filepath.Dir(h.DeclRange.Filename), key)
		}
		if !reflect.DeepEqual(h.IdentityFiles, []string{key}) {
			t.Errorf("host %s: runbook's key %q, Ansible's %q", h.Name, h.IdentityFiles, key)
		}
	}
}

func unionKeys[V any](a, b map[string]V) []string {
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	return keys(set)
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// TestINIMatchesAnsible holds every inventory of testdata/ansible-ini
// against ansible-inventory. Each call takes about a second, mostly
// Python starting: they run a few at a time, more than GOMAXPROCS
// subtests would, while the comparisons wait for theirs.
func TestINIMatchesAnsible(t *testing.T) {
	o := requireINIOracle(t)
	files, err := filepath.Glob(filepath.Join("testdata", "ansible-ini", "*.ini"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("the corpus has %d files", len(files))
	}
	strict := len(files)
	if extra := os.Getenv("RUNBOOK_ANSIBLE_INI_CORPUS"); extra != "" {
		more, _ := filepath.Glob(filepath.Join(extra, "*"))
		files = append(files, more...)
	}
	dir := t.TempDir()
	sem := make(chan struct{}, max(4, 2*runtime.NumCPU()))
	var cases []*iniCase
	for i, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := &iniCase{name: filepath.Base(f), src: src, strict: i < strict, done: make(chan struct{}),
			file: filepath.Join(dir, fmt.Sprint(i), "hosts.ini")}
		if err := os.MkdirAll(filepath.Dir(c.file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c.file, src, 0o600); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
		go func() {
			sem <- struct{}{}
			defer func() { <-sem; close(c.done) }()
			c.want, c.rejected, c.err = o.list(c.file)
		}()
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { compareINIWithAnsible(t, o, c) })
	}
}
