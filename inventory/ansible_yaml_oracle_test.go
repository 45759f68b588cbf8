package inventory

// The oracle for Ansible inventories is Ansible: every inventory under
// testdata/ansible-yaml/ is read by runbook and by `ansible-inventory -i
// SOURCE --list`, and they must agree on the hosts, each host's groups,
// its connection (address, port, user, key) and every other variable,
// typed (a number is not a string, true is not "yes").

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-hpc/runbook/engine/lang/tforacle"
)

// yamlOracleCases are the corpus: a directory of testdata/ansible-yaml and
// the -i argument in it (a file, a directory, or, for a host list, the
// file holding the list).
var yamlOracleCases = []struct {
	dir, source string
	hostList    bool
}{
	{dir: "basic", source: "hosts.yml"},
	{dir: "group_vars", source: "hosts.yml"},
	{dir: "types", source: "hosts.yml"},
	{dir: "priority", source: "hosts.yml"},
	{dir: "membership", source: "hosts.yml"},
	{dir: "ports", source: "hosts.yml"},
	{dir: "json", source: "hosts.json"},
	{dir: "noext", source: "hosts"},
	{dir: "dir", source: "inventory"},
	{dir: "ini", source: "hosts.ini"},
	{dir: "hostlist", source: "list", hostList: true},
}

const yamlOracleDir = "testdata/ansible-yaml"

// ansibleInventory is the ansible-inventory to compare with
// ($RUNBOOK_ANSIBLE_INVENTORY, else the one on PATH); without one the
// test is skipped, or fails under RUNBOOK_REQUIRE_ORACLES.
func yamlOracleBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RUNBOOK_ANSIBLE_INVENTORY"); p != "" {
		return p
	}
	if p, err := exec.LookPath("ansible-inventory"); err == nil {
		return p
	}
	if v := os.Getenv(tforacle.RequireEnv); v != "" && v != "0" {
		t.Fatal(tforacle.RequireEnv + " is set and there is no ansible-inventory: install ansible-core (make deps), or set RUNBOOK_ANSIBLE_INVENTORY")
	}
	t.Skip("no ansible-inventory (ansible-core; `make deps` installs it, " + tforacle.RequireEnv + "=1 makes this a failure)")
	return ""
}

func TestAnsibleYAMLOracle(t *testing.T) {
	bin := yamlOracleBin(t)
	// Every directory of the corpus is a case: a new one cannot be
	// forgotten here.
	entries, err := os.ReadDir(yamlOracleDir)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range yamlOracleCases {
		listed[c.dir] = true
	}
	for _, e := range entries {
		if e.IsDir() && !listed[e.Name()] {
			t.Errorf("%s/%s is not in yamlOracleCases", yamlOracleDir, e.Name())
		}
	}
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		t.Logf("oracle: %s", strings.SplitN(string(out), "\n", 2)[0])
	}
	for _, c := range yamlOracleCases {
		t.Run(c.dir, func(t *testing.T) {
			t.Parallel()
			source := filepath.Join(yamlOracleDir, c.dir, c.source)
			if abs, err := filepath.Abs(source); err == nil {
				source = abs
			}
			if c.hostList {
				b, err := os.ReadFile(source)
				if err != nil {
					t.Fatal(err)
				}
				source = strings.TrimSpace(string(b))
			}
			want := yamlOracleRun(t, bin, source)
			opts := testOpts(t)
			opts.SSHConfigPath = "none"
			inv, diags := Load(source, opts)
			if diags.HasErrors() {
				t.Fatalf("runbook: %v", diags)
			}
			yamlOracleCompare(t, inv, want, opts.User)
		})
	}
}

// yamlOracleList is what ansible-inventory --list says.
type yamlOracleList struct {
	groups   map[string]yamlOracleGroup
	hostvars map[string]map[string]any
}

type yamlOracleGroup struct {
	Hosts    []string `json:"hosts"`
	Children []string `json:"children"`
}

// yamlOracleRun runs the oracle away from any user configuration:
// its own HOME and ansible.cfg, an empty working directory, no ANSIBLE_*
// from the environment. ANSIBLE_CONFIG=/dev/null would be shorter, but
// ansible-core 2.14 refuses it ("Unsupported configuration file
// extension"). A source it cannot parse is an error, not a warning.
func yamlOracleRun(t *testing.T, bin, source string) yamlOracleList {
	t.Helper()
	home := t.TempDir()
	cfg := filepath.Join(home, "ansible.cfg")
	if err := os.WriteFile(cfg, []byte("[inventory]\nunparsed_is_failed = true\nany_unparsed_is_failed = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-i", source, "--list")
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ANSIBLE_") && !strings.HasPrefix(kv, "HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home, "ANSIBLE_CONFIG="+cfg, "ANSIBLE_NOCOLOR=1", "PYTHONDONTWRITEBYTECODE=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ansible-inventory -i %s --list: %v\n%s", source, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("ansible-inventory says:\n%s", stderr.String())
	}
	// Python's json writes NaN and ±Infinity bare; JSON has no such thing.
	out := yamlOraclePySpecials.ReplaceAll(stdout.Bytes(), []byte(`$1"__py_$2"$3`))
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("ansible-inventory output: %v\n%s", err, stdout.String())
	}
	list := yamlOracleList{groups: map[string]yamlOracleGroup{}}
	for k, v := range raw {
		if k == "_meta" {
			var meta struct {
				Hostvars map[string]json.RawMessage `json:"hostvars"`
			}
			if err := json.Unmarshal(v, &meta); err != nil {
				t.Fatal(err)
			}
			list.hostvars = map[string]map[string]any{}
			for h, hv := range meta.Hostvars {
				dec := json.NewDecoder(bytes.NewReader(hv))
				dec.UseNumber()
				var vars map[string]any
				if err := dec.Decode(&vars); err != nil {
					t.Fatal(err)
				}
				list.hostvars[h] = vars
			}
			continue
		}
		var g yamlOracleGroup
		if err := json.Unmarshal(v, &g); err != nil {
			t.Fatal(err)
		}
		list.groups[k] = g
	}
	return list
}

var yamlOraclePySpecials = regexp.MustCompile(`([:\[,]\s*)(NaN|-?Infinity)(\s*[,\]\}])`)

// members is the hosts of group g and its descendants, in Ansible's view.
func (l yamlOracleList) members(g string, seen map[string]bool) map[string]bool {
	out := map[string]bool{}
	if seen == nil {
		seen = map[string]bool{}
	}
	if seen[g] {
		return out
	}
	seen[g] = true
	for _, h := range l.groups[g].Hosts {
		out[h] = true
	}
	for _, c := range l.groups[g].Children {
		for h := range l.members(c, seen) {
			out[h] = true
		}
	}
	return out
}

// yamlOracleConnVars are the variables runbook turns into connection
// settings (and so does not keep as host vars).
var yamlOracleConnVars = []string{
	"ansible_host", "ansible_ssh_host", "ansible_port", "ansible_ssh_port", "ansible_user", "ansible_ssh_user",
	"ansible_ssh_private_key_file", "ansible_private_key_file", "ansible_connection",
	"ansible_ssh_common_args", "ansible_ssh_extra_args",
}

func yamlOracleCompare(t *testing.T, inv *Inventory, want yamlOracleList, defaultUser string) {
	t.Helper()
	// Hosts: every host of a group, and every host with variables.
	wantHosts := map[string]bool{}
	for h := range want.hostvars {
		wantHosts[h] = true
	}
	for _, g := range want.groups {
		for _, h := range g.Hosts {
			wantHosts[h] = true
		}
	}
	var got, exp []string
	for _, h := range inv.Hosts {
		got = append(got, h.Name)
	}
	for h := range wantHosts {
		exp = append(exp, h)
	}
	sort.Strings(got)
	sort.Strings(exp)
	if !yamlOracleEqual(got, exp) {
		t.Fatalf("hosts:\n runbook %q\n ansible %q", got, exp)
	}
	// Groups (those with members: --list leaves out empty ones).
	memberOf := map[string][]string{}
	for g := range want.groups {
		if g == "all" {
			continue
		}
		for h := range want.members(g, nil) {
			memberOf[h] = append(memberOf[h], g)
		}
	}
	for _, h := range inv.Hosts {
		wantGroups := memberOf[h.Name]
		sort.Strings(wantGroups)
		if !yamlOracleEqual(h.Groups, wantGroups) {
			t.Errorf("host %s: groups\n runbook %q\n ansible %q", h.Name, h.Groups, wantGroups)
		}
		vars := map[string]any{}
		for k, v := range want.hostvars[h.Name] {
			vars[k] = v
		}
		yamlOracleCompareConn(t, h, vars, defaultUser)
		for _, k := range yamlOracleConnVars {
			delete(vars, k)
		}
		gotVars := map[string]any{}
		for k, v := range h.Vars {
			gotVars[k] = yamlOracleGo(v)
		}
		for _, k := range yamlOracleKeys(yamlOracleUnion(vars, gotVars)) {
			w, inWant := vars[k]
			g, inGot := gotVars[k]
			switch {
			case !inWant:
				t.Errorf("host %s: runbook has var %s = %s, ansible has none", h.Name, k, yamlOracleShow(g))
			case !inGot:
				t.Errorf("host %s: ansible has var %s = %s, runbook has none", h.Name, k, yamlOracleShow(w))
			case !yamlOracleSame(g, w):
				t.Errorf("host %s: var %s\n runbook %s\n ansible %s", h.Name, k, yamlOracleShow(g), yamlOracleShow(w))
			}
		}
	}
}

// yamlOracleCompareConn: what Ansible would connect to, runbook connects to.
func yamlOracleCompareConn(t *testing.T, h *Host, vars map[string]any, defaultUser string) {
	t.Helper()
	text := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := vars[k]; ok {
				return fmt.Sprint(v)
			}
		}
		return ""
	}
	address := firstNonEmpty(text("ansible_host", "ansible_ssh_host"), h.Name)
	port := firstNonEmpty(text("ansible_port", "ansible_ssh_port"), "22")
	user := firstNonEmpty(text("ansible_user", "ansible_ssh_user"), defaultUser)
	if h.Address != address || fmt.Sprint(h.Port) != port || h.User != user {
		t.Errorf("host %s: runbook connects to %s@%s:%d, ansible to %s@%s:%s", h.Name, h.User, h.Address, h.Port, user, address, port)
	}
	if key := text("ansible_ssh_private_key_file", "ansible_private_key_file"); key != "" {
		if len(h.IdentityFiles) != 1 || h.IdentityFiles[0] != key {
			t.Errorf("host %s: keys %q, ansible %q", h.Name, h.IdentityFiles, key)
		}
	}
}

// yamlOracleSame compares a runbook value with Ansible's, both decoded from
// JSON: numbers by value (cty has one number type: 3.0 is 3), Ansible's
// {"__ansible_unsafe": s} as s, NaN as runbook holds it ("NaN").
func yamlOracleSame(got, want any) bool {
	if m, ok := want.(map[string]any); ok && len(m) == 1 {
		if s, ok := m["__ansible_unsafe"]; ok {
			want = s
		}
	}
	switch w := want.(type) {
	case string:
		switch w {
		case "__py_Infinity", "__py_-Infinity":
			n, ok := got.(json.Number)
			return ok && (n.String() == "Infinity") == (w == "__py_Infinity") && strings.Contains(n.String(), "Infinity")
		case "__py_NaN":
			return got == "NaN"
		}
		return got == w
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return false
		}
		a, _, err1 := big.ParseFloat(g.String(), 10, 256, big.ToNearestEven)
		b, _, err2 := big.ParseFloat(w.String(), 10, 256, big.ToNearestEven)
		return err1 == nil && err2 == nil && a.Cmp(b) == 0
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !yamlOracleSame(g[i], w[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !yamlOracleSame(gv, wv) {
				return false
			}
		}
		return true
	}
	return got == want
}

// yamlOracleGo is a cty value as JSON decoding with UseNumber gives
// Ansible's (±Infinity as the numbers "Infinity", "-Infinity").
func yamlOracleGo(v cty.Value) any {
	if v.IsNull() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Bool:
		return v.True()
	case t == cty.Number:
		f := v.AsBigFloat()
		if f.IsInf() {
			if f.Sign() < 0 {
				return json.Number("-Infinity")
			}
			return json.Number("Infinity")
		}
		return json.Number(f.Text('g', -1))
	case t.IsObjectType() || t.IsMapType():
		m := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			m[k.AsString()] = yamlOracleGo(e)
		}
		return m
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		list := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			list = append(list, yamlOracleGo(e))
		}
		return list
	}
	return v.GoString()
}

func yamlOracleShow(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return fmt.Sprintf("%s (%T)", b, v)
}

func yamlOracleUnion(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func yamlOracleKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func yamlOracleEqual(a, b []string) bool {
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
