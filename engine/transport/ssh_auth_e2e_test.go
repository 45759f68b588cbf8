//go:build e2e

package transport

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// The order in which keys are offered, held against OpenSSH's own client:
// the real ssh and the real ssh-agent, both talking to the same probe
// server, which records the keys as they arrive. Fails (not skips) when
// ssh, ssh-agent or ssh-add is missing: OpenSSH is on the testbed machine.
func TestE2EKeyOrderEqualsOpenSSH(t *testing.T) {
	for _, bin := range []string{"ssh", "ssh-agent", "ssh-add"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not installed: %v", bin, err)
		}
	}
	dir := t.TempDir()
	keys := map[string]testKey{}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		keys[n] = newTestKey(t, dir, "id_"+n, "")
	}
	// Certificates beside a and b (ssh-add loads b's into the agent too).
	ca := newSigner(t)
	certs := map[string]*ssh.Certificate{"a": userCert(t, ca, keys["a"]), "b": userCert(t, ca, keys["b"])}
	// e: only e.pub on disk, the private key only in the agent.
	sock := filepath.Join(dir, "agent.sock")
	agentCmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agentCmd.Process.Kill(); agentCmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssh-agent did not create its socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, n := range []string{"c", "e", "b", "d"} {
		add := exec.Command("ssh-add", "-q", keys[n].path)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add %s: %v %s", n, err, out)
		}
	}
	if err := os.Remove(keys["e"].path); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	name := map[string]string{}
	for n, k := range keys {
		name[k.fp] = n
	}
	for n, c := range certs {
		name[ssh.FingerprintSHA256(c)] = n + "-cert"
	}
	names := func(fps []string) string {
		var out []string
		for _, fp := range fps {
			out = append(out, name[fp])
		}
		return strings.Join(out, " ")
	}

	files := []string{keys["a"].path, keys["b"].path, keys["e"].path}
	for _, identitiesOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("IdentitiesOnly=%v", identitiesOnly), func(t *testing.T) {
			oracle := startAuthProbe(t, nil)
			// IdentityFile in a config, not -i: ssh drops an -i whose
			// file is missing before it looks for FILE.pub.
			var conf strings.Builder
			for _, f := range files {
				fmt.Fprintf(&conf, "IdentityFile %s\n", f)
			}
			confPath := filepath.Join(t.TempDir(), "ssh_config")
			if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"-F", confPath, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
				"-o", "UserKnownHostsFile=/dev/null", "-o", "IdentityAgent=" + sock,
				"-o", "PreferredAuthentications=publickey",
				"-o", fmt.Sprintf("IdentitiesOnly=%v", map[bool]string{true: "yes", false: "no"}[identitiesOnly]),
				"-p", fmt.Sprint(oracle.ln.Addr().(*net.TCPAddr).Port)}
			args = append(args, "tester@127.0.0.1", "true")
			out, err := exec.Command("ssh", args...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "Permission denied") {
				t.Fatalf("ssh should be refused by the probe: %v %s", err, out)
			}
			want, _ := oracle.offers()

			probe := startAuthProbe(t, nil)
			cfg := probe.config(t, files...)
			cfg.UseAgent = true
			cfg.IdentitiesOnly = identitiesOnly
			if _, err := Dial(t.Context(), cfg); err == nil {
				t.Fatal("Dial should be refused by the probe")
			}
			got, _ := probe.offers()
			t.Logf("OpenSSH offered [%s]", names(want))
			if names(got) != names(want) || len(want) == 0 {
				t.Fatalf("runbook offered [%s], OpenSSH offered [%s]", names(got), names(want))
			}
		})
	}
}
