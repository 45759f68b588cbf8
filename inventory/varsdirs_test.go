package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Precedence, lowest first: all's inventory vars, group_vars/all, the
// other groups' inventory vars, their group_vars files, the host's
// inventory vars, host_vars/HOST; deeper groups over their parents.
func TestVarsDirsPrecedence(t *testing.T) {
	dir := t.TempDir()
	inv := writeFile(t, dir, "hosts.yml", `
all:
  vars: {v1: all-inv, v2: all-inv, v3: all-inv}
  children:
    parent:
      vars: {v3: parent-inv, v4: parent-inv}
      children:
        child:
          vars: {v4: child-inv, v5: child-inv}
          hosts:
            h1: {v6: host-inv, v7: host-inv}
`)
	writeFile(t, dir, "group_vars/all.yml", "v2: all-file\nv3: all-file\n")
	writeFile(t, dir, "group_vars/parent.yml", "v5: parent-file\n")
	writeFile(t, dir, "group_vars/child/a.yml", "v6: child-file\n")
	writeFile(t, dir, "host_vars/h1.yaml", "v7: host-file\nansible_user: fromfile\n")
	h := mustLoad(t, inv, testOpts(t)).Host("h1")
	want := map[string]string{
		"v1": "all-inv",
		"v2": "all-file",    // group_vars/all over all's vars
		"v3": "parent-inv",  // a group's inventory vars over group_vars/all
		"v4": "child-inv",   // the child over its parent
		"v5": "parent-file", // any group_vars file over any group's inventory vars
		"v6": "host-inv",    // the host's own vars over every group's
		"v7": "host-file",   // host_vars over the host's inventory vars
	}
	for k, v := range want {
		if h.Vars[k] != cty.StringVal(v) {
			t.Errorf("%s = %#v, want %q", k, h.Vars[k], v)
		}
	}
	if h.User != "fromfile" {
		t.Errorf("ansible_user from host_vars: user %q", h.User)
	}
}

// Ansible reads the first of NAME, NAME.yml, NAME.yaml, NAME.json; a
// directory is read whole, sorted, recursively, skipping hidden files,
// backups and other extensions.
func TestVarsDirsFiles(t *testing.T) {
	dir := t.TempDir()
	inv := writeFile(t, dir, "hosts", "[web]\nw1\n")
	writeFile(t, dir, "group_vars/web/10.yml", "x: 10\norder: 10\n")
	writeFile(t, dir, "group_vars/web/02.yaml", "order: 2\ny: 2\n")
	writeFile(t, dir, "group_vars/web/sub/zz", "order: zz\n")
	writeFile(t, dir, "group_vars/web/.hidden.yml", "order: hidden\n")
	writeFile(t, dir, "group_vars/web/old.yml~", "order: backup\n")
	writeFile(t, dir, "group_vars/web/notes.txt", "order: txt\n")
	writeFile(t, dir, "group_vars/web.yml", "shadowed: true\n")
	writeFile(t, dir, "group_vars/ungrouped.yml", "never: true\n")
	writeFile(t, dir, "group_vars/all.yml", "j: [1, 2]\n")
	writeFile(t, dir, "group_vars/all.json", `{"not_read": true}`)
	writeFile(t, dir, "host_vars/w1.json", `{"h": 1}`)
	h := mustLoad(t, inv, testOpts(t)).Host("w1")
	if h.Vars["order"] != cty.StringVal("zz") || !h.Vars["x"].RawEquals(cty.NumberIntVal(10)) || !h.Vars["y"].RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("group_vars/web/: %#v", h.Vars)
	}
	for _, k := range []string{"shadowed", "never", "not_read"} {
		if _, ok := h.Vars[k]; ok {
			t.Errorf("%s was read", k)
		}
	}
	if !h.Vars["j"].RawEquals(cty.TupleVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2)})) {
		t.Errorf("group_vars/all.yml: %#v", h.Vars["j"])
	}
	if !h.Vars["h"].RawEquals(cty.NumberIntVal(1)) {
		t.Errorf("host_vars/w1.json: %#v", h.Vars["h"])
	}
}

// An HCL inventory is runbook's own: Ansible's directories beside it are
// not read. Parse, which has only the content, reads none either.
func TestVarsDirsNotForHCL(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "group_vars/all.yml", "x: 1\n")
	h := mustLoad(t, writeFile(t, dir, "inventory.hcl", `host "a" {}`), testOpts(t)).Host("a")
	if _, ok := h.Vars["x"]; ok {
		t.Error("group_vars read for an HCL inventory")
	}
	inv, diags := Parse(filepath.Join(dir, "hosts.yml"), []byte("all:\n  hosts: {a: }\n"), testOpts(t))
	if diags.HasErrors() || len(inv.Host("a").Vars) != 0 {
		t.Errorf("Parse read group_vars: %v %v", diags, inv.Host("a").Vars)
	}
}

func TestVarsDirsDiagnostics(t *testing.T) {
	for _, c := range []struct {
		name, file, src, summary string
		line                     int
		warning                  bool
	}{
		{"list", "group_vars/all.yml", "# c\n- a\n- b\n", "Invalid variables file", 2, false},
		{"syntax", "host_vars/h.yml", "a: 1\nb: [\n", "Invalid YAML", 2, false},
		{"password", "group_vars/all.yml", "x: 1\nansible_ssh_pass: hunter2\n", "Password in inventory ignored", 2, true},
		{"vault", "group_vars/all.yml", "$ANSIBLE_VAULT;1.1;AES256\n3131\n", "Encrypted file ignored", 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			inv := writeFile(t, dir, "hosts.yml", "all:\n  hosts: {h: }\n")
			p := writeFile(t, dir, c.file, c.src)
			_, diags := Load(inv, testOpts(t))
			var d *hcl.Diagnostic
			for _, x := range diags {
				if x.Summary == c.summary {
					d = x
				}
			}
			if d == nil {
				t.Fatalf("no %q in %v", c.summary, diags)
			}
			if (d.Severity == hcl.DiagWarning) != c.warning || d.Subject == nil || d.Subject.Filename != p || d.Subject.Start.Line != c.line {
				t.Errorf("%v at %v, want %s:%d", d.Severity, d.Subject, p, c.line)
			}
		})
	}
	// group_vars that is a file, not a directory: a warning.
	dir := t.TempDir()
	inv := writeFile(t, dir, "hosts.yml", "all:\n  hosts: {h: }\n")
	writeFile(t, dir, "group_vars", "x: 1\n")
	if _, diags := Load(inv, testOpts(t)); diags.HasErrors() || len(diags) != 1 || diags[0].Severity != hcl.DiagWarning {
		t.Errorf("group_vars as a file: %v", diags)
	}
}

// A big cluster in YAML, with group_vars/ and host_vars/, loads fast:
// host_vars/ is listed once, not looked up per host.
func TestYAMLBigCluster(t *testing.T) {
	dir := t.TempDir()
	inv := writeFile(t, dir, "hosts.yml", "all:\n  children:\n    cluster:\n      children:\n        compute:\n          hosts:\n            node[00001:10000]:\n        gpu:\n          hosts:\n            gpu[1:500]:\n")
	writeFile(t, dir, "group_vars/compute.yml", "cpus: 64\n")
	for i := 1; i <= 20; i++ {
		writeFile(t, dir, "host_vars/node0000"+string(rune('0'+i%10))+".yml", "x: 1\n")
	}
	start := time.Now()
	i := mustLoad(t, inv, testOpts(t))
	if len(i.Hosts) != 10500 || !i.Host("node09999").Vars["cpus"].RawEquals(cty.NumberIntVal(64)) {
		t.Fatalf("%d hosts", len(i.Hosts))
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("loading 10,500 hosts took %s", took)
	}
}

// A directory given to -i: its files make one inventory, in sorted
// order, skipping what Ansible skips there.
func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "01.yml", "web:\n  hosts:\n    w1: {x: a, y: a}\n")
	writeFile(t, dir, "02.yaml", "web:\n  hosts:\n    w1: {x: b}\n    w2:\n  vars: {g: 1}\n")
	writeFile(t, dir, "hosts", "[db]\nd1\n")
	writeFile(t, dir, "skipped.ini", "[nope]\nn1\n")
	writeFile(t, dir, "README.md", "# no\n")
	writeFile(t, dir, ".hidden.yml", "all:\n  hosts: {hidden: }\n")
	writeFile(t, dir, "sub/more.yml", "all:\n  hosts: {s1: }\n")
	writeFile(t, dir, "group_vars/web.yml", "from_dir: true\n")
	writeFile(t, dir, "sub/group_vars/all.yml", "from_sub: true\n")
	inv := mustLoad(t, dir, testOpts(t))
	var names []string
	for _, h := range inv.Hosts {
		names = append(names, h.Name)
	}
	if got := strings.Join(names, " "); got != "w1 w2 d1 s1" {
		t.Fatalf("hosts %q", got)
	}
	w1 := inv.Host("w1")
	if w1.Vars["x"] != cty.StringVal("b") || w1.Vars["y"] != cty.StringVal("a") || w1.Vars["from_dir"] != cty.True || !w1.Vars["g"].RawEquals(cty.NumberIntVal(1)) {
		t.Errorf("w1 %#v", w1.Vars)
	}
	if _, ok := inv.Host("s1").Vars["from_sub"]; ok {
		t.Error("group_vars of a subdirectory read")
	}
	abs, _ := filepath.Abs(dir)
	if inv.Path != abs {
		t.Errorf("Path %q", inv.Path)
	}

	for _, c := range []struct{ name, file, src, summary string }{
		{"only ini", "hosts.ini", "[a]\nb\n", "No inventory files"},
		{"hcl", "inventory.hcl", `host "a" {}`, "HCL inventory in a directory"},
		{"script", "inv.py", "#!/usr/bin/env python3\nprint('{}')\n", "Inventory script"},
	} {
		d := t.TempDir()
		writeFile(t, d, c.file, c.src)
		if _, diags := Load(d, testOpts(t)); !diags.HasErrors() || !strings.Contains(diags.Error(), c.summary) {
			t.Errorf("%s: %v", c.name, diags)
		}
	}
}

// -u and --private-key replace every SSH host's user and keys; local
// hosts and jump hops keep theirs.
func TestOverrides(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "id_x", "key")
	inv := writeFile(t, dir, "hosts.yml", `
all:
  hosts:
    bastion: {ansible_user: jumper}
    ctl1:
      ansible_user: koopark
      ansible_ssh_private_key_file: /keys/ctl
      ansible_ssh_common_args: -J bastion
    here: {ansible_connection: local}
`)
	opts := testOpts(t)
	opts.RemoteUser, opts.PrivateKey = "alice", filepath.Join(dir, "id_x")
	i := mustLoad(t, inv, opts)
	ctl := i.Host("ctl1")
	if ctl.User != "alice" || len(ctl.IdentityFiles) != 1 || ctl.IdentityFiles[0] != opts.PrivateKey {
		t.Errorf("ctl1 %s %q", ctl.User, ctl.IdentityFiles)
	}
	if len(ctl.Jump) != 1 || ctl.Jump[0].User != "jumper" {
		t.Errorf("the hop took the override: %+v", ctl.Jump)
	}
	if here := i.Host("here"); here.User == "alice" {
		t.Error("a local host took -u")
	}
}

// A saved plan's inventory digest covers every file the inventory is
// read from; for a single file it is the file's SHA-256, as before.
func TestSourceDigest(t *testing.T) {
	dir := t.TempDir()
	inv := writeFile(t, dir, "hosts.yml", "all:\n  hosts: {h: }\n")
	src, sum, err := SourceDigest(inv)
	file := sha256.Sum256([]byte("all:\n  hosts: {h: }\n"))
	if err != nil || src != inv || sum != hex.EncodeToString(file[:]) {
		t.Fatalf("single file: %s %s %v", src, sum, err)
	}
	gv := writeFile(t, dir, "group_vars/all.yml", "x: 1\n")
	_, withVars, _ := SourceDigest(inv)
	if withVars == sum {
		t.Fatal("group_vars/ not in the digest")
	}
	if err := os.WriteFile(gv, []byte("x: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, changed, _ := SourceDigest(inv); changed == withVars {
		t.Error("a changed group_vars file leaves the digest as it was")
	}
	if _, d1, err := SourceDigest(dir); err != nil || d1 == "" {
		t.Errorf("directory: %v", err)
	}
	if src, d, err := SourceDigest("a,b,"); err != nil || src != "a,b," || d == "" {
		t.Errorf("host list: %q %q %v", src, d, err)
	}
	hcl := writeFile(t, t.TempDir(), "inventory.hcl", `host "a" {}`)
	writeFile(t, filepath.Dir(hcl), "group_vars/all.yml", "x: 1\n")
	hsum := sha256.Sum256([]byte(`host "a" {}`))
	if _, d, _ := SourceDigest(hcl); d != hex.EncodeToString(hsum[:]) {
		t.Error("an HCL inventory's digest covers group_vars/, which it does not read")
	}
}
