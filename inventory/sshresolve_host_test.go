package inventory

import (
	"path/filepath"
	"reflect"
	"testing"
)

// TestConnectTakesSSHConfig: the transport configuration carries what
// ssh_config says and the inventory cannot (ProxyCommand, IdentitiesOnly),
// with %r and %p expanded for the inventory's user and port, and an
// inventory jump overriding a ProxyCommand as ssh -J does.
func TestConnectTakesSSHConfig(t *testing.T) {
	opts := testOpts(t)
	h := opts.Home
	writeFile(t, h, ".ssh/config", `
Host inner
  ProxyCommand ssh -W %h:%p -l %r bastion
  IdentitiesOnly yes
  HostKeyAlias Head-Node
  IdentityFile ~/.ssh/%r@%h:%p
  IdentityFile ~/.ssh/%r@%h:%p
Host viajump
  ProxyCommand nc %h %p
Host gate
  ProxyCommand ssh -W %h:%p outer
`)
	inv := mustLoad(t, writeFile(t, t.TempDir(), "inv.hcl", `
host "inner" {
  user = "koopark"
  port = 2222
}
host "viajump" {
  jump = ["gate"]
}
`), opts)
	cfg, err := inv.Host("inner").SSHConfig(ConnectOptions{Inventory: opts})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ProxyCommand != "ssh -W inner:2222 -l koopark bastion" || !cfg.IdentitiesOnly || cfg.HostKeyAlias != "head-node" ||
		!reflect.DeepEqual(cfg.IdentityFiles, []string{filepath.Join(h, ".ssh", "koopark@inner:2222")}) {
		t.Fatalf("inner: %+v", cfg)
	}
	wantKH := []string{filepath.Join(h, ".ssh/known_hosts"), filepath.Join(h, ".ssh/known_hosts2"), "/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
	if !reflect.DeepEqual(cfg.KnownHostsFiles, wantKH) {
		t.Fatalf("known_hosts: %v", cfg.KnownHostsFiles)
	}
	cfg, err = inv.Host("viajump").SSHConfig(ConnectOptions{Inventory: opts})
	if err != nil {
		t.Fatal(err)
	}
	// The inventory's jump wins over the host's ProxyCommand; the first
	// hop is reached through its own.
	if cfg.ProxyCommand != "" || len(cfg.Jump) != 1 || cfg.Jump[0].ProxyCommand != "ssh -W gate:22 outer" {
		t.Fatalf("viajump: %+v", cfg)
	}
	// No ssh_config: the host's own settings, nothing added.
	none := opts
	none.SSHConfigPath = "none"
	inv = mustLoad(t, writeFile(t, t.TempDir(), "inv.hcl", `host "inner" {}`), none)
	if cfg, _ := inv.Host("inner").SSHConfig(ConnectOptions{Inventory: none}); cfg.ProxyCommand != "" || cfg.IdentitiesOnly {
		t.Fatalf("SSHConfigPath none: %+v", cfg)
	}
}
