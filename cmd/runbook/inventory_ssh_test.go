package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeSSHHome makes $HOME a fresh directory whose ~/.ssh/config is
// config, and returns that file's path.
func writeSSHHome(t *testing.T, config string) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	p := filepath.Join(home, ".ssh", "config")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSSHConfigNotHonouredWarned: a construct runbook cannot honour is a
// warning naming the file and line in inventory, plan and apply, and
// the constructs the old parser dropped the whole file at (Match exec,
// Match user, an Include with a comment) are honoured.
func TestSSHConfigNotHonouredWarned(t *testing.T) {
	sshConfig := writeSSHHome(t, "Host ctl1\n  User admin\n  Port 1\n  CertificateFile ~/.ssh/id_cert.pub\n\nMatch exec \"true\" user admin\n  IdentityFile ~/.ssh/by_match\n")
	inv := filepath.Join(t.TempDir(), "inventory.hcl")
	if err := os.WriteFile(inv, []byte("host \"ctl1\" {\n  address = \"127.0.0.1\"\n  port    = 1\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rb := writeRunbook(t, "runbook \"r\" {\n  title = \"R\"\n}\n\nstep \"check\" \"c\" {\n  argv = [\"true\"]\n}\n")
	want := sshConfig + ":4: CertificateFile"
	for _, args := range [][]string{{"inventory", "-i", inv}, {"plan", rb, "-i", inv, "--state-dir", t.TempDir()}, {"apply", rb, "-i", inv, "--auto-approve", "--state-dir", t.TempDir()}} {
		r := runCLI(t, args...)
		if !strings.Contains(r.stderr, want) {
			t.Errorf("%v: stderr lacks %q:\n%s", args, want, r)
		}
	}

	// The address 127.0.0.1 is looked up in ssh_config, not ctl1: the
	// Host ctl1 block does not apply, and the host says so.
	r := runCLI(t, "inventory", "-i", inv, "ctl1")
	if r.code != 0 || !strings.Contains(r.stdout, "127.0.0.1") {
		t.Fatalf("inventory ctl1:\n%s", r)
	}
}

// TestInventoryJSONAndExplain: --json carries every resolved setting and
// where it came from; HOST explains one host in words, StrictHostKeyChecking
// no included.
func TestInventoryJSONAndExplain(t *testing.T) {
	sshConfig := writeSSHHome(t, strings.Join([]string{
		"Host ctl1",
		"  HostName 10.1.2.3",
		"  Port 2022",
		"  IdentityFile ~/.ssh/%r_key",
		"  IdentityFile ~/.ssh/%r_key",
		"  IdentitiesOnly yes",
		"  StrictHostKeyChecking no",
		"Host inner",
		"  ProxyCommand ssh -W %h:%p bastion",
		"Host node*",
		"  ProxyJump gate",
		"",
	}, "\n"))
	home := filepath.Dir(filepath.Dir(sshConfig))
	inv := filepath.Join(t.TempDir(), "inventory.hcl")
	if err := os.WriteFile(inv, []byte("host \"ctl1\" {\n  user = \"koopark\"\n}\nhost \"inner\" {}\nhost \"node1\" {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "inventory", "-i", inv, "--json")
	if r.code != 0 {
		t.Fatalf("inventory --json:\n%s", r)
	}
	var doc struct {
		SchemaVersion int `json:"schema_version"`
		Hosts         []struct {
			Name           string   `json:"name"`
			Address        string   `json:"address"`
			User           string   `json:"user"`
			Port           int      `json:"port"`
			IdentityFiles  []string `json:"identity_files"`
			IdentitiesOnly bool     `json:"identities_only"`
			ProxyCommand   string   `json:"proxy_command"`
			Jump           []struct{ Name string }
			KnownHosts     []string          `json:"known_hosts_files"`
			Policy         string            `json:"host_key_policy"`
			Sources        map[string]string `json:"sources"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if doc.SchemaVersion != 1 || len(doc.Hosts) != 3 {
		t.Fatalf("%+v", doc)
	}
	ctl, inner, node := doc.Hosts[0], doc.Hosts[1], doc.Hosts[2]
	line := func(n int) string { return "ssh_config " + sshConfig + ":" + string(rune('0'+n)) }
	// %r is the inventory's user, not the config's or the local one;
	// the duplicate line is offered once.
	if ctl.Address != "10.1.2.3" || ctl.User != "koopark" || ctl.Port != 2022 ||
		strings.Join(ctl.IdentityFiles, " ") != home+"/.ssh/koopark_key" || !ctl.IdentitiesOnly || ctl.Policy != "accept-new" {
		t.Errorf("ctl1 = %+v", ctl)
	}
	if ctl.Sources["address"] != line(2) || ctl.Sources["user"] != "inventory" || ctl.Sources["port"] != line(3) ||
		ctl.Sources["identity_files"] != line(4) || ctl.Sources["identities_only"] != line(6) || ctl.Sources["host_key_policy"] != line(7) {
		t.Errorf("ctl1 sources = %v", ctl.Sources)
	}
	if strings.Join(ctl.KnownHosts, " ") != home+"/.ssh/known_hosts "+home+"/.ssh/known_hosts2 /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2" {
		t.Errorf("ctl1 known_hosts = %v", ctl.KnownHosts)
	}
	if inner.ProxyCommand != "ssh -W inner:22 bastion" || inner.Sources["proxy_command"] != line(9) {
		t.Errorf("inner = %+v", inner)
	}
	if len(node.Jump) != 1 || node.Jump[0].Name != "gate" || node.ProxyCommand != "" {
		t.Errorf("node1 = %+v", node)
	}

	r = runCLI(t, "inventory", "-i", inv, "ctl1")
	for _, want := range []string{"10.1.2.3", "koopark (inventory)", home + "/.ssh/koopark_key", "IdentitiesOnly yes", "StrictHostKeyChecking no is read as accept-new", "a changed key is refused"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("inventory ctl1 lacks %q:\n%s", want, r)
		}
	}
	if r := runCLI(t, "inventory", "-i", inv, "nosuch"); r.code != exitInvalid {
		t.Errorf("inventory nosuch:\n%s", r)
	}
}
