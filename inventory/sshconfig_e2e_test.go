//go:build e2e

package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// TestE2EInventoryThroughSSHConfig: hosts the inventory only names,
// reached as ssh_config says (resolved by ssh -G), against the testbed's
// sshd: one whose HostName does not resolve, reachable only through its
// ProxyCommand (ssh -W via the testbed's sshd as a bastion), and one
// behind a two-hop ProxyJump whose second hop has its own ProxyJump (not
// taken: a -> b, not a -> a -> b). Each runs a read-only command.
func TestE2EInventoryThroughSSHConfig(t *testing.T) {
	tb := os.Getenv("TESTBED_DIR")
	if tb == "" {
		tb = "/tmp/runbook-testbed"
	}
	key := filepath.Join(tb, "ssh", "id_ed25519")
	kh := filepath.Join(tb, "ssh", "known_hosts")
	if _, err := os.Stat(kh); err != nil {
		t.Fatalf("testbed missing (%v): run testbed/up first", err)
	}
	dir := t.TempDir()
	behindKH := filepath.Join(dir, "known_hosts_behind")
	sshConfig := filepath.Join(dir, "ssh_config")
	bastion := fmt.Sprintf("ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null -o UserKnownHostsFile=%s -i %s -l koopark -p 2222", kh, key)
	cfg := strings.Join([]string{
		"Host behind",
		"  HostName behind.unreachable.invalid",
		"  ProxyCommand " + bastion + " -W 127.0.0.1:%p 127.0.0.1",
		"  UserKnownHostsFile " + behindKH,
		"  StrictHostKeyChecking accept-new",
		"Host twohops",
		"  ProxyJump hop1,hop2",
		"Host hop2",
		"  ProxyJump hop1",
		"Host *",
		"  HostName 127.0.0.1",
		"  Port 2222",
		"  User koopark",
		"  IdentityFile " + key,
		"  IdentitiesOnly yes",
		"  UserKnownHostsFile " + kh,
		"  GlobalKnownHostsFile /dev/null",
		"",
	}, "\n")
	if err := os.WriteFile(sshConfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{SSHConfigPath: sshConfig}
	inv, diags := Load(writeE2EFile(t, dir, "inv.hcl", "host \"behind\" {}\nhost \"twohops\" {}\n"), opts)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	co := ConnectOptions{Inventory: opts, NoAgent: true, ConnectTimeout: 20 * time.Second}

	behind := inv.Host("behind")
	cfgB, err := behind.SSHConfig(co)
	if err != nil {
		t.Fatal(err)
	}
	if cfgB.Address != "behind.unreachable.invalid" || !strings.Contains(cfgB.ProxyCommand, "-W 127.0.0.1:2222 127.0.0.1") || !cfgB.IdentitiesOnly {
		t.Fatalf("behind: %+v", cfgB)
	}
	if r := behind.ResolveSSH(opts); r.Resolver != "ssh -G" {
		t.Errorf("resolved by %q, want ssh -G", r.Resolver)
	}
	runID(t, behind, co)

	two := inv.Host("twohops")
	var hops []string
	for _, j := range two.Jump {
		hops = append(hops, j.Name)
	}
	if strings.Join(hops, " ") != "hop1 hop2" {
		t.Fatalf("twohops chain %v, want hop1 hop2", hops)
	}
	runID(t, two, co)
}

func runID(t *testing.T, h *Host, co ConnectOptions) {
	t.Helper()
	c, err := Connect(t.Context(), h, co)
	if err != nil {
		t.Fatalf("%s: %v", h.Name, err)
	}
	defer c.Close()
	res, err := c.Run(t.Context(), transport.Command{Argv: []string{"id", "-un"}, Timeout: 30 * time.Second})
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(string(res.Stdout)) != "koopark" {
		t.Fatalf("%s: id -un: %+v %v", h.Name, res, err)
	}
}

func writeE2EFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
