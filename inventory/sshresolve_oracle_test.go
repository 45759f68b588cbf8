package inventory

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// sshCase is one ssh_config an admin may write and one host to resolve
// in it. The expected values are not written here: `ssh -G` (OpenSSH
// itself, run by the test) is the oracle, and both resolvers must print
// what it prints for every keyword in sshDumpKeys.
type sshCase struct {
	name   string
	config string            // the -F file; {{DIR}} is the case's directory, {{REL}} it relative to ~/.ssh
	files  map[string]string // more files in {{DIR}} (included ones)
	q      sshQuery
	env    map[string]string
}

var sshCases = []sshCase{
	{name: "exact host", config: "Host ctl1\n  HostName 10.1.2.3\n  User admin\n  Port 2022\n", q: sshQuery{Host: "ctl1"}},
	{name: "no match keeps the alias", config: "Host ctl1\n  HostName 10.1.2.3\n", q: sshQuery{Host: "ctl2"}},
	{name: "wildcard", config: "Host gpu*\n  User gpuadmin\n  Port 2200\n", q: sshQuery{Host: "gpu017"}},
	{name: "question mark is one char", config: "Host node?\n  User one\nHost *\n  User other\n", q: sshQuery{Host: "node10"}},
	{name: "question mark not zero chars", config: "Host node1?\n  User one\nHost *\n  User other\n", q: sshQuery{Host: "node1"}},
	{name: "question mark matches", config: "Host node?\n  User one\n", q: sshQuery{Host: "node7"}},
	{name: "negation excludes", config: "Host * !bastion\n  ProxyJump bastion\n", q: sshQuery{Host: "bastion"}},
	{name: "negation others", config: "Host * !bastion\n  ProxyJump bastion\n", q: sshQuery{Host: "node1"}},
	{name: "negation alone never matches", config: "Host !foo\n  User neg\n", q: sshQuery{Host: "bar"}},
	{name: "first match wins", config: "Host ctl1\n  User first\nHost ctl*\n  User second\n  Port 2201\nHost *\n  Port 2299\n  User third\n", q: sshQuery{Host: "ctl1"}},
	{name: "tabs between patterns", config: "Host\tlogin1\tlogin2\n\tUser\ttabbed\n", q: sshQuery{Host: "login2"}},
	{name: "equals syntax", config: "Host=ctl1\nUser=eq\nPort = 2023\nHostName =10.0.0.9\n", q: sshQuery{Host: "ctl1"}},
	{name: "keyword case", config: "HOST ctl1\n  hostname 10.0.0.7\n  PoRt 2024\n  USER Mixed\n  identityFILE ~/.ssh/Key_%r\n", q: sshQuery{Host: "ctl1"}},
	{name: "quoted known hosts with a space", config: "Host ctl1\n  UserKnownHostsFile \"~/.ssh/known hosts\" ~/.ssh/kh2\n", q: sshQuery{Host: "ctl1"}},
	{name: "quoted identity file", config: "Host ctl1\n  IdentityFile \"{{DIR}}/my key\"\n  IdentityFile '{{DIR}}/single q'\n", q: sshQuery{Host: "ctl1"}},
	{name: "include absolute with trailing comment", config: "Include {{DIR}}/site.conf # cluster hosts\nHost *\n  User fallback\n",
		files: map[string]string{"site.conf": "Host ctl1\n  HostName 10.9.9.9\n  User site\n"}, q: sshQuery{Host: "ctl1"}},
	{name: "include glob sorted", config: "Include {{DIR}}/conf.d/*.conf\n",
		files: map[string]string{"conf.d/20-b.conf": "Host ctl1\n  User second\n", "conf.d/10-a.conf": "Host ctl1\n  User first\n  Port 2100\n"}, q: sshQuery{Host: "ctl1"}},
	{name: "include relative to ~/.ssh", config: "Include {{REL}}/rel.conf\n",
		files: map[string]string{"rel.conf": "Host ctl1\n  User relative\n"}, q: sshQuery{Host: "ctl1"}},
	{name: "include inside host block", config: "Host ctl1\n  Include {{DIR}}/inner.conf\n  Port 2101\n",
		files: map[string]string{"inner.conf": "User inner\n"}, q: sshQuery{Host: "ctl1"}},
	{name: "include restores the including block", config: "Host ctl1\n  Include {{DIR}}/hosts.conf\n  Port 2102\n",
		files: map[string]string{"hosts.conf": "Host other\n  User other\n"}, q: sshQuery{Host: "ctl1"}},
	{name: "include in inactive block never matches", config: "Host other\n  Include {{DIR}}/inner.conf\nHost *\n  User outer\n",
		files: map[string]string{"inner.conf": "Host *\n  User leaked\n"}, q: sshQuery{Host: "ctl1"}},
	{name: "match host tests the HostName", config: "Host ctl1\n  HostName head.cluster.example\nMatch host head.cluster.example\n  User byhostname\n", q: sshQuery{Host: "ctl1"}},
	{name: "match host not the alias", config: "Host ctl1\n  HostName head.cluster.example\nMatch host ctl1\n  User byalias\n", q: sshQuery{Host: "ctl1"}},
	{name: "match host comma list", config: "Match host login1,ctl1,ctl2\n  User listed\n", q: sshQuery{Host: "ctl1"}},
	{name: "match host then user", config: "Match host ctl* user root\n  Port 2202\nMatch host ctl*\n  User root\n", q: sshQuery{Host: "ctl1", User: "root"}},
	{name: "match host user not root", config: "Match host ctl* user root\n  Port 2202\n", q: sshQuery{Host: "ctl1", User: "admin"}},
	{name: "match user", config: "Match user admin\n  IdentityFile ~/.ssh/admin_key\n", q: sshQuery{Host: "ctl1", User: "admin"}},
	{name: "match originalhost", config: "Host ctl1\n  HostName 10.1.1.1\nMatch originalhost ctl1\n  User orig\n", q: sshQuery{Host: "ctl1"}},
	{name: "match exec true", config: "Match exec \"true\"\n  User execd\n", q: sshQuery{Host: "ctl1"}},
	{name: "match exec false", config: "Match exec \"false\"\n  User execd\nHost *\n  User notexecd\n", q: sshQuery{Host: "ctl1"}},
	{name: "match exec tokens", config: "Match exec \"test %h = ctl1 && test %n = ctl1\"\n  Port 2203\n", q: sshQuery{Host: "ctl1"}},
	{name: "match all", config: "Match all\n  User everyone\n", q: sshQuery{Host: "ctl1"}},
	{name: "match negated host", config: "Match !host bastion\n  ProxyJump bastion\n", q: sshQuery{Host: "ctl1"}},
	{name: "match final", config: "Match final host ctl1\n  User final\nHost *\n  Port 2204\n", q: sshQuery{Host: "ctl1"}},
	{name: "match canonical without canonicalization", config: "Match canonical\n  User canon\n", q: sshQuery{Host: "ctl1"}},
	{name: "proxycommand", config: "Host inner\n  ProxyCommand ssh -W %h:%p bastion\n", q: sshQuery{Host: "inner"}},
	{name: "proxycommand before proxyjump", config: "Host inner\n  ProxyCommand nc -X 5 -x socks:1080 %h %p\nHost *\n  ProxyJump bastion\n", q: sshQuery{Host: "inner"}},
	{name: "proxyjump before proxycommand", config: "Host inner\n  ProxyJump bastion\nHost *\n  ProxyCommand nc %h %p\n", q: sshQuery{Host: "inner"}},
	{name: "proxyjump chain", config: "Host node*\n  ProxyJump outer,ops@gate:2201\n", q: sshQuery{Host: "node1"}},
	{name: "proxyjump uri and v6", config: "Host node*\n  ProxyJump ssh://ops@gate:2201,jump@[::1]:2222\n", q: sshQuery{Host: "node1"}},
	{name: "proxyjump none", config: "Host node1\n  ProxyJump none\nHost *\n  ProxyJump bastion\n", q: sshQuery{Host: "node1"}},
	{name: "identity files dedup", config: "Host ctl1\n  IdentityFile ~/.ssh/a\n  IdentityFile ~/.ssh/b\nHost *\n  IdentityFile ~/.ssh/a\n", q: sshQuery{Host: "ctl1"}},
	{name: "identity tokens with overrides", config: "Host ctl1\n  User cfguser\n  Port 2022\n  IdentityFile %d/.ssh/%h_%r_%p_%u\n", q: sshQuery{Host: "ctl1", User: "invuser", Port: 2222}},
	{name: "known hosts tokens", config: "Host ctl1\n  HostName 10.2.2.2\n  UserKnownHostsFile ~/.ssh/kh_%h_%p_%r %d/kh_%n_%%\n", q: sshQuery{Host: "ctl1", Port: 2300}},
	{name: "identities only", config: "Host ctl1\n  IdentitiesOnly yes\n  IdentityFile ~/.ssh/ctl\n", q: sshQuery{Host: "ctl1"}},
	{name: "strict no", config: "Host ctl1\n  StrictHostKeyChecking no\n", q: sshQuery{Host: "ctl1"}},
	{name: "strict accept-new and off", config: "Host ctl1\n  StrictHostKeyChecking accept-new\nHost *\n  StrictHostKeyChecking off\n", q: sshQuery{Host: "ctl1"}},
	{name: "canonicalize falls back", config: "CanonicalizeHostname yes\nCanonicalDomains cluster.invalid\nHost *.cluster.invalid\n  User canon\nHost ctl1\n  Port 2205\n", q: sshQuery{Host: "ctl1"}},
	{name: "canonicalize final pass matches hostname", config: "CanonicalizeHostname yes\nHost ctl1\n  HostName Head.Example.Invalid\nHost head.example.invalid\n  User finalpass\n", q: sshQuery{Host: "ctl1"}},
	{name: "canonicalize max dots", config: "CanonicalizeHostname yes\nCanonicalizeMaxDots 0\nCanonicalDomains example.invalid\nMatch canonical\n  User canonical\n", q: sshQuery{Host: "a.b"}},
	{name: "canonicalize not for proxied", config: "CanonicalizeHostname yes\nCanonicalizeFallbackLocal no\nCanonicalDomains example.invalid\nHost *\n  ProxyJump bastion\n", q: sshQuery{Host: "ctl1"}},
	{name: "hostname token", config: "Host ctl?\n  HostName %h.cluster.example\n", q: sshQuery{Host: "ctl3"}},
	{name: "host patterns case-sensitive", config: "Host CTL1\n  User upper\nHost ctl1\n  User lower\n", q: sshQuery{Host: "CTL1"}},
	{name: "known hosts none", config: "Host ctl1\n  UserKnownHostsFile none\n  GlobalKnownHostsFile none\n", q: sshQuery{Host: "ctl1"}},
	{name: "global known hosts", config: "GlobalKnownHostsFile /etc/ssh/cluster_known_hosts\n", q: sshQuery{Host: "ctl1"}},
	{name: "command-line jump wins", config: "Host ctl1\n  ProxyCommand nc %h %p\n  ProxyJump cfgbastion\n", q: sshQuery{Host: "ctl1", Jump: "invbastion"}},
	{name: "command-line identity first", config: "Host ctl1\n  IdentityFile ~/.ssh/cfg_key\n", files: map[string]string{"inv_key": "x"}, q: sshQuery{Host: "ctl1", IdentityFiles: []string{"{{DIR}}/inv_key"}}},
	{name: "comments blank lines trailing space CR", config: "# site config\n\nHost ctl1   \r\n  # a comment\n  User commented   \r\n\n", q: sshQuery{Host: "ctl1"}},
	{name: "hostkeyalias", config: "Host ctl1\n  HostKeyAlias Head-Node\n", q: sshQuery{Host: "ctl1"}},
	{name: "ignoreunknown", config: "IgnoreUnknown UseKeychain,AddKeysToAgent\nHost ctl1\n  UseKeychain yes\n  User known\n", q: sshQuery{Host: "ctl1"}},
	{name: "known hosts first line wins", config: "Host ctl1\n  UserKnownHostsFile ~/.ssh/kh_a ~/.ssh/kh_b\nHost *\n  UserKnownHostsFile ~/.ssh/kh_c\n", q: sshQuery{Host: "ctl1"}},
	{name: "environment in identity file", config: "Host ctl1\n  IdentityFile ${RUNBOOK_TEST_KEYDIR}/id\n", env: map[string]string{"RUNBOOK_TEST_KEYDIR": "/srv/keys"}, q: sshQuery{Host: "ctl1"}},
	{name: "defaults only", config: "", q: sshQuery{Host: "ctl1"}},
	{name: "proxyjump with trailing comment", config: "Host node1\n  ProxyJump gate # the site gateway\n", q: sshQuery{Host: "node1"}},
	{name: "negated subdomain", config: "Host *.example.com !*.internal.example.com\n  User outside\nHost *\n  User inside\n", q: sshQuery{Host: "db.internal.example.com"}},
	{name: "match host list negation", config: "Match host *,!bastion*\n  ProxyJump bastion\n", q: sshQuery{Host: "bastion1"}},
	{name: "ipv6 hostname", config: "Host v6\n  HostName ::1\n", q: sshQuery{Host: "v6"}},
	{name: "nested include", config: "Include {{DIR}}/a.conf\n",
		files: map[string]string{"a.conf": "Include {{DIR}}/b.conf\nHost *\n  Port 2105\n", "b.conf": "Host ctl1\n  User nested\n"}, q: sshQuery{Host: "ctl1"}},
	{name: "include missing file", config: "Include {{DIR}}/nope.conf\nHost ctl1\n  User after\n", q: sshQuery{Host: "ctl1"}},
	{name: "quoted host pattern", config: "Host \"ctl1\" 'ctl2'\n  User quoted\n", q: sshQuery{Host: "ctl2"}},
	{name: "equals proxycommand and proxyjump", config: "Host a\n  ProxyCommand=nc %h %p\nHost b\n  ProxyJump=gate:2200\n", q: sshQuery{Host: "a"}},
	{name: "equals proxyjump", config: "Host a\n  ProxyCommand=nc %h %p\nHost b\n  ProxyJump=gate:2200\n", q: sshQuery{Host: "b"}},
	{name: "comment after value", config: "Host ctl1 # head node\n  User bob # the admin\n  Port 2106 # ssh\n", q: sshQuery{Host: "ctl1"}},
	{name: "match canonical after canonicalization", config: "CanonicalizeHostname yes\nMatch canonical host ctl1\n  User canonical\n", q: sshQuery{Host: "ctl1"}},
	{name: "canonicalize always through proxy", config: "CanonicalizeHostname always\nCanonicalDomains example.invalid\nHost *\n  ProxyCommand nc %h %p\nMatch final\n  Port 2107\n", q: sshQuery{Host: "ctl1"}},
	{name: "match exec failing command", config: "Match exec \"exit 3\"\n  User nope\nMatch exec \"/nonexistent/cmd\"\n  Port 2108\n", q: sshQuery{Host: "ctl1"}},
	{name: "hostname with uppercase is lowered", config: "Host ctl1\n  HostName HEAD1.Cluster.Example\nMatch host head1.cluster.example\n  User lowered\n", q: sshQuery{Host: "ctl1"}},
	{name: "localuser", config: "Match localuser root,nobody\n  Port 2109\n", q: sshQuery{Host: "ctl1"}},
	{name: "match exec quoted with spaces and host", config: "Match host ctl* exec \"test -n '%r'\"\n  User matched\n", q: sshQuery{Host: "ctl9"}},
}

func realLocal(t *testing.T) sshLocal {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	l := localSide(Options{Home: u.HomeDir, User: u.Username})
	return l
}

// TestSSHResolversMatchOpenSSH holds the Go resolver (and the ssh -G
// reader) against `ssh -G` on every case, keyword by keyword. It fails,
// not skips, without an ssh client: the oracle is the point.
func TestSSHResolversMatchOpenSSH(t *testing.T) {
	bin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatalf("this test needs OpenSSH's ssh client (apt-get install openssh-client): %v", err)
	}
	if len(sshCases) < 40 {
		t.Fatalf("only %d cases", len(sshCases))
	}
	local := realLocal(t)
	// "Include rel.conf" is under ~/.ssh; ssh goes through that
	// directory, so it must exist for the relative case to include
	// anything. Made (and removed) only when missing.
	if sshDir := filepath.Join(local.Home, ".ssh"); !exists(sshDir) {
		if err := os.Mkdir(sshDir, 0o700); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(sshDir) })
	}
	for _, c := range sshCases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			rel, err := filepath.Rel(filepath.Join(local.Home, ".ssh"), dir)
			if err != nil {
				t.Fatal(err)
			}
			subst := func(s string) string {
				return strings.NewReplacer("{{DIR}}", dir, "{{REL}}", rel).Replace(s)
			}
			for name, body := range c.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(subst(body)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg := filepath.Join(dir, "config")
			if err := os.WriteFile(cfg, []byte(subst(c.config)), 0o600); err != nil {
				t.Fatal(err)
			}
			q := c.q
			q.IdentityFiles = nil
			for _, id := range c.q.IdentityFiles {
				q.IdentityFiles = append(q.IdentityFiles, subst(id))
			}
			// The oracle, run here and now.
			out, err := exec.Command(bin, sshGResolver{config: cfg}.args(q)...).Output()
			if err != nil {
				t.Fatalf("ssh -G: %v", err)
			}
			want := parseSSHG(string(out))
			if want.get("hostname") == "" {
				t.Fatalf("ssh -G printed no hostname:\n%s", out)
			}
			viaG, err := sshGResolver{bin: bin, config: cfg}.resolve(q)
			if err != nil {
				t.Fatal(err)
			}
			got, _, warns, err := (&goResolver{config: cfg, local: local}).resolve(q)
			if err != nil {
				t.Fatalf("Go resolver: %v (warnings %v)", err, warns)
			}
			for _, key := range sshDumpKeys {
				if !sameValues(viaG[key], want[key]) {
					t.Errorf("ssh -G resolver %s = %q, ssh -G says %q", key, viaG[key], want[key])
				}
				if !sameValues(got[key], want[key]) {
					t.Errorf("Go resolver %s = %q, ssh -G says %q", key, got[key], want[key])
				}
			}
			if t.Failed() {
				t.Logf("config:\n%s\nwarnings: %v", subst(c.config), warns)
			}
		})
	}
}

// TestSSHResolverRefusesAsSSHDoes: where ssh -G refuses a config, the Go
// resolver does not accept it silently either (a warning or an error).
func TestSSHResolverRefusesAsSSHDoes(t *testing.T) {
	bin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatalf("this test needs OpenSSH's ssh client: %v", err)
	}
	local := realLocal(t)
	for _, config := range []string{
		"Host ctl1\n  UseKeychain yes\n",
		"Host ctl1\n  User \"unterminated\n",
		"Match localnetwork 10.0.0.0/8\n  User x\n",
		"Host ctl1\n  Port notaport\n",
		"CanonicalizeHostname yes\nCanonicalizeFallbackLocal no\nCanonicalDomains example.invalid\n",
		"Match all host x\n  User y\n",
	} {
		cfg := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		q := sshQuery{Host: "ctl1"}
		if _, err := (sshGResolver{bin: bin, config: cfg}).resolve(q); err == nil {
			t.Errorf("ssh -G accepts %q; the case is wrong", config)
			continue
		}
		_, _, warns, err := (&goResolver{config: cfg, local: local}).resolve(q)
		if err == nil && len(warns) == 0 {
			t.Errorf("Go resolver accepts %q silently", config)
		}
		for _, w := range warns {
			if w.File != cfg || w.Line == 0 {
				t.Errorf("%q: warning without file:line: %v", config, w)
			}
		}
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestSSHResolverDefaultConfigs: without -F, ssh reads ~/.ssh/config and
// then /etc/ssh/ssh_config (Debian's includes /etc/ssh/ssh_config.d/);
// the Go resolver reads the same files the same way. The machine's own
// files are the input here and ssh -G is still the oracle.
func TestSSHResolverDefaultConfigs(t *testing.T) {
	bin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatalf("this test needs OpenSSH's ssh client: %v", err)
	}
	if _, err := os.Stat("/etc/ssh/ssh_config"); err != nil {
		t.Fatalf("no /etc/ssh/ssh_config to read: %v", err)
	}
	local := realLocal(t)
	for _, q := range []sshQuery{{Host: "ctl1"}, {Host: "node17.cluster.example", User: "admin", Port: 2222}} {
		want, err := sshGResolver{bin: bin}.resolve(q)
		if err != nil {
			t.Fatal(err)
		}
		got, _, warns, err := (&goResolver{local: local}).resolve(q)
		if err != nil {
			t.Fatalf("%v (%v)", err, warns)
		}
		for _, key := range sshDumpKeys {
			if !sameValues(got[key], want[key]) {
				t.Errorf("%s: Go resolver %s = %q, ssh -G says %q", q.Host, key, got[key], want[key])
			}
		}
	}
}

// TestGoResolverReadsSystemConfig: the system file is read after the
// user's, its values filling only what the user's left unset, and a
// relative Include in it is under /etc/ssh.
func TestGoResolverReadsSystemConfig(t *testing.T) {
	home := t.TempDir()
	sys := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte("Host ctl1\n  User fromuser\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sys, []byte("Host *\n  User fromsystem\n  Port 2299\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &goResolver{systemConfig: sys, local: sshLocal{Home: home, LocalUser: "me"}}
	d, origin, _, err := r.resolve(sshQuery{Host: "ctl1"})
	if err != nil {
		t.Fatal(err)
	}
	if d.get("user") != "fromuser" || d.get("port") != "2299" || origin["port"] != "ssh_config "+sys+":3" {
		t.Fatalf("user %q port %q (%v)", d.get("user"), d.get("port"), origin)
	}
}
