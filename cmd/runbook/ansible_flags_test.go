package main

// Inventories and flags as Ansible users have them: -i with a YAML file
// and group_vars/, a directory or a host list; -e for --var; -u and
// --private-key over the inventory's user and key.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/planfile"
)

func TestExtraVarsIsVar(t *testing.T) {
	rb := writeRunbook(t, `runbook "evars" {}

variable "account" {
  type = string
}

step "check" "say" {
  command = "echo ${shellquote(var.account)}"
}
`)
	for _, args := range [][]string{
		{"-e", "account=hpc"},
		{"--extra-vars", "account=hpc"},
		{"--var", "account=first", "-e", "account=hpc"}, // in order, the later wins
		{"-e", "account=first", "--var", "account=hpc"},
	} {
		r := runCLI(t, append([]string{"plan", rb, "--state-dir", t.TempDir(), "--json"}, args...)...)
		if r.code != exitOK {
			t.Fatalf("plan %q:\n%s", args, r)
		}
		var pf planfile.File
		if err := json.Unmarshal([]byte(r.stdout), &pf); err != nil {
			t.Fatalf("plan --json: %v\n%s", err, r.stdout)
		}
		if got := string(pf.Variables["account"].Value); got != `"hpc"` {
			t.Errorf("plan %q: account = %s", args, got)
		}
	}
	for value, msg := range map[string]string{
		"@vars.yml":        "--var-file",
		`{"account":"x"}`:  "not JSON",
		"account=a more=b": `would set account to "a more=b"`,
	} {
		r := runCLI(t, "validate", rb, "-e", value)
		if r.code != exitInvalid || !strings.Contains(r.stderr, msg) {
			t.Errorf("-e %s: want exit 3 and %q:\n%s", value, msg, r)
		}
	}
	// --var itself takes a value with spaces and =.
	if r := runCLI(t, "validate", rb, "--var", "account=a more=b"); r.code != exitOK {
		t.Errorf("--var 'account=a more=b':\n%s", r)
	}
}

func TestInventoryFormsAndOverrides(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hosts := write("inv/hosts.yml", "all:\n  children:\n    compute:\n      hosts:\n        node[01:02]:\n")
	write("inv/group_vars/all.yml", "ansible_user: admin\n")
	write("inv/host_vars/node02.yml", "ansible_port: 2202\n")
	key := write("id_test", "not a key")

	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"-i", hosts}, []string{"ssh admin@node01:22", "ssh admin@node02:2202"}},
		{[]string{"-i", filepath.Dir(hosts)}, []string{"ssh admin@node01:22", "ssh admin@node02:2202"}},
		{[]string{"-i", hosts, "-u", "alice", "--private-key", key}, []string{"ssh alice@node01:22", "ssh alice@node02:2202"}},
		{[]string{"-i", "ctl1,ctl2:2222,", "-u", "bob"}, []string{"ssh bob@ctl1:22", "ssh bob@ctl2:2222"}},
	} {
		r := runCLI(t, append([]string{"inventory"}, c.args...)...)
		if r.code != exitOK {
			t.Errorf("inventory %q:\n%s", c.args, r)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("inventory %q lacks %q:\n%s", c.args, w, r.stdout)
			}
		}
	}
	if r := runCLI(t, "inventory", "-i", hosts, "--private-key", filepath.Join(dir, "nope")); r.code != exitInvalid || !strings.Contains(r.stderr, "--private-key") {
		t.Errorf("a missing --private-key: want exit 3:\n%s", r)
	}
	if r := runCLI(t, "inventory", "-i", "ctl1"); r.code != exitInvalid || !strings.Contains(r.stderr, "-i ctl1,") {
		t.Errorf("-i ctl1 (no such file): want exit 3 and the host-list hint:\n%s", r)
	}
	// The YAML inventory's diagnostics name file and line, with the line.
	bad := write("bad/hosts.yml", "all:\n  children:\n    compute:\n      hosts:\n        - node01\n")
	r := runCLI(t, "inventory", "-i", bad)
	if r.code != exitInvalid || !strings.Contains(r.stderr, "Error: Invalid hosts") || !strings.Contains(r.stderr, "hosts.yml line 4") || !strings.Contains(r.stderr, "4:       hosts:") {
		t.Errorf("a list under hosts:\n%s", r)
	}
}

// A saved plan made with a YAML inventory and group_vars/ applies only
// while neither changed: the digest covers group_vars/ too. Directories
// and host lists can be saved with a plan as files can.
func TestSavedPlanWithAnsibleInventory(t *testing.T) {
	rb, _, dir := savedPlanFixture(t)
	invDir := t.TempDir()
	hosts := filepath.Join(invDir, "hosts.yml")
	gv := filepath.Join(invDir, "group_vars", "all.yml")
	if err := os.MkdirAll(filepath.Dir(gv), 0o755); err != nil {
		t.Fatal(err)
	}
	// One host: two local hosts of one apply would share its lock.
	if err := os.WriteFile(hosts, []byte("all:\n  hosts:\n    h1:\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gv, []byte("ansible_connection: local\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, inv := range []string{hosts, invDir} {
		state := t.TempDir()
		plan := filepath.Join(t.TempDir(), "p.plan")
		if r := runCLI(t, "plan", rb, "-i", inv, "--state-dir", state, "--out", plan); r.code != exitOK {
			t.Fatalf("plan -i %s --out:\n%s", inv, r)
		}
		if err := os.WriteFile(gv, []byte("ansible_connection: local\nchanged: true\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, "apply", plan, "--state-dir", state)
		if r.code != exitFailed || !strings.Contains(r.stderr, "differs from the plan's") {
			t.Errorf("-i %s: apply after group_vars/ changed: want exit 1:\n%s", inv, r)
		}
		if fileExists(filepath.Join(dir, "h1")) {
			t.Fatal("a refused apply ran")
		}
		if err := os.WriteFile(gv, []byte("ansible_connection: local\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := runCLI(t, "apply", plan, "--state-dir", state); r.code != exitOK {
			t.Errorf("-i %s: apply of the unchanged inventory:\n%s", inv, r)
		}
		if !fileExists(filepath.Join(dir, "h1")) {
			t.Errorf("-i %s: the plan was not applied", inv)
		}
		os.Remove(filepath.Join(dir, "h1"))
	}
}
