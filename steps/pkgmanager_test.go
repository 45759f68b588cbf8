package steps

// Internal tests of the package managers' parsers and of the probe's
// shell logic (package steps: the parsers are unexported, and these tests
// need no evidence.Recorder, whose import would be a cycle). The kind's
// behaviour through Plan and Apply is tested in package_test.go.

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Real output of pkgProbeLine on Debian 12 (apt 2.6.1), run as an
// unprivileged user, with install_recommends = false: hello and cron not
// installed (cron known to dpkg as "un"), bash and jq installed with
// newer versions in the lists, yq depending on jq.
const (
	aptPresentHelloCron = `@@apt 1001 1796188747 1796188245
cron un  
@@sim
NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
      Keep also in mind that locking is deactivated,
      so don't depend on the relevance to the real current situation!
Reading package lists...
Building dependency tree...
Reading state information...
The following additional packages will be installed:
  cron-daemon-common
Suggested packages:
  anacron logrotate checksecurity
Recommended packages:
  default-mta | mail-transport-agent
The following NEW packages will be installed:
  cron cron-daemon-common hello
0 upgraded, 3 newly installed, 0 to remove and 138 not upgraded.
Inst cron-daemon-common (3.0pl1-162 Debian:12.15/oldstable [all])
Conf cron-daemon-common (3.0pl1-162 Debian:12.15/oldstable [all])
Inst cron (3.0pl1-162 Debian:12.15/oldstable [amd64])
Inst hello (2.10-3 Debian:12.15/oldstable [amd64])
Conf cron (3.0pl1-162 Debian:12.15/oldstable [amd64])
Conf hello (2.10-3 Debian:12.15/oldstable [amd64])
@@rc 0
`
	aptLatestBashJqHello = `@@apt 1001 1796188751 1796188245
bash ii  5.2.15-2+b8
jq ii  1.6-2.1+deb12u1
@@sim
NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
      Keep also in mind that locking is deactivated,
      so don't depend on the relevance to the real current situation!
Reading package lists...
Building dependency tree...
Reading state information...
The following additional packages will be installed:
  libjq1
Suggested packages:
  bash-doc
Recommended packages:
  bash-completion
The following NEW packages will be installed:
  hello
The following packages will be upgraded:
  bash jq libjq1
3 upgraded, 1 newly installed, 0 to remove and 135 not upgraded.
Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.15/oldstable [amd64])
Conf bash (5.2.15-2+b13 Debian:12.15/oldstable [amd64])
Inst hello (2.10-3 Debian:12.15/oldstable [amd64])
Inst jq [1.6-2.1+deb12u1] (1.6-2.1+deb12u3 Debian-Security:12/oldstable-security [amd64]) []
Inst libjq1 [1.6-2.1+deb12u1] (1.6-2.1+deb12u3 Debian-Security:12/oldstable-security [amd64])
Conf hello (2.10-3 Debian:12.15/oldstable [amd64])
Conf jq (1.6-2.1+deb12u3 Debian-Security:12/oldstable-security [amd64])
Conf libjq1 (1.6-2.1+deb12u3 Debian-Security:12/oldstable-security [amd64])
@@rc 0
`
	aptAbsentJqHello = `@@apt 1001 1796188754 1796188245
jq ii  1.6-2.1+deb12u1
@@sim
NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
      Keep also in mind that locking is deactivated,
      so don't depend on the relevance to the real current situation!
Reading package lists...
Building dependency tree...
Reading state information...
The following packages were automatically installed and are no longer required:
  libjq1 libonig5 python3-argcomplete python3-toml python3-xmltodict
Use 'apt autoremove' to remove them.
The following packages will be REMOVED:
  jq yq
0 upgraded, 0 newly installed, 2 to remove and 137 not upgraded.
Remv yq [3.1.0-3]
Remv jq [1.6-2.1+deb12u1]
@@rc 0
`
	aptPresentUnknown = `@@apt 1001 1796188757 1796188245
@@sim
NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
      Keep also in mind that locking is deactivated,
      so don't depend on the relevance to the real current situation!
Reading package lists...
Building dependency tree...
Reading state information...
E: Unable to locate package nosuchpkg
@@rc 100
`
	aptPresentInstalled = `@@apt 1001 1796188758 1796188245
bash ii  5.2.15-2+b8
@@sim
@@rc 0
`
	aptPresentVirtual = `@@apt 1001 1796188758 1796188245
@@sim
NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
      Keep also in mind that locking is deactivated,
      so don't depend on the relevance to the real current situation!
Reading package lists...
Building dependency tree...
Reading state information...
Package mail-transport-agent is a virtual package provided by:
  exim4-daemon-light 4.96-15+deb12u11
  exim4-daemon-heavy 4.96-15+deb12u11
  ssmtp 2.64-11
  sendmail-bin 8.17.1.9-2+deb12u2
  postfix 3.7.11-0+deb12u1
  opensmtpd 6.8.0p2-4+b4
  nullmailer 1:2.2-4
  msmtp-mta 1.8.23-1
  esmtp-run 1.2-18
  dma 0.13-1+b1
  courier-mta 1.0.16-3+b6

E: Package 'mail-transport-agent' has no installation candidate
@@rc 100
`
)

func TestPkgParseAptFixtures(t *testing.T) {
	tests := []struct {
		name      string
		out       string
		names     []string
		installed map[string]string
		ops       []pkgOp
		simCode   int
		simErr    []string
	}{
		{"present, missing", aptPresentHelloCron, []string{"hello", "cron"}, map[string]string{},
			[]pkgOp{
				{"install", "cron-daemon-common", "", "3.0pl1-162"},
				{"install", "cron", "", "3.0pl1-162"},
				{"install", "hello", "", "2.10-3"},
			}, 0, nil},
		{"latest", aptLatestBashJqHello, []string{"bash", "jq", "hello"}, map[string]string{"bash": "5.2.15-2+b8", "jq": "1.6-2.1+deb12u1"},
			[]pkgOp{
				{"upgrade", "bash", "5.2.15-2+b8", "5.2.15-2+b13"},
				{"install", "hello", "", "2.10-3"},
				{"upgrade", "jq", "1.6-2.1+deb12u1", "1.6-2.1+deb12u3"},
				{"upgrade", "libjq1", "1.6-2.1+deb12u1", "1.6-2.1+deb12u3"},
			}, 0, nil},
		{"absent", aptAbsentJqHello, []string{"jq", "hello"}, map[string]string{"jq": "1.6-2.1+deb12u1"},
			[]pkgOp{{"remove", "yq", "3.1.0-3", ""}, {"remove", "jq", "1.6-2.1+deb12u1", ""}}, 0, nil},
		{"unknown name", aptPresentUnknown, []string{"nosuchpkg", "hello"}, map[string]string{}, nil, 100,
			[]string{"E: Unable to locate package nosuchpkg"}},
		{"all installed: no simulation", aptPresentInstalled, []string{"bash"}, map[string]string{"bash": "5.2.15-2+b8"}, nil, 0, nil},
		{"virtual package", aptPresentVirtual, []string{"mail-transport-agent"}, map[string]string{}, nil, 100,
			[]string{"E: Package 'mail-transport-agent' has no installation candidate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := pkgParse(tt.out, tt.names)
			if err != nil {
				t.Fatal(err)
			}
			if st.manager != "apt" || st.uid != 1001 || st.cacheTime != 1796188245 || st.now < st.cacheTime {
				t.Errorf("header: manager %q uid %d now %d cache %d", st.manager, st.uid, st.now, st.cacheTime)
			}
			if !reflect.DeepEqual(st.installed, tt.installed) {
				t.Errorf("installed = %v, want %v", st.installed, tt.installed)
			}
			if !reflect.DeepEqual(st.ops, tt.ops) {
				t.Errorf("ops = %+v\nwant %+v", st.ops, tt.ops)
			}
			if st.simCode != tt.simCode || !reflect.DeepEqual(st.simErr, tt.simErr) {
				t.Errorf("simulation exit %d %q, want %d %q", st.simCode, st.simErr, tt.simCode, tt.simErr)
			}
			if len(st.broken) != 0 {
				t.Errorf("broken = %v", st.broken)
			}
		})
	}
}

func TestPkgDecideAptFixtures(t *testing.T) {
	f := false
	tests := []struct {
		name    string
		step    packageStep
		out     string
		action  string // "install", "upgrade", "remove" lists as "i:..|u:..|r:.."
		changes []Change
		err     string
	}{
		{"present installs the missing and shows the dependency", packageStep{names: []string{"hello", "cron"}, state: "present", recommends: &f}, aptPresentHelloCron,
			"i:hello,cron|u:|r:", []Change{
				{"hello", "(absent)", "2.10-3"},
				{"cron", "(absent)", "3.0pl1-162"},
				{"cron-daemon-common (dependency)", "(absent)", "3.0pl1-162"},
			}, ""},
		{"latest upgrades, installs, and shows dependencies", packageStep{names: []string{"bash", "jq", "hello"}, state: "latest"}, aptLatestBashJqHello,
			"i:hello|u:bash,jq|r:", []Change{
				{"bash", "5.2.15-2+b8", "5.2.15-2+b13"},
				{"jq", "1.6-2.1+deb12u1", "1.6-2.1+deb12u3"},
				{"hello", "(absent)", "2.10-3"},
				{"libjq1 (dependency)", "1.6-2.1+deb12u1", "1.6-2.1+deb12u3"},
			}, ""},
		{"absent shows what else apt removes", packageStep{names: []string{"jq", "hello"}, state: "absent"}, aptAbsentJqHello,
			"i:|u:|r:jq", []Change{
				{"jq", "1.6-2.1+deb12u1", "(absent)"},
				{"yq (depends on a removed package)", "3.1.0-3", "(absent)"},
			}, ""},
		// apt's own lines for an MTA that replaces another (Conflicts).
		{"present shows what a conflict removes", packageStep{names: []string{"postfix"}, state: "present"},
			"@@apt 0 1796188747 1796188245\n@@sim\nRemv exim4-daemon-light [4.96-15+deb12u11]\nInst postfix (3.7.11-0+deb12u1 Debian:12.15/oldstable [amd64])\nConf postfix (3.7.11-0+deb12u1 Debian:12.15/oldstable [amd64])\n@@rc 0\n",
			"i:postfix|u:|r:", []Change{
				{"postfix", "(absent)", "3.7.11-0+deb12u1"},
				{"exim4-daemon-light (removed by this transaction)", "4.96-15+deb12u11", "(absent)"},
			}, ""},
		{"installed: nothing to do", packageStep{names: []string{"bash"}, state: "present"}, aptPresentInstalled, "i:|u:|r:", nil, ""},
		{"unknown name fails the plan", packageStep{names: []string{"nosuchpkg", "hello"}, state: "present"}, aptPresentUnknown, "", nil,
			"E: Unable to locate package nosuchpkg"},
		{"virtual package fails the plan", packageStep{names: []string{"mail-transport-agent"}, state: "present"}, aptPresentVirtual, "", nil,
			"has no installation candidate"},
		{"unknown name with a refresh pending: apply finds out", packageStep{names: []string{"nosuchpkg", "hello"}, state: "present", updateCache: true, validFor: time.Hour},
			strings.Replace(aptPresentUnknown, "1796188245", "1796180000", 1), "i:nosuchpkg,hello|u:|r:", []Change{
				{"apt lists", "stale (older than 1h)", "refreshed"},
				{"nosuchpkg", "(absent)", "(known after the refresh)"},
				{"hello", "(absent)", "(known after the refresh)"},
			}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := pkgParse(tt.out, tt.step.names)
			if err != nil {
				t.Fatal(err)
			}
			pp, changes, err := tt.step.decide(st)
			if tt.err != "" {
				f, ok := err.(*Failure)
				if !ok || !strings.Contains(f.Msg, tt.err) || f.Hint == "" {
					t.Fatalf("err = %#v, want a Failure with %q and a hint", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := "i:" + strings.Join(pp.install, ",") + "|u:" + strings.Join(pp.upgrade, ",") + "|r:" + strings.Join(pp.remove, ",")
			if got != tt.action {
				t.Errorf("plan %s, want %s", got, tt.action)
			}
			if !reflect.DeepEqual(changes, tt.changes) {
				t.Errorf("changes =\n %v\nwant\n %v", changes, tt.changes)
			}
			if tt.name == "present shows what a conflict removes" {
				if got := tt.step.summary(pp, changes); got != "install postfix 3.7.11-0+deb12u1; also removes exim4-daemon-light" {
					t.Errorf("summary %q", got)
				}
			}
		})
	}
}

// dnf 4 (RHEL 9) output in the shapes dnf's fmtColumns prints: a value
// wider than its column ends the line and the row goes on indented.
const (
	dnfPresent = `@@dnf 1000 1733130000 1733120000
package hello is not installed
package python3-some-really-long-package-name is not installed
bash 5.1.8-9.el9.x86_64
@@avail
Available Packages
hello.x86_64                    2.12.1-5.el9                     appstream
python3-some-really-long-package-name.noarch
                                1.0-1.el9                        appstream
@@rc 0
`
	dnfLatest = `@@dnf 0 1733130000 1733120000
bash 5.1.8-6.el9_1.x86_64
jq 1.6-15.el9.x86_64
@@avail
Error: No matching Packages to list
@@rc 1
@@upgrades
Available Upgrades
bash.x86_64                     5.1.8-9.el9                      baseos
@@rc 0
`
	dnfNoCache = `@@dnf 1000 1733130000
package hello is not installed
@@avail
Error: Cache-only enabled but no cache for 'appstream'
@@rc 1
`
	yumPresent = `@@yum 0 1733130000 1733129000
package hello is not installed
@@avail
Available Packages
hello.x86_64          2.10-1.el7          base
@@rc 0
`
)

func TestPkgParseDnfFixtures(t *testing.T) {
	st, err := pkgParse(dnfPresent, []string{"hello", "python3-some-really-long-package-name", "bash"})
	if err != nil {
		t.Fatal(err)
	}
	if st.manager != "dnf" || st.uid != 1000 || st.cacheTime != 1733120000 {
		t.Errorf("header: %+v", st)
	}
	if want := map[string]string{"bash": "5.1.8-9.el9.x86_64"}; !reflect.DeepEqual(st.installed, want) {
		t.Errorf("installed = %v", st.installed)
	}
	if want := map[string]string{"hello": "2.12.1-5.el9", "python3-some-really-long-package-name": "1.0-1.el9"}; !reflect.DeepEqual(st.candidate, want) {
		t.Errorf("candidate = %v, want %v", st.candidate, want)
	}
	pp, changes, err := (&packageStep{names: []string{"hello", "python3-some-really-long-package-name", "bash"}, state: "present"}).decide(st)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pp.install, []string{"hello", "python3-some-really-long-package-name"}) || len(changes) != 2 || changes[0] != (Change{"hello", "(absent)", "2.12.1-5.el9"}) {
		t.Errorf("install %v changes %v", pp.install, changes)
	}

	st, err = pkgParse(dnfLatest, []string{"bash", "jq"})
	if err != nil {
		t.Fatal(err)
	}
	if st.simCode != 0 {
		t.Errorf("an empty available list (exit 1) is not an error: %d %q", st.simCode, st.simErr)
	}
	pp, changes, err = (&packageStep{names: []string{"bash", "jq"}, state: "latest"}).decide(st)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pp.upgrade, []string{"bash"}) || !reflect.DeepEqual(changes, []Change{{"bash", "5.1.8-6.el9_1.x86_64", "5.1.8-9.el9"}}) {
		t.Errorf("upgrade %v changes %v", pp.upgrade, changes)
	}
	cmds := (&packageStep{names: []string{"bash", "jq"}, state: "latest"}).commands(pp)
	if want := [][]string{{"dnf", "-y", "upgrade", "bash"}}; !reflect.DeepEqual(cmds, want) {
		t.Errorf("commands %q, want %q", cmds, want)
	}

	st, err = pkgParse(dnfNoCache, []string{"hello"})
	if err != nil {
		t.Fatal(err)
	}
	if st.cacheTime != 0 {
		t.Errorf("no cache: cacheTime %d", st.cacheTime)
	}
	_, _, err = (&packageStep{names: []string{"hello"}, state: "present"}).decide(st)
	if f, ok := err.(*Failure); !ok || !strings.Contains(f.Msg, "Cache-only enabled") || !strings.Contains(f.Hint, "update_cache = true") {
		t.Errorf("no cache: err = %#v", err)
	}
	// With update_cache the plan refreshes first (never refreshed).
	pp, changes, err = (&packageStep{names: []string{"hello"}, state: "present", updateCache: true, validFor: time.Hour}).decide(st)
	if err != nil || !pp.refresh || changes[0] != (Change{"dnf metadata", "never refreshed", "refreshed"}) {
		t.Errorf("refresh: %v %+v %v", err, pp, changes)
	}
	if cmds := (&packageStep{names: []string{"hello"}, state: "present", recommends: new(bool)}).commands(pp); !reflect.DeepEqual(cmds, [][]string{
		{"dnf", "-y", "makecache", "--refresh"}, {"dnf", "-y", "--setopt=install_weak_deps=false", "install", "hello"}}) {
		t.Errorf("commands %q", cmds)
	}

	st, err = pkgParse(yumPresent, []string{"hello"})
	if err != nil {
		t.Fatal(err)
	}
	pp, _, err = (&packageStep{names: []string{"hello"}, state: "present", updateCache: true}).decide(st)
	if err != nil {
		t.Fatal(err)
	}
	if cmds := (&packageStep{names: []string{"hello"}, state: "present"}).commands(pp); !reflect.DeepEqual(cmds, [][]string{
		{"yum", "clean", "expire-cache"}, {"yum", "-y", "makecache"}, {"yum", "-y", "install", "hello"}}) {
		t.Errorf("yum commands %q", cmds)
	}
}

func TestPkgParseListWrapping(t *testing.T) {
	out := "Available Upgrades\n" +
		"a-very-long-package-name-that-overflows.x86_64\n" +
		"                                1.2.3-4.el9                      baseos\n" +
		"short.noarch                    1:2.0-1.el9.with.a.very.long.release\n" +
		"                                                                 appstream\n" +
		"other.x86_64                    3-1                              baseos\n"
	got := pkgParseList(out, []string{"a-very-long-package-name-that-overflows", "short", "other.x86_64", "absent"})
	want := map[string]string{"a-very-long-package-name-that-overflows": "1.2.3-4.el9", "short": "1:2.0-1.el9.with.a.very.long.release", "other.x86_64": "3-1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestPkgParseBadProbe(t *testing.T) {
	for _, out := range []string{"", "sh: 1: syntax error\n", "@@apt x 1 2\n", "@@apt 0\n"} {
		if _, err := pkgParse(out, []string{"hello"}); err == nil {
			t.Errorf("pkgParse(%q) accepted it", out)
		}
	}
	st, err := pkgParse("@@none\n", []string{"hello"})
	if err != nil || st.manager != "" {
		t.Errorf("@@none: %+v %v", st, err)
	}
}

// The probe's shell logic, run by a real /bin/sh against stub package
// managers: which names it simulates for each state, and which manager it
// detects. The stubs print what they were asked, so a quoting or word
// splitting mistake in the line shows up here.
func TestPkgProbeLineShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	// Only the utilities the probe uses, so the host's own apt-get or
	// dnf cannot be found.
	for _, u := range []string{"sh", "id", "date", "stat", "sort", "tail", "head", "cut", "find"} {
		p, err := exec.LookPath(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if err := os.Symlink(p, filepath.Join(bin, u)); err != nil {
			t.Fatal(err)
		}
	}
	stub := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!"+sh+"\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(line string) string {
		t.Helper()
		cmd := exec.Command(sh, "-c", line)
		cmd.Env = []string{"PATH=" + bin}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("probe failed: %v\n%s", err, out)
		}
		return string(out)
	}

	if out := run(pkgProbeLine("present", []string{"hello"}, nil)); out != "@@none\n" {
		t.Errorf("no manager: %q", out)
	}

	// dpkg-query: hello installed, cron removed with conffiles, libx
	// half-configured, the rest unknown to dpkg.
	stub("dpkg-query", `
fmt=$2; shift 2
for p in "$@"; do
  case $p in
  hello) s="ii "; v=2.10-3;;
  cron) s="rc "; v=3.0pl1-162;;
  libx) s="iF "; v=1.0;;
  *) echo "dpkg-query: no packages found matching $p" >&2; continue;;
  esac
  case $fmt in
  *Package*) echo "$p $s $v";;
  *) printf '%s' "$s";;
  esac
done`)
	stub("apt-get", `echo "apt-get $*"; exit 0`)
	tests := []struct {
		state string
		names []string
		rec   *bool
		sim   string
	}{
		{"present", []string{"hello", "cron", "libx", "new"}, nil, "apt-get -s -q install cron libx new"},
		{"present", []string{"hello"}, nil, ""},
		{"latest", []string{"hello", "new"}, nil, "apt-get -s -q install hello new"},
		{"absent", []string{"hello", "cron", "libx", "new"}, nil, "apt-get -s -q remove hello libx"},
		{"absent", []string{"cron", "new"}, nil, ""},
		{"present", []string{"new"}, new(bool), "apt-get -s -q -o APT::Install-Recommends=false install new"},
	}
	for _, tt := range tests {
		out := run(pkgProbeLine(tt.state, tt.names, tt.rec))
		_, sim, ok := strings.Cut(out, "@@sim\n")
		if !ok || !strings.HasPrefix(out, "@@apt ") {
			t.Errorf("%s %v: output %q", tt.state, tt.names, out)
			continue
		}
		want := "@@rc 0\n"
		if tt.sim != "" {
			want = tt.sim + "\n" + want
		}
		if sim != want {
			t.Errorf("%s %v: simulation %q, want %q", tt.state, tt.names, sim, want)
		}
		st, err := pkgParse(out, tt.names)
		if err != nil {
			t.Fatal(err)
		}
		if contains(tt.names, "hello") && st.installed["hello"] != "2.10-3" || contains(tt.names, "libx") && st.broken["libx"] != "iF" {
			t.Errorf("%s %v: parsed %+v", tt.state, tt.names, st)
		}
		if _, ok := st.installed["cron"]; ok {
			t.Errorf("cron with only its conffiles left counts as installed")
		}
	}

	// A refresh-only step reads no package: dpkg-query with no names
	// would list every installed package.
	if out := run(pkgProbeLine("present", nil, nil)); !strings.HasPrefix(out, "@@apt ") || strings.Count(out, "\n") != 1 {
		t.Errorf("refresh-only probe printed %q", out)
	}

	// dnf: no apt-get on the PATH.
	for _, u := range []string{"apt-get", "dpkg-query"} {
		os.Remove(filepath.Join(bin, u))
	}
	stub("rpm", `shift 3; for p in "$@"; do if [ "$p" = bash ]; then echo "bash 5.1.8-9.el9.x86_64"; else echo "package $p is not installed"; fi; done`)
	stub("dnf", `echo "dnf $*"`)
	out := run(pkgProbeLine("latest", []string{"bash", "hello"}, nil))
	for _, want := range []string{"@@dnf ", "bash 5.1.8-9.el9.x86_64\npackage hello is not installed\n",
		"@@avail\ndnf -C -q list --available bash hello\n@@rc 0\n", "@@upgrades\ndnf -C -q list --upgrades bash hello\n@@rc 0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("dnf probe lacks %q:\n%s", want, out)
		}
	}
	if out := run(pkgProbeLine("absent", []string{"bash"}, nil)); strings.Contains(out, "@@avail") {
		t.Errorf("absent asks for the available list:\n%s", out)
	}
	if out := run(pkgProbeLine("latest", nil, nil)); !strings.HasPrefix(out, "@@dnf ") || strings.Count(out, "\n") != 1 {
		t.Errorf("refresh-only dnf probe printed %q", out)
	}
	os.Remove(filepath.Join(bin, "dnf"))
	stub("yum", `echo "yum $*"`)
	if out := run(pkgProbeLine("present", []string{"hello"}, nil)); !strings.HasPrefix(out, "@@yum ") || !strings.Contains(out, "yum -C -q list available hello") {
		t.Errorf("yum probe:\n%s", out)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestPkgDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", 90 * time.Minute: "1h30m", 45 * time.Second: "45s", 2*time.Hour + 3*time.Second: "2h0m3s", 24 * time.Hour: "24h", 5 * time.Minute: "5m",
	} {
		if got := pkgDuration(d); got != want {
			t.Errorf("pkgDuration(%s) = %q, want %q", d, got, want)
		}
	}
	for in, want := range map[string]time.Duration{"1h": time.Hour, "3600": time.Hour, " 30m ": 30 * time.Minute} {
		if got, err := pkgParseDuration(in); err != nil || got != want {
			t.Errorf("pkgParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"1d", "soon", "-5", "-1h", ""} {
		if _, err := pkgParseDuration(in); err == nil {
			t.Errorf("pkgParseDuration(%q) accepted it", in)
		}
	}
}
