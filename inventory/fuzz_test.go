package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Seeds: the inventories of this package's tests, the CLI's bad-input
// corpus, and the files under testdata/fuzz/FuzzParse* (which also keep
// any crasher found).
//
//	go test -run '^$' -fuzz FuzzParseHCL -fuzztime 10s ./inventory/
//	go test -run '^$' -fuzz FuzzParseINI -fuzztime 10s ./inventory/

func fuzzSeeds(f *testing.F, glob string, extra ...string) {
	paths, err := filepath.Glob(filepath.Join("..", "cmd", "runbook", "testdata", "badinput", "inventories", glob))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 64<<10 { // the fuzzer mutates small inputs best
			continue
		}
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// fuzzOpts isolates a fuzz run from the real ~/.ssh and user.
func fuzzOpts(f *testing.F) Options {
	home := f.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		f.Fatal(err)
	}
	return Options{Home: home, User: "me", SSHConfigPath: "none"}
}

// checkParsed asserts what every inventory that parses without error
// guarantees to the CLI: each host named, reachable (a valid port) or
// local, selectable, and every error carries a file:line.
func checkParsed(t *testing.T, inv *Inventory, diags []string, err bool) {
	t.Helper()
	if err {
		return
	}
	if inv == nil {
		t.Fatalf("no error and no inventory: %v", diags)
	}
	for _, h := range inv.Hosts {
		if h.Name == "" {
			t.Fatal("a host without a name")
		}
		if !h.Local && (h.Port < 1 || h.Port > 65535) {
			t.Fatalf("host %q: port %d", h.Name, h.Port)
		}
		if inv.Host(h.Name) != h {
			t.Fatalf("host %q cannot be looked up by name", h.Name)
		}
		for _, j := range h.Jump {
			if j == nil || j.Name == h.Name {
				t.Fatalf("host %q jumps through itself", h.Name)
			}
		}
	}
	if _, e := inv.Select([]string{"all"}); e != nil && len(inv.Hosts) > 0 {
		t.Fatalf("Select(all): %v", e)
	}
	_ = inv.GroupNames()
}

func fuzzParse(t *testing.T, opts Options, name string, src []byte) {
	inv, diags := Parse(name, src, opts)
	var texts []string
	for _, d := range diags {
		texts = append(texts, d.Summary)
		if d.Severity == hcl.DiagError && d.Subject == nil && d.Summary != "Unsupported inventory format" {
			t.Errorf("error %q (%s) has no file:line", d.Summary, d.Detail)
		}
	}
	checkParsed(t, inv, texts, diags.HasErrors())
}

func FuzzParseHCL(f *testing.F) {
	fuzzSeeds(f, "*.hcl", testbedInventory,
		`host "a" { jump = ["b"] }`+"\n"+`host "b" { jump = ["a"] }`,
		`host "a" { vars = { x = [[[{a = "${1}"}]]] } }`,
		`group "g" { children = ["g"] }`,
	)
	opts := fuzzOpts(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		fuzzParse(t, opts, "fuzz.hcl", src)
	})
}

func FuzzParseINI(f *testing.F) {
	fuzzSeeds(f, "*.ini", iniInventory,
		"[g]\nn[01:03]-r[a:c] ansible_port=22\n",
		"[g]\nh ansible_ssh_common_args='-o ProxyJump=j'\n[g:vars]\nx=1\n",
		"[a:children]\nb\n[b:children]\na\n",
	)
	opts := fuzzOpts(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		fuzzParse(t, opts, "fuzz.ini", src)
	})
}

// TestLimits covers what keeps a wrong or hostile inventory from eating
// memory or the stack: file size, nesting, range products, long lines.
func TestLimits(t *testing.T) {
	opts := testOpts(t)
	deep := func(n int) string {
		return "host \"a\" {\n  vars = { x = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + " }\n}\n"
	}
	for _, c := range []struct {
		name, src, summary string
		line               int
	}{
		{"deep.hcl", deep(100000), "Nested too deeply", 2},
		{"deep.hcl", deep(MaxNesting + 1), "Nested too deeply", 2},
		{"product.ini", "[g]\n\nn[0:9999]-[0:9999]\n", "Invalid host pattern", 3},
		{"long.ini", "[g]\nh1\nh2 x=" + strings.Repeat("y", 2<<20) + "\nh3\n", "Line too long", 3},
		{"huge.ini", "[g]\n" + strings.Repeat("# padding\n", MaxFileBytes/10+1), "Inventory file too large", 0},
	} {
		_, diags := Parse(c.name, []byte(c.src), opts)
		if !diags.HasErrors() || diags[0].Summary != c.summary {
			t.Errorf("%s: got %v, want %q", c.name, diags, c.summary)
			continue
		}
		if c.line > 0 && (diags[0].Subject == nil || diags[0].Subject.Start.Line != c.line) {
			t.Errorf("%s: diagnostic at %v, want line %d", c.name, diags[0].Subject, c.line)
		}
	}
	if _, diags := Parse("ok.hcl", []byte(deep(MaxNesting-4)), opts); diags.HasErrors() {
		t.Errorf("nesting below the limit refused: %v", diags)
	}
	if inv, diags := Parse("ok.ini", []byte("[g]\nn[1:100]-[a:j]\n"), opts); diags.HasErrors() || len(inv.Hosts) != 1000 {
		t.Errorf("a 1000-host range product: %v", diags)
	}
	// A big cluster is not slow to load (membership was once computed
	// per host and group: 10,000 hosts took 9 s).
	start := time.Now()
	if inv, diags := Parse("big.ini", []byte("[compute]\nnode[00001:10000]\n[gpu]\ngpu[1:500]\n[cluster:children]\ncompute\ngpu\n"), opts); diags.HasErrors() || len(inv.Hosts) != 10500 {
		t.Errorf("10,500 hosts: %v", diags)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("loading 10,500 hosts took %s", took)
	}
	// A path that never ends (a device, a pipe) is read up to the cap.
	_, diags := Load("/dev/zero", opts)
	if !diags.HasErrors() || diags[0].Summary != "Inventory file too large" {
		t.Errorf("/dev/zero: %v", diags)
	}
}
