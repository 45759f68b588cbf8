//go:build e2e

package transport

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// Host key decisions held against OpenSSH's own client: for each
// known_hosts, the real ssh (StrictHostKeyChecking yes) and Dial (strict)
// connect to the same in-process server, and must both accept, both find
// the key unknown, or both refuse it as changed/revoked.
func TestE2EHostKeyDecisionsEqualOpenSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Fatalf("ssh not installed: %v", err)
	}
	ca := newSigner(t)
	otherCA := newSigner(t)
	hostKey := newSigner(t)
	other := newSigner(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaHost, err := ssh.NewSignerFromKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	line := func(k ssh.Signer) string { return authorizedLine(k.PublicKey()) }
	hashed := func(port int) string {
		return xknownhosts.HashHostname(fmt.Sprintf("[127.0.0.1]:%d", port))
	}

	type server int
	const (
		plain        server = iota // ED25519 key only
		plainRSA                   // ED25519 and RSA keys
		certAndPlain               // certificate and the plain ED25519 key
	)
	for _, tc := range []struct {
		name   string
		server server
		// known_hosts lines; %[1]d is the port, %[2]s and %[3]s the
		// hashed [127.0.0.1]:PORT and [localhost]:PORT
		lines []string
		// stricter is runbook's answer where it knowingly differs from
		// OpenSSH by refusing what OpenSSH accepts (never the reverse):
		// x/crypto reads an unbracketed pattern as port 22 only, so
		// "!127.0.0.1" also excludes [127.0.0.1]:PORT, which OpenSSH's
		// string match on "[127.0.0.1]:PORT" does not.
		stricter string
		alias    string // HostKeyAlias
		address  string // instead of 127.0.0.1
	}{
		{"recorded", plain, []string{"[127.0.0.1]:%[1]d " + line(hostKey)}, "", "", ""},
		{"hashed host name", plain, []string{"%[2]s " + line(hostKey)}, "", "", ""},
		{"a broken line before the host's", plain, []string{"oldhost ssh-ed25519 AAAAnot-base64!", "[127.0.0.1]:%[1]d " + line(hostKey)}, "", "", ""},
		{"an unknown key type before the host's", plain, []string{"oldhost ssh-foo AAAAB3NzaC1yc2E=", "[127.0.0.1]:%[1]d " + line(hostKey)}, "", "", ""},
		{"an unknown marker before the host's", plain, []string{"@bogus oldhost " + line(other), "[127.0.0.1]:%[1]d " + line(hostKey)}, "", "", ""},
		{"other key recorded", plain, []string{"[127.0.0.1]:%[1]d " + line(other)}, "", "", ""},
		{"only the bare host recorded", plain, []string{"127.0.0.1 " + line(hostKey)}, "", "", ""},
		{"bare host recorded with another key", plain, []string{"127.0.0.1 " + line(other)}, "", "", ""},
		{"bare host matches, port entry differs", plain, []string{"127.0.0.1 " + line(hostKey), "[127.0.0.1]:%[1]d " + line(other)}, "", "", ""},
		{"CA for the bare host", certAndPlain, []string{"@cert-authority 127.0.0.1 " + line(ca)}, "", "", ""},
		{"port 22 line beside a wildcard line", plain, []string{"127.0.0.1 " + line(hostKey), "*.example.org " + line(other)}, "", "", ""},
		{"wildcard host pattern", plain, []string{"* " + line(hostKey)}, "", "", ""},
		{"negated pattern", plain, []string{"*,!127.0.0.1 " + line(hostKey)}, "unknown", "", ""},
		{"revoked", plain, []string{"@revoked * " + line(hostKey), "[127.0.0.1]:%[1]d " + line(hostKey)}, "", "", ""},
		{"RSA recorded, server prefers ED25519", plainRSA, []string{"[127.0.0.1]:%[1]d " + line(rsaHost)}, "", "", ""},
		{"bare host recorded with RSA, server prefers ED25519", plainRSA, []string{"127.0.0.1 " + line(rsaHost)}, "", "", ""},
		{"CA for the host", certAndPlain, []string{"@cert-authority [127.0.0.1]:%[1]d " + line(ca)}, "", "", ""},
		{"wildcard CA", certAndPlain, []string{"@cert-authority * " + line(ca)}, "", "", ""},
		{"CA revoked", certAndPlain, []string{"@cert-authority * " + line(ca), "@revoked * " + line(ca)}, "", "", ""},
		{"other CA, plain key recorded", certAndPlain, []string{"@cert-authority * " + line(otherCA), "[127.0.0.1]:%[1]d " + line(hostKey)}, "", "", ""},
		{"other CA only", certAndPlain, []string{"@cert-authority * " + line(otherCA)}, "", "", ""},
		{"CA only, host without certificate", plain, []string{"@cert-authority * " + line(ca)}, "", "", ""},
		{"alias in upper case", plain, []string{"node7.alias " + line(hostKey)}, "", "Node7.ALIAS", ""},
		{"alias in upper case, hashed line", plain, []string{xknownhosts.HashHostname("node7.alias") + " " + line(hostKey)}, "", "Node7.ALIAS", ""},
		{"host name in upper case", plain, []string{"[localhost]:%[1]d " + line(hostKey)}, "", "", "LocalHost"},
		{"host name in upper case, hashed line", plain, []string{"%[3]s " + line(hostKey)}, "", "", "LocalHost"},
		{"alias recorded", plain, []string{"node7.alias " + line(hostKey)}, "", "node7.alias", ""},
		{"alias recorded with another key", plain, []string{"node7.alias " + line(other)}, "", "node7.alias", ""},
		{"alias set, only the address recorded", plain, []string{"[127.0.0.1]:%[1]d " + line(hostKey)}, "", "node7.alias", ""},
		{"alias with a port recorded", plain, []string{"[node7.alias]:%[1]d " + line(hostKey)}, "", "node7.alias", ""},
		{"CA for the alias, certificate names the address", certAndPlain, []string{"@cert-authority node7.alias " + line(ca)}, "", "node7.alias", ""},
		{"CA for the address, alias set", certAndPlain, []string{"@cert-authority * " + line(ca)}, "", "127.0.0.1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := serverOpts{hostKey: hostKey}
			switch tc.server {
			case plainRSA:
				opts.extraHostKeys = []ssh.Signer{rsaHost}
			case certAndPlain:
				opts.hostKey = hostCert(t, ca, hostKey)
				opts.extraHostKeys = []ssh.Signer{hostKey}
			}
			f := newFixture(t, opts)
			var lines []string
			for _, l := range tc.lines {
				if strings.Contains(l, "%[") {
					l = fmt.Sprintf(l, f.srv.port(), hashed(f.srv.port()),
						xknownhosts.HashHostname(fmt.Sprintf("[localhost]:%d", f.srv.port())))
				}
				lines = append(lines, l)
			}
			writeKnownHosts(t, f.kh, lines...)

			args := []string{"-F", "none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
				"-o", "UserKnownHostsFile=" + f.kh, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentityAgent=none",
				"-o", "IdentitiesOnly=yes", "-i", f.keyPath, "-p", fmt.Sprint(f.srv.port())}
			if tc.alias != "" {
				args = append(args, "-o", "HostKeyAlias="+tc.alias)
				f.cfg.HostKeyAlias = tc.alias
			}
			if tc.address != "" {
				f.cfg.Address = tc.address
			}
			cmd := exec.Command("ssh", append(args, "tester@"+f.cfg.Address, "true")...)
			out, err := cmd.CombinedOutput()
			var want string
			switch {
			case err == nil:
				want = "accept"
			case strings.Contains(string(out), "REMOTE HOST IDENTIFICATION HAS CHANGED"),
				strings.Contains(string(out), "revoked"):
				want = "refuse"
			case strings.Contains(string(out), "Host key verification failed"):
				want = "unknown"
			default:
				t.Fatalf("ssh failed for another reason: %v\n%s", err, out)
			}

			_, err = Dial(t.Context(), f.cfg)
			got := "accept"
			switch {
			case errors.Is(err, ErrHostKeyUnknown):
				got = "unknown"
			case errors.Is(err, ErrHostKeyChanged):
				got = "refuse"
			case err != nil:
				got = "error: " + err.Error()
			}
			if tc.stricter != "" && want == "accept" && got == tc.stricter {
				t.Logf("known difference: OpenSSH accepts, runbook says %s", got)
				return
			}
			if got != want {
				t.Fatalf("runbook: %s, OpenSSH: %s\nknown_hosts:\n%s\nssh said:\n%s", got, want, strings.Join(lines, "\n"), out)
			}
			// The known_hosts file is ours alone: neither client wrote.
			if b, _ := os.ReadFile(f.kh); strings.Count(string(b), "\n") != len(lines) {
				t.Fatalf("known_hosts changed: %q", b)
			}
		})
	}
}

// What accept-new records, held against OpenSSH's accept-new on the same
// server: the same host name, key type and key.
func TestE2EAcceptNewRecordsWhatOpenSSHRecords(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Fatalf("ssh not installed: %v", err)
	}
	ca := newSigner(t)
	hostKey := newSigner(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaHost, err := ssh.NewSignerFromKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		opts    serverOpts
		alias   string
		address string
	}{
		{"ED25519 and RSA", serverOpts{hostKey: hostKey, extraHostKeys: []ssh.Signer{rsaHost}}, "", ""},
		{"RSA only", serverOpts{hostKey: rsaHost}, "", ""},
		{"certificate nobody vouches for", serverOpts{hostKey: hostCert(t, ca, hostKey), extraHostKeys: []ssh.Signer{hostKey}}, "", ""},
		{"HostKeyAlias", serverOpts{hostKey: hostKey}, "Node7.Alias", ""},
		{"host name in upper case", serverOpts{hostKey: hostKey}, "", "LocalHost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			theirs := f.kh + ".openssh"
			args := []string{"-F", "none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
				"-o", "UserKnownHostsFile=" + theirs, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentityAgent=none",
				"-o", "HashKnownHosts=no", "-o", "IdentitiesOnly=yes", "-i", f.keyPath, "-p", fmt.Sprint(f.srv.port())}
			if tc.alias != "" {
				args = append(args, "-o", "HostKeyAlias="+tc.alias)
				f.cfg.HostKeyAlias = tc.alias
			}
			if tc.address != "" {
				f.cfg.Address = tc.address
			}
			if out, err := exec.Command("ssh", append(args, "tester@"+f.cfg.Address, "true")...).CombinedOutput(); err != nil {
				t.Fatalf("ssh accept-new: %v\n%s", err, out)
			}
			os.Remove(f.kh)
			f.cfg.HostKeyPolicy = HostKeyAcceptNew
			f.dial(t).Close()
			want, _ := os.ReadFile(theirs)
			got, _ := os.ReadFile(f.kh)
			if len(want) == 0 || strings.Join(strings.Fields(string(got)), " ") != strings.Join(strings.Fields(string(want)), " ") {
				t.Fatalf("runbook recorded %q, OpenSSH %q", got, want)
			}
		})
	}
}
