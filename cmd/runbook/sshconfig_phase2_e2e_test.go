//go:build e2e

package main

// Issue 20's proof through the CLI: hosts reachable only through a
// ProxyCommand (ssh -W via the testbed's sshd as a bastion) and only
// through a two-hop ProxyJump chain, as the admin's ~/.ssh/config says,
// run Phase 2's read-only steps in a plan.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
)

func TestE2EPhase2ReadOnlyThroughProxyCommandAndJumpChain(t *testing.T) {
	e2eFresh(t)
	home := t.TempDir()
	kh := filepath.Join(e2eTestbedDir, "ssh", "known_hosts")
	bastion := fmt.Sprintf("ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null -o UserKnownHostsFile=%s -i %s -l koopark -p 2222", kh, e2eClientKey)
	cfg := strings.Join([]string{
		"Host behind",
		"  HostName behind.unreachable.invalid",
		"  ProxyCommand " + bastion + " -W 127.0.0.1:%p 127.0.0.1",
		"  HostKeyAlias [127.0.0.1]:2222",
		// Reachable only through two hops: the chain is how it is reached
		// (the sshd log shows the forwarded connections).
		"Host twohops",
		"  ProxyJump hop1,hop2",
		"Host hop2",
		"  ProxyJump hop1",
		"Host twohops hop1 hop2",
		"  HostName 127.0.0.1",
		"Host *",
		"  Port 2222",
		"  User koopark",
		"  IdentityFile " + e2eClientKey,
		"  IdentitiesOnly yes",
		"  UserKnownHostsFile " + kh,
		"  GlobalKnownHostsFile /dev/null",
		"",
	}, "\n")
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := e2eWrite(t, "inv.hcl", `host "behind" {
  vars = { job_user = "koopark", has_nvidia_smi = false }
}
host "twohops" {
  vars = { job_user = "koopark", has_nvidia_smi = false }
}
group "slurm_controller" {
  hosts = ["behind", "twohops"]
}
`)
	state := t.TempDir()
	p := e2eStart(t, []string{"HOME=" + home, "SSH_AUTH_SOCK="}, "plan", filepath.Join(e2eRepoRoot, "runbooks", "phase2.hcl"),
		"-i", inv, "--state-dir", state, "--var", "account=hpc-users", "--forks", "1")
	r := p.wait(t, 5*time.Minute)
	if r.code != exitOK {
		t.Fatalf("plan through the ssh_config hosts: %s", r)
	}
	rep, _ := e2eRecord(t, state)
	if len(rep.Hosts) != 2 {
		t.Fatalf("hosts: %d", len(rep.Hosts))
	}
	for _, h := range rep.Hosts {
		if h.Error != "" {
			t.Errorf("%s: %s", h.Name, h.Error)
			continue
		}
		var read int
		for _, s := range h.Steps {
			if s.Status == report.StatusFailed {
				t.Errorf("%s: step %s failed: %s", h.Name, s.Name, s.Error)
			}
			if s.Action == "read" && s.Status == report.StatusOK && len(s.Commands) > 0 {
				read++
			}
		}
		// The preflight and the QoS read ran over the connection.
		if pre := e2eStep(t, &report.Run{Hosts: []*report.Host{h}}, "cluster"); pre.Status != report.StatusOK || len(pre.Commands) == 0 {
			t.Errorf("%s: preflight %s with %d commands", h.Name, pre.Status, len(pre.Commands))
		}
		if read < 2 {
			t.Errorf("%s: %d read-only steps ran", h.Name, read)
		}
	}
	if tr := rep.Hosts[1].Transport; !strings.Contains(tr, "via hop1, hop2") {
		t.Errorf("twohops was not reached through its chain: %s", tr)
	}
}
