package steps

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// This file holds what the package kind knows about package managers:
// the one read-only probe that detects the manager and reads the state of
// the named packages (apt: dpkg-query and an `apt-get -s` simulation of the very transaction apply would run; dnf
// and yum: rpm -q and the cached repository lists), the parsers of what
// those tools print, and the commands apply runs.

// pkgNameRe accepts Debian and RPM package names (letters, digits, + . _ -,
// not starting with - so no name can be read as an option) with an
// optional :arch (apt) suffix. Names go unquoted into the probe's word
// list, so nothing the shell treats specially may pass.
var pkgNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._-]*(:[A-Za-z0-9_-]+)?$`)

// checkPackageName says why name cannot be a package name.
func checkPackageName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("a package name is empty")
	case strings.ContainsAny(name, "=<>"):
		return fmt.Errorf("%q: version pins are not supported; name the package only (state = \"latest\" keeps it at the newest version)", name)
	case strings.ContainsAny(name, "*?[]"):
		return fmt.Errorf("%q: wildcards are not supported; list each package", name)
	case strings.ContainsAny(name, " \t\n"):
		return fmt.Errorf("%q: one package per list element", name)
	case !pkgNameRe.MatchString(name):
		return fmt.Errorf("%q is not a package name (letters, digits, +, ., _ and -, not starting with -)", name)
	}
	return nil
}

// pkgParseDuration reads a validity window as the common timeout attribute
// does: "30s", "5m", "1h30m", or a number of seconds.
func pkgParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 && n < int64(1<<63-1)/int64(time.Second) {
		return time.Duration(n) * time.Second, nil
	}
	return 0, fmt.Errorf("%q is not a duration; write it like \"30m\", \"1h\" or \"24h\"", s)
}

// pkgDuration prints a duration the way an admin writes it: "1h", "1h30m",
// "45s" rather than Go's "1h0m0s".
func pkgDuration(d time.Duration) string {
	if d >= time.Minute {
		d = d.Round(time.Second)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// pkgState is what the probe found on the host.
type pkgState struct {
	// manager is "apt", "dnf" or "yum"; "" when the host has none.
	manager string
	uid     int
	// now and cacheTime are the host's clock and the time its package
	// lists were last refreshed (Unix seconds; cacheTime 0: never). Both
	// come from the host, so the controller's clock does not matter.
	now, cacheTime int64
	// installed maps each named package that is installed to its version.
	installed map[string]string
	// broken maps named packages dpkg knows as neither installed nor
	// absent (half-installed, unpacked...) to their status letters.
	broken map[string]string
	// candidate (dnf/yum) is the version the lists offer for a package
	// that is not installed (dnf list available); missing: none. apt's
	// simulation gives the same (and the dependencies).
	candidate map[string]string
	// upgrades (dnf/yum, state latest) maps installed packages to the
	// newer version the lists offer.
	upgrades map[string]string
	// ops is the transaction apt-get -s simulated (apt only).
	ops []pkgOp
	// simCode and simErr are the simulation's (dnf: the list's) exit code
	// and error lines, when it failed.
	simCode int
	simErr  []string
}

// pkgOp is one line of an apt-get -s transaction.
type pkgOp struct {
	op   string // "install", "upgrade", "remove"
	name string
	from string // version before (upgrade, remove)
	to   string // version after (install, upgrade)
}

// pkgProbeLine builds the one read-only command that detects the package
// manager and reads the state of names for state. It needs no privilege:
// dpkg-query, apt-cache and `apt-get -s` (which takes no lock) read
// world-readable files, and dnf/yum run from their cache (-C), so a plan
// never touches the network or the package database. Everything is one
// line so the evidence shows it as it ran (and a checklist's Markdown
// list stays intact).
func pkgProbeLine(state string, names []string, recommends *bool) string {
	words := pkgWords(names)
	simOpts := "-s -q"
	if recommends != nil {
		simOpts += " -o APT::Install-Recommends=" + strconv.FormatBool(*recommends)
	}
	var b strings.Builder
	b.WriteString("export LC_ALL=C; ")
	b.WriteString("if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then ")
	// apt-get update always writes into lists/partial, even when every
	// list is unchanged (the list files keep the server's dates), so its
	// mtime is when the lists were last refreshed; update-success-stamp
	// is the stamp Ubuntu (and Ansible's apt module) use.
	b.WriteString(`echo "@@apt $(id -u) $(date +%s) $(stat -c %Y /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists/partial /var/lib/apt/lists 2>/dev/null | sort -n | tail -n 1)"; `)
	// Without names (a step that only refreshes the lists) only the
	// header is wanted: dpkg-query, rpm and dnf list with no names would
	// list every package there is.
	if len(names) > 0 {
		b.WriteString(`dpkg-query -W -f='${Package} ${db:Status-Abbrev} ${Version}\n' ` + words + ` 2>/dev/null; `)
		// The simulation covers exactly what apply would pass to apt-get:
		// the missing packages (present), all of them (latest: apt-get
		// install upgrades the installed ones), the installed ones (absent).
		// It runs only when there is something to simulate: each apt-get
		// loads the whole package cache (seconds on a host without
		// pkgcache.bin), while dpkg-query alone takes milliseconds. It also
		// gives the versions apply would install, so `apt-cache policy` is
		// not needed.
		switch state {
		case "present":
			b.WriteString(`t=; for p in ` + words + `; do case "$(dpkg-query -W -f='${db:Status-Abbrev}' $p 2>/dev/null)" in ii*) ;; *) t="$t $p";; esac; done; v=install; `)
		case "latest":
			b.WriteString(`t="` + words + `"; v=install; `)
		case "absent":
			b.WriteString(`t=; for p in ` + words + `; do case "$(dpkg-query -W -f='${db:Status-Abbrev}' $p 2>/dev/null)" in ?n*|?c*|'') ;; *) t="$t $p";; esac; done; v=remove; `)
		}
		b.WriteString(`echo @@sim; if [ -n "$t" ]; then apt-get ` + simOpts + ` $v $t 2>&1; echo "@@rc $?"; else echo "@@rc 0"; fi; `)
	}
	b.WriteString("elif command -v dnf >/dev/null 2>&1 || command -v yum >/dev/null 2>&1; then ")
	// dnf and yum spell their list filters differently.
	b.WriteString(`m=yum; a="list available"; u="list updates"; if command -v dnf >/dev/null 2>&1; then m=dnf; a="list --available"; u="list --upgrades"; fi; `)
	// The oldest repomd.xml of the cache is the stalest repository.
	b.WriteString(`echo "@@$m $(id -u) $(date +%s) $(find /var/cache/dnf /var/cache/libdnf5 /var/cache/yum -name repomd.xml -printf '%T@\n' 2>/dev/null | sort -n | head -n 1 | cut -d. -f1)"; `)
	if len(names) > 0 {
		b.WriteString(`rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}.%{ARCH}\n' ` + words + ` 2>&1; `)
	}
	if state != "absent" && len(names) > 0 {
		b.WriteString(`echo @@avail; $m -C -q $a ` + words + ` 2>&1; echo "@@rc $?"; `)
	}
	if state == "latest" && len(names) > 0 {
		b.WriteString(`echo @@upgrades; $m -C -q $u ` + words + ` 2>&1; echo "@@rc $?"; `)
	}
	b.WriteString("else echo @@none; fi")
	return b.String()
}

// pkgWords joins validated names for the shell (they need no quoting,
// see pkgNameRe; ShellQuote keeps them bare).
func pkgWords(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = transport.ShellQuote(n)
	}
	return strings.Join(q, " ")
}

// pkgParse reads what pkgProbeLine printed.
func pkgParse(out string, names []string) (*pkgState, error) {
	st := &pkgState{installed: map[string]string{}, broken: map[string]string{}, candidate: map[string]string{}, upgrades: map[string]string{}}
	sections := map[string]string{}
	var section string
	var header []string
	var body strings.Builder
	flush := func() {
		if section != "" {
			sections[section] += body.String()
		}
		body.Reset()
	}
	for line := range strings.Lines(out) {
		l := strings.TrimRight(line, "\r\n")
		if !strings.HasPrefix(l, "@@") {
			body.WriteString(l + "\n")
			continue
		}
		f := strings.Fields(l[2:])
		if len(f) == 0 {
			body.WriteString(l + "\n")
			continue
		}
		switch f[0] {
		case "apt", "dnf", "yum":
			flush()
			section, header = "head", f
		case "none":
			return st, nil
		case "sim", "avail", "upgrades":
			flush()
			section = f[0]
		case "rc":
			// The exit code of the section's command, on a line of its own.
			if len(f) == 2 {
				body.WriteString("@@rc " + f[1] + "\n")
			}
		default:
			body.WriteString(l + "\n")
		}
	}
	flush()
	if len(header) < 3 {
		return nil, fmt.Errorf("the probe did not say which package manager the host has (output: %q)", tail(out, 5))
	}
	st.manager = header[0]
	var err error
	if st.uid, err = strconv.Atoi(header[1]); err != nil {
		return nil, fmt.Errorf("the probe printed a bad uid %q", header[1])
	}
	if st.now, err = strconv.ParseInt(header[2], 10, 64); err != nil {
		return nil, fmt.Errorf("the probe printed a bad time %q", header[2])
	}
	if len(header) > 3 {
		st.cacheTime, _ = strconv.ParseInt(header[3], 10, 64)
	}
	if st.manager == "apt" {
		pkgParseDpkg(sections["head"], st)
		sim, code := pkgSplitRC(sections["sim"])
		st.simCode = code
		st.ops, st.simErr = pkgParseSim(sim)
		return st, nil
	}
	pkgParseRPM(sections["head"], names, st)
	if s, ok := sections["avail"]; ok {
		text, code := pkgSplitRC(s)
		st.candidate = pkgParseList(text, names)
		// Nothing to list is exit 1 with "No matching Packages": every
		// name is installed (or none exists, which decide reports per
		// name). Any other error (no cache) blocks the plan.
		if code != 0 && !strings.Contains(text, "No matching Packages") {
			st.simCode, st.simErr = code, pkgErrorLines(text)
		}
	}
	if s, ok := sections["upgrades"]; ok {
		text, _ := pkgSplitRC(s)
		st.upgrades = pkgParseList(text, names)
	}
	return st, nil
}

// pkgSplitRC separates a section's output from the "@@rc N" line after it.
func pkgSplitRC(s string) (string, int) {
	i := strings.LastIndex(s, "@@rc ")
	if i < 0 {
		return s, 0
	}
	code, err := strconv.Atoi(strings.TrimSpace(s[i+5:]))
	if err != nil {
		code = -1
	}
	return s[:i], code
}

// pkgParseDpkg reads `dpkg-query -W -f='${Package} ${db:Status-Abbrev}
// ${Version}\n'` lines. The status is three letters (desired, current,
// error), e.g. "ii " installed, "rc " removed with its conffiles kept,
// "iU " unpacked but not configured.
func pkgParseDpkg(s string, st *pkgState) {
	for line := range strings.Lines(s) {
		name, rest, ok := strings.Cut(strings.TrimRight(line, "\n"), " ")
		if !ok || len(rest) < 3 {
			continue
		}
		status, version := rest[:3], strings.TrimSpace(rest[3:])
		switch {
		case status[1] == 'i':
			st.installed[name] = version
		case status[1] == 'n' || status[1] == 'c':
			// Not installed (config files left behind count as absent).
		default:
			st.broken[name] = strings.TrimSpace(status)
		}
	}
}

// pkgSimRe matches apt-get -s transaction lines:
//
//	Inst hello (2.10-3 Debian:12.11/stable [amd64])
//	Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.15/oldstable [amd64])
//	Remv jq [1.6-2.1+deb12u1]
var pkgSimRe = regexp.MustCompile(`^(Inst|Remv|Purg) (\S+)(?: \[([^\]]*)\])?(?: \((\S+)[^)]*\))?`)

// pkgParseSim reads an apt-get -s transaction and its E: error lines.
func pkgParseSim(s string) ([]pkgOp, []string) {
	var ops []pkgOp
	for line := range strings.Lines(s) {
		m := pkgSimRe.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil {
			continue
		}
		op := pkgOp{name: m[2], from: m[3], to: m[4]}
		switch {
		case m[1] != "Inst":
			op.op, op.to = "remove", ""
		case op.from != "":
			op.op = "upgrade"
		default:
			op.op = "install"
		}
		ops = append(ops, op)
	}
	return ops, pkgErrorLines(s)
}

// pkgErrorLines keeps apt's "E: ..." and dnf's "Error: ..." lines.
func pkgErrorLines(s string) []string {
	var out []string
	for line := range strings.Lines(s) {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "E: ") || strings.HasPrefix(l, "Error: ") || strings.HasPrefix(l, "Error:") {
			out = append(out, l)
		}
	}
	return out
}

// pkgParseRPM reads `rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}.%{ARCH}\n'`
// lines; "package X is not installed" lines are skipped.
func pkgParseRPM(s string, names []string, st *pkgState) {
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		for _, n := range names {
			if f[0] == n || strings.HasPrefix(n, f[0]+".") {
				if _, dup := st.installed[n]; !dup {
					st.installed[n] = f[1]
				}
			}
		}
	}
}

// pkgParseList reads `dnf list --available|--upgrades` (yum: `list
// available|updates`) output: "name.arch  version  repo" rows under a
// header. A value wider than its column ends its line and the row goes on,
// indented, on the next (dnf's and yum's fmtColumns), so a row is a
// line that starts in column 0 plus the indented lines after it.
func pkgParseList(s string, names []string) map[string]string {
	out := map[string]string{}
	var rows [][]string
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if line[0] == ' ' && len(rows) > 0 {
			rows[len(rows)-1] = append(rows[len(rows)-1], f...)
			continue
		}
		rows = append(rows, f)
	}
	for _, f := range rows {
		if len(f) != 3 || !strings.Contains(f[0], ".") {
			continue
		}
		na := f[0]
		for _, n := range names {
			// name.arch matches the name; a name given as name.arch
			// matches itself.
			if na == n || (strings.HasPrefix(na, n+".") && !strings.Contains(na[len(n)+1:], ".")) {
				if _, dup := out[n]; !dup {
					out[n] = f[1]
				}
			}
		}
	}
	return out
}

// pkgManagerCmds are the commands apply runs, per manager.
type pkgManagerCmds struct {
	manager    string
	recommends *bool
}

// aptGet is apt-get as apply runs it: DEBIAN_FRONTEND=noninteractive so
// debconf asks nothing, a changed conffile keeps the admin's version
// (dpkg's default answer instead of a prompt), and apt waits up to five
// minutes for a lock held by another apt (unattended-upgrades at boot)
// instead of failing at once. It goes through env(1) rather than the
// transport's Env so the variable is visible in the plan and evidence.
func (c pkgManagerCmds) aptGet(verb string, args ...string) []string {
	argv := []string{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q",
		"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
		"-o", "DPkg::Lock::Timeout=300"}
	if verb == "install" && c.recommends != nil {
		if *c.recommends {
			argv = append(argv, "--install-recommends")
		} else {
			argv = append(argv, "--no-install-recommends")
		}
	}
	return append(append(argv, verb), args...)
}

func (c pkgManagerCmds) dnf(verb string, args ...string) []string {
	argv := []string{c.manager, "-y"}
	if verb == "install" && c.recommends != nil && c.manager == "dnf" {
		argv = append(argv, "--setopt=install_weak_deps="+strconv.FormatBool(*c.recommends))
	}
	return append(append(argv, verb), args...)
}

// refresh returns the commands that refresh the package lists.
func (c pkgManagerCmds) refresh() [][]string {
	switch c.manager {
	case "apt":
		return [][]string{c.aptGet("update")}
	case "dnf":
		return [][]string{{"dnf", "-y", "makecache", "--refresh"}}
	default:
		// yum makecache keeps metadata it thinks fresh; expire it first.
		return [][]string{{"yum", "clean", "expire-cache"}, {"yum", "-y", "makecache"}}
	}
}

func (c pkgManagerCmds) install(names []string) []string {
	if c.manager == "apt" {
		return c.aptGet("install", names...)
	}
	return c.dnf("install", names...)
}

func (c pkgManagerCmds) upgrade(names []string) []string {
	switch c.manager {
	case "apt":
		// apt-get install upgrades installed packages to the candidate and
		// installs missing ones, without touching anything else (apt-get
		// upgrade would upgrade the whole system).
		return c.aptGet("install", names...)
	case "dnf":
		return c.dnf("upgrade", names...)
	default:
		return c.dnf("update", names...)
	}
}

func (c pkgManagerCmds) remove(names []string) []string {
	if c.manager == "apt" {
		return c.aptGet("remove", names...)
	}
	return c.dnf("remove", names...)
}

// pkgAdvice turns a package manager's failure into a hint.
func pkgAdvice(text string) string {
	switch {
	case strings.Contains(text, "Unable to locate package"), strings.Contains(text, "No match for argument"),
		strings.Contains(text, "No package ") && strings.Contains(text, " available"):
		return "check the name (apt-cache search / dnf search); if the package lists are old or empty, set update_cache = true"
	case strings.Contains(text, "has no installation candidate"):
		return "the name is known but nothing installable provides it (a virtual package, or a repository is missing); name a real package or set update_cache = true"
	case strings.Contains(text, "Could not get lock"), strings.Contains(text, "Unable to acquire the dpkg frontend lock"),
		strings.Contains(text, "is held by process"):
		return "another apt or dpkg holds the package database lock (unattended-upgrades, another admin); wait for it and apply again"
	case strings.Contains(text, "are you root?"), strings.Contains(text, "Permission denied"),
		strings.Contains(text, "has to be run with superuser privileges"), strings.Contains(text, "You need to be root"):
		return "installing packages needs root: set become = true on the step"
	case strings.Contains(text, "dpkg was interrupted"):
		return "an earlier dpkg run was interrupted; run `dpkg --configure -a` as root on the host, then apply again"
	case strings.Contains(text, "Cache-only enabled but no cache"):
		return "the host has no package metadata cache yet: set update_cache = true"
	case strings.Contains(text, "Unmet dependencies"), strings.Contains(text, "held broken packages"):
		return "the packages cannot be installed together on this host; read apt's explanation above"
	}
	return ""
}

// pkgVersionList formats "hello 2.10-3, cron 3.0pl1-162" for names in order.
func pkgVersionList(names []string, versions map[string]string) string {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		if v := versions[n]; v != "" {
			parts = append(parts, n+" "+v)
		} else {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, ", ")
}

// pkgSorted returns m's keys sorted.
func pkgSorted(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
