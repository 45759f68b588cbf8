package inventory

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// testOpts isolates a test from the real ~/.ssh and user.
func testOpts(t *testing.T) Options {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	return Options{Home: home, User: "me"}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, path string, opts Options) *Inventory {
	t.Helper()
	inv, diags := Load(path, opts)
	if diags.HasErrors() {
		t.Fatalf("Load: %v", diags)
	}
	return inv
}

const testbedInventory = `
# like /tmp/runbook-testbed/inventory.hcl
host "ctl1" {
  address       = "127.0.0.1"
  port          = 2222
  user          = "koopark"
  identity_file = "/tmp/runbook-testbed/ssh/id_ed25519"
  known_hosts   = "/tmp/runbook-testbed/ssh/known_hosts"
  vars = { job_user = "koopark", has_nvidia_smi = false }
}

host "ctl1-rbadmin" {
  address             = "127.0.0.1"
  port                = 2222
  user                = "rbadmin"
  identity_file       = ["keys/id_a", "~/keys/id_b"]
  become_password_env = "TESTBED_RBADMIN_SUDO_PASSWORD"
  vars = { role = "host" }
}

host "gpu01" {
  vars = { role = "host-gpu01" }
}

group "slurm_controller" {
  hosts = ["ctl1"]
  vars  = { role = "controller", tier = "ctl" }
}

group "gpu" {
  hosts = ["gpu01"]
  vars  = { tier = "gpu" }
}

group "cluster" {
  hosts    = ["ctl1-rbadmin"]
  children = ["slurm_controller", "gpu"]
  vars     = { role = "cluster", tier = "cluster", site = "lab" }
}

group "all" {
  vars = { site = "default", global = 1 }
}
`

func TestHCLInventory(t *testing.T) {
	opts := testOpts(t)
	dir := t.TempDir()
	p := writeFile(t, dir, "inventory.hcl", testbedInventory)
	inv := mustLoad(t, p, opts)

	if got := names(inv.Hosts); !reflect.DeepEqual(got, []string{"ctl1", "ctl1-rbadmin", "gpu01"}) {
		t.Fatalf("hosts %v", got)
	}
	ctl := inv.Host("ctl1")
	if ctl.Address != "127.0.0.1" || ctl.Port != 2222 || ctl.User != "koopark" ||
		!reflect.DeepEqual(ctl.IdentityFiles, []string{"/tmp/runbook-testbed/ssh/id_ed25519"}) ||
		!reflect.DeepEqual(ctl.KnownHosts, []string{"/tmp/runbook-testbed/ssh/known_hosts"}) || ctl.Local {
		t.Fatalf("ctl1 = %+v", ctl)
	}
	if ctl.Describe() != "ssh koopark@127.0.0.1:2222" {
		t.Fatalf("Describe = %q", ctl.Describe())
	}
	// Vars: all < cluster (parent) < slurm_controller (child) < host.
	wantVars := map[string]cty.Value{
		"job_user": cty.StringVal("koopark"), "has_nvidia_smi": cty.False,
		"role": cty.StringVal("controller"), "tier": cty.StringVal("ctl"),
		"site": cty.StringVal("lab"), "global": cty.NumberIntVal(1),
	}
	if !varsEqual(ctl.Vars, wantVars) {
		t.Fatalf("ctl1 vars = %#v", ctl.Vars)
	}
	if !reflect.DeepEqual(ctl.Groups, []string{"cluster", "slurm_controller"}) {
		t.Fatalf("groups %v", ctl.Groups)
	}

	adm := inv.Host("ctl1-rbadmin")
	if !reflect.DeepEqual(adm.IdentityFiles, []string{filepath.Join(dir, "keys/id_a"), filepath.Join(opts.Home, "keys/id_b")}) {
		t.Fatalf("identity files (relative to the inventory, ~ expanded): %v", adm.IdentityFiles)
	}
	if adm.BecomePasswordEnv != "TESTBED_RBADMIN_SUDO_PASSWORD" || adm.Vars["role"].AsString() != "host" {
		t.Fatalf("rbadmin = %+v", adm)
	}
	// Defaults for a bare host: name as address, port 22, current user,
	// ~/.ssh/known_hosts, no identity files (none exist in the fake home).
	gpu := inv.Host("gpu01")
	if gpu.Address != "gpu01" || gpu.Port != 22 || gpu.User != "me" || len(gpu.IdentityFiles) != 0 ||
		!reflect.DeepEqual(gpu.KnownHosts, []string{filepath.Join(opts.Home, ".ssh", "known_hosts")}) {
		t.Fatalf("gpu01 defaults = %+v", gpu)
	}
	if !reflect.DeepEqual(inv.Groups["ungrouped"].Hosts, []string(nil)) {
		t.Fatalf("ungrouped = %v", inv.Groups["ungrouped"].Hosts)
	}
}

func TestDefaultIdentityFiles(t *testing.T) {
	opts := testOpts(t)
	writeFile(t, opts.Home, ".ssh/id_rsa", "x")
	writeFile(t, opts.Home, ".ssh/id_ed25519", "x")
	inv := mustLoad(t, writeFile(t, t.TempDir(), "i.hcl", `host "a" {}`), opts)
	want := []string{filepath.Join(opts.Home, ".ssh/id_ed25519"), filepath.Join(opts.Home, ".ssh/id_rsa")}
	if got := inv.Host("a").IdentityFiles; !reflect.DeepEqual(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
}

func TestHCLJump(t *testing.T) {
	opts := testOpts(t)
	p := writeFile(t, t.TempDir(), "inv.hcl", `
host "outer" {
  address = "203.0.113.1"
  user    = "gw"
}
host "bastion" {
  address = "10.0.0.1"
  user    = "jump"
  jump    = "outer"
}
host "node1" {
  address = "10.0.0.5"
  user    = "admin"
  jump    = "bastion"
}
host "node2" {
  address = "10.0.0.6"
  jump    = ["ops@10.9.9.9:2200", "bastion"]
}
`)
	inv := mustLoad(t, p, opts)
	n1 := inv.Host("node1")
	if got := names(n1.Jump); !reflect.DeepEqual(got, []string{"outer", "bastion"}) {
		t.Fatalf("node1 chain %v", got)
	}
	if n1.Describe() != "ssh admin@10.0.0.5:22 via outer, bastion" {
		t.Fatalf("Describe = %q", n1.Describe())
	}
	n2 := inv.Host("node2")
	if len(n2.Jump) != 3 || n2.Jump[0].Address != "10.9.9.9" || n2.Jump[0].Port != 2200 || n2.Jump[0].User != "ops" {
		t.Fatalf("node2 chain %+v", n2.Jump)
	}
	cfg, err := n2.SSHConfig(ConnectOptions{})
	if err != nil || len(cfg.Jump) != 3 || cfg.Jump[2].Name != "bastion" || cfg.Jump[2].User != "jump" {
		t.Fatalf("SSHConfig jump: %+v %v", cfg.Jump, err)
	}

	_, diags := Parse("cyc.hcl", []byte(`
host "a" {
  jump = "b"
}
host "b" {
  jump = "a"
}
`), opts)
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "jump cycle") {
		t.Fatalf("jump cycle: %v", diags)
	}
}

func TestHCLDiagnostics(t *testing.T) {
	opts := testOpts(t)
	cases := []struct {
		name, src, want string
		line            int
	}{
		{"unknown attribute", "host \"a\" {\n  adress = \"x\"\n}\n", "Unsupported argument", 2},
		{"unknown block", "hots \"a\" {}\n", "Unsupported block type", 1},
		{"duplicate host", "host \"a\" {}\n\nhost \"a\" {}\n", "Duplicate host", 3},
		{"missing host", "host \"a\" {}\ngroup \"g\" {\n  hosts = [\"a\", \"b\"]\n}\n", `lists host "b"`, 3},
		{"missing child", "group \"g\" {\n  children = [\"nope\"]\n}\n", "Unknown child group", 2},
		{"cycle", "group \"a\" {\n  children = [\"b\"]\n}\ngroup \"b\" {\n  children = [\"a\"]\n}\n", "a -> b -> a", 0},
		{"bad port", "host \"a\" {\n  port = 70000\n}\n", "Invalid port", 2},
		{"bad type", "host \"a\" {\n  user = [\"x\"]\n}\n", "must be a string", 2},
		{"syntax", "host \"a\" {\n", "", 0},
		{"reserved", "host \"all\" {}\n", "Reserved name", 1},
		{"name clash", "host \"x\" {}\ngroup \"x\" {}\n", "both a host and a group", 2},
		{"typo hint", "host \"ctl1\" {}\ngroup \"g\" {\n  hosts = [\"ctl2\"]\n}\n", `Did you mean "ctl1"?`, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, diags := Parse("inv.hcl", []byte(c.src), opts)
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			if !strings.Contains(diags.Error(), c.want) {
				t.Fatalf("diags %q lack %q", diags.Error(), c.want)
			}
			for _, d := range diags {
				if d.Subject == nil || !strings.HasSuffix(d.Subject.Filename, "inv.hcl") {
					t.Fatalf("diagnostic without file position: %v", d)
				}
			}
			if c.line > 0 && diags[0].Subject.Start.Line != c.line {
				t.Fatalf("line %d, want %d (%v)", diags[0].Subject.Start.Line, c.line, diags)
			}
		})
	}
}

const iniInventory = `# Ansible-style
jumpbox ansible_host=203.0.113.9 ansible_user=gw

[controllers]
ctl1 ansible_host=127.0.0.1 ansible_port=2222 ansible_user=koopark ansible_ssh_private_key_file=/k/id  # the head node
ctl2:2200 ansible_host=10.0.0.2 ansible_become_password=hunter2 weight=3 ratio=0.5 flag=True name="two words"

[gpu]
gpu[01:03] ansible_ssh_common_args='-o ProxyJump=jumpbox'

[local]
localhost ansible_connection=local

; group vars are strings
[gpu:vars]
gres=gpu:2
ansible_user=gpuadmin

[cluster:children]
controllers
gpu

[cluster:vars]
site=lab
runbook_become_password_env=SUDO_PW

[all:vars]
ansible_user=default
site=none
`

func TestINIInventory(t *testing.T) {
	opts := testOpts(t)
	p := writeFile(t, t.TempDir(), "hosts", iniInventory)
	inv, diags := Load(p, opts)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, "ansible_become_password is ignored") || diags[0].Subject.Start.Line != 6 {
		t.Fatalf("want one warning for the password on line 6, got %v", diags)
	}
	if got := names(inv.Hosts); !reflect.DeepEqual(got, []string{"jumpbox", "ctl1", "ctl2", "gpu01", "gpu02", "gpu03", "localhost"}) {
		t.Fatalf("hosts %v", got)
	}
	ctl1 := inv.Host("ctl1")
	if ctl1.Address != "127.0.0.1" || ctl1.Port != 2222 || ctl1.User != "koopark" || ctl1.IdentityFiles[0] != "/k/id" || ctl1.BecomePasswordEnv != "SUDO_PW" {
		t.Fatalf("ctl1 = %+v", ctl1)
	}
	for k := range ctl1.Vars {
		if strings.HasPrefix(k, "ansible_") || strings.HasPrefix(k, "runbook_") {
			t.Fatalf("connection var %s left in vars", k)
		}
	}
	ctl2 := inv.Host("ctl2")
	if ctl2.Port != 2200 || ctl2.User != "default" {
		t.Fatalf("ctl2 = %+v", ctl2)
	}
	if _, leaked := ctl2.Vars["ansible_become_password"]; leaked {
		t.Fatal("password kept in vars")
	}
	want := map[string]cty.Value{"weight": cty.NumberIntVal(3), "ratio": cty.NumberFloatVal(0.5), "flag": cty.True,
		"name": cty.StringVal("two words"), "site": cty.StringVal("lab")}
	if !varsEqual(ctl2.Vars, want) {
		t.Fatalf("ctl2 vars %#v", ctl2.Vars)
	}
	g2 := inv.Host("gpu02")
	if g2.User != "gpuadmin" || g2.Vars["gres"].AsString() != "gpu:2" || names(g2.Jump)[0] != "jumpbox" || g2.Jump[0].Address != "203.0.113.9" {
		t.Fatalf("gpu02 = %+v jump %+v", g2, g2.Jump)
	}
	if !inv.Host("localhost").Local || inv.Host("localhost").Describe() != "local" {
		t.Fatal("ansible_connection=local")
	}
	if got := inv.Groups["ungrouped"].Hosts; !reflect.DeepEqual(got, []string{"jumpbox"}) {
		t.Fatalf("ungrouped %v", got)
	}
	sel, err := inv.Select([]string{"cluster"})
	if err != nil || !reflect.DeepEqual(names(sel), []string{"ctl1", "ctl2", "gpu01", "gpu02", "gpu03"}) {
		t.Fatalf("cluster = %v %v", names(sel), err)
	}
}

func TestINIDiagnostics(t *testing.T) {
	opts := testOpts(t)
	for _, c := range []struct{ src, want string }{
		{"[g\nhost\n", "no closing ]"},
		{"[g:weird]\n", "expected [group]"},
		{"[g]\nh foo\n", "expected key=value"},
		{"[g]\nh x='open\n", "unterminated quote"},
		{"[g]\nn[01:100]\n", "differ in width"},
		{"[g]\nh ansible_port=abc\n", "not a port"},
		{"[p:children]\nmissing\n", "not defined"},
		{"[p:vars]\nx=1\n", "not defined"},
	} {
		_, diags := Parse("inv.ini", []byte(c.src), opts)
		if !diags.HasErrors() || !strings.Contains(diags.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, diags, c.want)
		}
	}
	// A range that counts down is no host in Ansible: the same, and said.
	inv, diags := Parse("inv.ini", []byte("[g]\nn[3:1]\n"), opts)
	if diags.HasErrors() || len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || len(inv.Hosts) != 0 {
		t.Errorf("n[3:1] should be no host and a warning: %v", diags)
	}
}

func TestSSHConfigMerge(t *testing.T) {
	opts := testOpts(t)
	writeFile(t, opts.Home, ".ssh/config", `
Host ctl1
  HostName 10.1.2.3
  Port 2022
  User cfguser
  IdentityFile ~/.ssh/ctl_key
  IdentityFile %d/.ssh/%h_%r
  UserKnownHostsFile ~/.ssh/kh_a ~/.ssh/kh_b
  StrictHostKeyChecking accept-new

Host node*
  ProxyJump ops@gate:2201
  User nodeuser

Host gate
  HostName 192.0.2.10
  IdentityFile ~/.ssh/gate_key

Host *
  User fallback
`)
	p := writeFile(t, t.TempDir(), "inv.hcl", `
host "ctl1" {}
host "ctl1-override" {
  address = "ctl1"
  user    = "koopark"
  port    = 2222
  identity_file = "/explicit"
}
host "node7" {}
host "node8" {
  jump = []
}
host "other" {}
`)
	inv := mustLoad(t, p, opts)
	ctl := inv.Host("ctl1")
	h := opts.Home
	if ctl.Address != "10.1.2.3" || ctl.Port != 2022 || ctl.User != "cfguser" ||
		!reflect.DeepEqual(ctl.IdentityFiles, []string{h + "/.ssh/ctl_key", h + "/.ssh/10.1.2.3_cfguser"}) ||
		!reflect.DeepEqual(ctl.KnownHosts, []string{h + "/.ssh/kh_a", h + "/.ssh/kh_b"}) ||
		ctl.HostKeyPolicy != transport.HostKeyAcceptNew {
		t.Fatalf("ctl1 from ssh_config: %+v", ctl)
	}
	ov := inv.Host("ctl1-override")
	if ov.Address != "10.1.2.3" || ov.User != "koopark" || ov.Port != 2222 || !reflect.DeepEqual(ov.IdentityFiles, []string{"/explicit"}) {
		t.Fatalf("inventory must win: %+v", ov)
	}
	n7 := inv.Host("node7")
	if n7.User != "nodeuser" || len(n7.Jump) != 1 {
		t.Fatalf("node7 = %+v", n7)
	}
	gate := n7.Jump[0]
	if gate.Address != "192.0.2.10" || gate.Port != 2201 || gate.User != "ops" || !reflect.DeepEqual(gate.IdentityFiles, []string{h + "/.ssh/gate_key"}) {
		t.Fatalf("hop from ProxyJump + ssh_config: %+v", gate)
	}
	if len(inv.Host("node8").Jump) != 0 {
		t.Fatal("jump = [] must override ProxyJump")
	}
	if inv.Host("other").User != "fallback" {
		t.Fatalf("Host * default: %q", inv.Host("other").User)
	}

	noCfg := opts
	noCfg.SSHConfigPath = "none"
	if inv := mustLoad(t, p, noCfg); inv.Host("ctl1").Address != "ctl1" {
		t.Fatal("SSHConfigPath=none still read the config")
	}
	bad := opts
	bad.SSHConfigPath = writeFile(t, opts.Home, "bad_config", "Host *\n  NoSuchOption x\n")
	_, diags := Load(p, bad)
	if diags.HasErrors() || len(diags) != 1 || diags[0].Severity != hcl.DiagWarning {
		t.Fatalf("an ssh_config line ssh refuses should warn: %v", diags)
	}
}

func TestSelectAndLimit(t *testing.T) {
	inv := mustLoad(t, writeFile(t, t.TempDir(), "i.hcl", testbedInventory), testOpts(t))
	for _, c := range []struct {
		pat  []string
		want []string
	}{
		{nil, []string{"ctl1", "ctl1-rbadmin", "gpu01"}},
		{[]string{"all"}, []string{"ctl1", "ctl1-rbadmin", "gpu01"}},
		{[]string{"slurm_controller"}, []string{"ctl1"}},
		{[]string{"gpu01", "ctl1"}, []string{"ctl1", "gpu01"}},
		{[]string{"cluster,!gpu"}, []string{"ctl1", "ctl1-rbadmin"}},
		{[]string{"cluster", "&slurm_controller"}, []string{"ctl1"}},
		{[]string{"ctl1*"}, []string{"ctl1", "ctl1-rbadmin"}},
		{[]string{"!gpu01"}, []string{"ctl1", "ctl1-rbadmin"}},
	} {
		got, err := inv.Select(c.pat)
		if err != nil || !reflect.DeepEqual(names(got), c.want) {
			t.Errorf("Select(%q) = %v %v, want %v", c.pat, names(got), err, c.want)
		}
	}
	if _, err := inv.Select([]string{"ctl"}); err == nil || !strings.Contains(err.Error(), `did you mean "ctl1"`) {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := inv.Select([]string{"zz*"}); err == nil {
		t.Error("glob matching nothing accepted")
	}
	targets, _ := inv.Select([]string{"cluster"})
	lim, err := inv.Limit(targets, []string{"gpu"})
	if err != nil || !reflect.DeepEqual(names(lim), []string{"gpu01"}) {
		t.Errorf("Limit = %v %v", names(lim), err)
	}
	if lim, _ := inv.Limit(targets, nil); len(lim) != 3 {
		t.Error("empty limit must keep all")
	}
	if _, err := inv.Limit(targets, []string{"nosuch"}); err == nil {
		t.Error("unknown limit accepted")
	}
}

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	runbook := writeFile(t, dir, "rb/site.hcl", "")
	beside := writeFile(t, dir, "rb/inventory.hcl", "")
	fromEnv := writeFile(t, dir, "env.ini", "")
	explicit := writeFile(t, dir, "explicit.hcl", "")

	t.Setenv(EnvInventory, "")
	if p, err := Locate("", runbook); err != nil || p != beside {
		t.Fatalf("beside: %q %v", p, err)
	}
	t.Setenv(EnvInventory, fromEnv)
	if p, err := Locate("", runbook); err != nil || p != fromEnv {
		t.Fatalf("env: %q %v", p, err)
	}
	if p, err := Locate(explicit, runbook); err != nil || p != explicit {
		t.Fatalf("explicit: %q %v", p, err)
	}
	if _, err := Locate(filepath.Join(dir, "nope.hcl"), runbook); err == nil {
		t.Fatal("missing -i file accepted")
	}
	t.Setenv(EnvInventory, filepath.Join(dir, "gone.hcl"))
	if _, err := Locate("", runbook); err == nil || !strings.Contains(err.Error(), EnvInventory) {
		t.Fatalf("missing env file: %v", err)
	}
	t.Setenv(EnvInventory, "")
	if p, err := Locate("", filepath.Join(dir, "other", "x.hcl")); err != nil || p != "" {
		t.Fatalf("none: %q %v", p, err)
	}
	local := LocalInventory(Options{User: "me"})
	h := local.Host(LocalHostName)
	if h == nil || !h.Local || h.Describe() != "local" || len(local.Hosts) != 1 {
		t.Fatalf("local inventory %+v", h)
	}
	if sel, err := local.Select([]string{"all"}); err != nil || len(sel) != 1 {
		t.Fatal("local inventory select")
	}
}

func TestDetectFormat(t *testing.T) {
	for _, c := range []struct {
		path, src string
		want      Format
	}{
		{"a.hcl", "[x]", FormatHCL},
		{"a.ini", `host "x" {}`, FormatINI},
		{"hosts", "[web]\nw1\n", FormatINI},
		{"inventory", "\n  host \"a\" {\n}", FormatHCL},
		{"x.cfg", "", FormatINI},
	} {
		if got, err := DetectFormat(c.path, []byte(c.src)); err != nil || got != c.want {
			t.Errorf("%s: %v %v", c.path, got, err)
		}
	}
	if _, err := DetectFormat("a.toml", nil); err == nil {
		t.Error("toml accepted")
	}
}

func TestConnectOptions(t *testing.T) {
	opts := testOpts(t)
	inv := mustLoad(t, writeFile(t, t.TempDir(), "i.hcl", testbedInventory+`
host "loc" {
  local               = true
  become_password_env = "LOCAL_PW"
}
`), opts)
	env := map[string]string{"TESTBED_RBADMIN_SUDO_PASSWORD": "s3", "LOCAL_PW": "lp"}
	co := ConnectOptions{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}

	cfg, err := inv.Host("ctl1-rbadmin").SSHConfig(co)
	if err != nil || cfg.BecomePassword != "s3" || cfg.HostKeyPolicy != transport.HostKeyStrict || !cfg.UseAgent || cfg.Port != 2222 {
		t.Fatalf("%+v %v", cfg, err)
	}
	if s := inv.Host("ctl1-rbadmin").Secrets(co); !reflect.DeepEqual(s, []string{"s3"}) {
		t.Fatalf("Secrets = %v", s)
	}
	co.AcceptNewHostKeys = true
	if cfg, _ := inv.Host("ctl1").SSHConfig(co); cfg.HostKeyPolicy != transport.HostKeyAcceptNew {
		t.Fatal("--accept-new-host-keys")
	}
	co.InsecureIgnoreHostKeys = true
	if cfg, _ := inv.Host("ctl1").SSHConfig(co); cfg.HostKeyPolicy != transport.HostKeyInsecure {
		t.Fatal("--insecure-ignore-host-keys")
	}
	delete(env, "TESTBED_RBADMIN_SUDO_PASSWORD")
	if _, err := inv.Host("ctl1-rbadmin").SSHConfig(co); err == nil || !strings.Contains(err.Error(), "TESTBED_RBADMIN_SUDO_PASSWORD") {
		t.Fatalf("unset become_password_env: %v", err)
	}
	tr, err := Connect(context.Background(), inv.Host("loc"), co)
	if err != nil || tr.Describe() != "local" {
		t.Fatalf("local Connect: %v", err)
	}
	res, err := tr.Run(context.Background(), transport.Command{Argv: []string{"echo", "hi"}})
	if err != nil || string(res.Stdout) != "hi\n" {
		t.Fatalf("local run: %q %v", res.Stdout, err)
	}
	tr.Close()
	// A failed dial must return a nil interface, not a nil *SSH in one.
	tr, err = Connect(context.Background(), &Host{Name: "x", Address: "127.0.0.1", Port: 1, User: "u", IdentityFiles: []string{"/nonexistent"}}, ConnectOptions{NoAgent: true})
	if err == nil || tr != nil {
		t.Fatalf("failed Connect: %v %v", tr, err)
	}
}

func names(hs []*Host) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

func varsEqual(a, b map[string]cty.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !v.RawEquals(w) {
			return false
		}
	}
	return true
}

// TestProxyJumpChainAsOpenSSH: "ProxyJump a,b" where b has its own
// ProxyJump a goes a -> b, not a -> a -> b (OpenSSH reaches b with -J a,
// so b's own ProxyJump does not apply); the first hop's own jumps come
// first.
func TestProxyJumpChainAsOpenSSH(t *testing.T) {
	opts := testOpts(t)
	writeFile(t, opts.Home, ".ssh/config", "Host target\n  ProxyJump a,b\nHost b\n  ProxyJump a\nHost a\n  ProxyJump outer\n")
	inv := mustLoad(t, writeFile(t, t.TempDir(), "inv.hcl", `host "target" {}`), opts)
	var names []string
	for _, j := range inv.Host("target").Jump {
		names = append(names, j.Name)
	}
	if strings.Join(names, " ") != "outer a b" {
		t.Fatalf("chain %v, want outer a b", names)
	}
}

// TestSSHConfigTokensTakeInventoryUser: %r and %p in IdentityFile are
// the inventory's user and port, as with ssh -l USER -p PORT.
func TestSSHConfigTokensTakeInventoryUser(t *testing.T) {
	opts := testOpts(t)
	writeFile(t, opts.Home, ".ssh/config", "Host ctl1\n  User cfguser\n  Port 2022\n  IdentityFile ~/.ssh/%r_%p\nMatch user koopark\n  HostName 10.0.0.9\n")
	inv := mustLoad(t, writeFile(t, t.TempDir(), "inv.hcl", "host \"ctl1\" {\n  user = \"koopark\"\n  port = 2222\n}\n"), opts)
	h := inv.Host("ctl1")
	if !reflect.DeepEqual(h.IdentityFiles, []string{filepath.Join(opts.Home, ".ssh/koopark_2222")}) || h.Address != "10.0.0.9" {
		t.Fatalf("%+v", h)
	}
}
