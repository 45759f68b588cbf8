package facts

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// formatVersion is what gather.sh prints in its format section; Parse
// reads no other.
const formatVersion = "1"

const markerPrefix, markerSuffix = "==runbook-facts:", "=="

// ErrNotFacts is returned (wrapped) when the output is not Script's: no
// format section, or a format this package does not read.
var ErrNotFacts = errors.New("not the output of the facts script")

// section is one ==runbook-facts:NAME== block of the script's output.
type section struct {
	lines  []string // content, without the leading '|'
	status []string // the words after '!' (none; exit N)
}

func (s *section) none() bool { return s == nil || slices.Contains(s.status, "none") }

// exit is the N of an "!exit N" line, or -1 when there is none.
func (s *section) exit() int {
	for _, st := range s.status {
		if n, ok := strings.CutPrefix(st, "exit "); ok {
			if v, err := strconv.Atoi(n); err == nil {
				return v
			}
		}
	}
	return -1
}

// Parse reads Script's stdout. It never fails on a missing piece (a host
// without nvidia-smi, a container without /proc/meminfo): what is absent
// stays empty or zero and Facts.Notes says why. It fails only when out is
// not Script's output at all (ErrNotFacts).
func Parse(out []byte) (Facts, error) {
	sections, stray, err := splitSections(string(out))
	if err != nil {
		return Facts{}, err
	}
	var f Facts
	note := func(format string, args ...any) { f.Notes = append(f.Notes, fmt.Sprintf(format, args...)) }
	if stray > 0 {
		note("%d line(s) of the output belong to no section and were ignored", stray)
	}
	if _, ok := sections["end"]; !ok {
		note("the output stops before its end marker (cut short?): facts after the last section are missing")
	}

	// A section missing altogether means the output was cut short, which
	// the end-marker note already says.
	switch s := sections["os-release"]; {
	case s == nil:
	case s.none():
		note("os: neither /etc/os-release nor /usr/lib/os-release is readable")
	default:
		kv := parseOSRelease(s.lines)
		f.OS = OS{
			ID:        kv["ID"],
			Name:      kv["NAME"],
			Version:   kv["VERSION"],
			VersionID: kv["VERSION_ID"],
			Codename:  kv["VERSION_CODENAME"],
		}
		f.OS.VersionMajor, _, _ = strings.Cut(f.OS.VersionID, ".")
		f.OS.Family = family(f.OS.ID, strings.Fields(kv["ID_LIKE"]))
		if f.OS.ID == "" {
			note("os: os-release has no ID")
		} else if f.OS.Family == "" {
			note("os: family unknown for ID %q (ID_LIKE %q)", f.OS.ID, kv["ID_LIKE"])
		}
	}

	switch s := sections["uname"]; {
	case s == nil:
	case s.none() || len(s.lines) == 0:
		note("hostname, kernel, architecture: uname did not run")
	case len(strings.Fields(s.lines[0])) != 3:
		note("hostname, kernel, architecture: uname printed %q, not 3 fields", s.lines[0])
	default:
		fields := strings.Fields(s.lines[0])
		f.Hostname, f.Kernel, f.Architecture = fields[0], fields[1], fields[2]
	}

	switch s := sections["fqdn"]; {
	case s == nil:
	case s.none():
		note("fqdn: hostname is not installed")
	case s.exit() == 124:
		note("fqdn: hostname -f took more than 3 s (resolver) and was stopped")
	case s.exit() != 0:
		note("fqdn: hostname -f failed (exit %d)", s.exit())
	case len(s.lines) == 0 || strings.TrimSpace(s.lines[0]) == "":
		note("fqdn: hostname -f printed nothing")
	default:
		f.FQDN = strings.TrimSpace(s.lines[0])
	}

	if s := sections["cpus"]; s != nil {
		if n, err := strconv.Atoi(firstLine(s)); err == nil && n > 0 {
			f.CPUs = n
		} else {
			note("cpus: neither nproc nor getconf _NPROCESSORS_ONLN gave a count")
		}
	}

	if s := sections["meminfo"]; s != nil {
		if kb, ok := memTotalKB(s.lines); ok {
			f.MemoryMB = kb / 1024
		} else if s.none() {
			note("memory_mb: /proc/meminfo is not readable")
		} else {
			note("memory_mb: /proc/meminfo has no MemTotal line")
		}
	}

	if s := sections["init"]; s != nil {
		f.InitSystem = initSystem(s.lines)
		if f.InitSystem == "unknown" {
			note("init_system: no /run/systemd/system or /run/openrc, and PID 1 (%s) is no init system known here", pid1(s.lines))
		}
	}

	if s := sections["package-managers"]; s != nil {
		f.PackageManager = packageManager(f.OS.Family, s.lines)
		if f.PackageManager == "" {
			note("package_manager: none of apt-get, dnf, yum, zypper, apk, pacman, emerge is on PATH")
		}
	}

	devices := deviceFiles(sections["dev-nvidia"])
	f.GPUs = smiGPUs(sections["nvidia-smi"], devices, note)
	if f.GPUs == nil {
		for _, d := range devices {
			f.GPUs = append(f.GPUs, GPU{Index: d.index, Device: d.path})
		}
	}
	return f, nil
}

// splitSections cuts out into its sections. Lines before the first marker
// (a login banner a shell printed) are not counted as stray.
func splitSections(out string) (map[string]*section, int, error) {
	sections := map[string]*section{}
	var cur *section
	stray := 0
	for line := range strings.Lines(out) {
		line = strings.TrimSuffix(line, "\n")
		if name, ok := marker(line); ok {
			cur = &section{}
			sections[name] = cur
			continue
		}
		switch {
		case cur == nil:
		case strings.HasPrefix(line, "|"):
			cur.lines = append(cur.lines, line[1:])
		case strings.HasPrefix(line, "!"):
			cur.status = append(cur.status, line[1:])
		default:
			stray++
		}
	}
	format := sections["format"]
	if format == nil {
		return nil, 0, fmt.Errorf("%w: it has no %sformat%s section", ErrNotFacts, markerPrefix, markerSuffix)
	}
	if v := firstLine(format); v != formatVersion {
		return nil, 0, fmt.Errorf("%w: format %q, this runbook reads format %s", ErrNotFacts, v, formatVersion)
	}
	return sections, stray, nil
}

func marker(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, markerPrefix)
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, markerSuffix)
}

func firstLine(s *section) string {
	if s == nil || len(s.lines) == 0 {
		return ""
	}
	return strings.TrimSpace(s.lines[0])
}

// parseOSRelease reads os-release(5): KEY=VALUE lines, values in shell
// quoting (double quotes with \ escapes, single quotes, or bare words).
func parseOSRelease(lines []string) map[string]string {
	kv := map[string]string{}
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			continue
		}
		kv[k] = unquoteShell(v)
	}
	return kv
}

// unquoteShell undoes the shell quoting os-release(5) allows in a value.
func unquoteShell(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\'':
			j := strings.IndexByte(v[i+1:], '\'')
			if j < 0 {
				b.WriteString(v[i+1:])
				return b.String()
			}
			b.WriteString(v[i+1 : i+1+j])
			i += j + 1
		case '"':
			for i++; i < len(v) && v[i] != '"'; i++ {
				// Inside double quotes a backslash escapes only $ ` " \.
				if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("$`\"\\", v[i+1]) >= 0 {
					i++
				}
				b.WriteByte(v[i])
			}
		case '\\':
			if i+1 < len(v) {
				i++
				b.WriteByte(v[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// familyByID is Ansible's OS_FAMILY_MAP, keyed by os-release ID.
var familyByID = map[string]string{}

func init() {
	for fam, ids := range map[string][]string{
		"Debian":    {"debian", "ubuntu", "raspbian", "linuxmint", "pop", "kali", "devuan", "neon", "elementary", "zorin", "parrot", "deepin", "uos", "kylin"},
		"RedHat":    {"rhel", "centos", "rocky", "almalinux", "fedora", "ol", "amzn", "scientific", "cloudlinux", "virtuozzo", "eurolinux", "circle", "navylinux", "miraclelinux", "openEuler", "anolis", "tencentos"},
		"Suse":      {"sles", "sles_sap", "sled", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "opensuse-microos", "opensuse-slowroll", "sle-micro", "sl-micro", "suse"},
		"Archlinux": {"arch", "archarm", "manjaro", "manjaro-arm", "endeavouros", "artix"},
		"Alpine":    {"alpine"},
		"Gentoo":    {"gentoo"},
	} {
		for _, id := range ids {
			familyByID[id] = fam
		}
	}
}

// familyByLike maps the ID_LIKE words that name a family's root.
var familyByLike = map[string]string{
	"debian": "Debian", "ubuntu": "Debian",
	"rhel": "RedHat", "fedora": "RedHat", "centos": "RedHat",
	"suse": "Suse", "opensuse": "Suse",
	"arch":   "Archlinux",
	"alpine": "Alpine",
	"gentoo": "Gentoo",
}

func family(id string, like []string) string {
	if fam := familyByID[id]; fam != "" {
		return fam
	}
	for _, l := range like {
		if fam := familyByLike[l]; fam != "" {
			return fam
		}
	}
	return ""
}

// packageManager picks, among the commands gather.sh found on PATH, the
// one of the OS family (a Debian host with dnf installed still uses apt),
// else the first found. Names are Ansible's pkg_mgr values; dnf5 counts as dnf.
func packageManager(family string, found []string) string {
	name := map[string]string{"apt-get": "apt", "dnf5": "dnf", "dnf": "dnf", "yum": "yum", "zypper": "zypper", "apk": "apk", "pacman": "pacman", "emerge": "portage"}
	prefer := map[string][]string{
		"Debian": {"apt-get"}, "RedHat": {"dnf5", "dnf", "yum"}, "Suse": {"zypper"},
		"Alpine": {"apk"}, "Archlinux": {"pacman"}, "Gentoo": {"emerge"},
	}[family]
	for _, c := range prefer {
		if slices.Contains(found, c) {
			return name[c]
		}
	}
	for _, c := range found {
		if n := name[c]; n != "" {
			return n
		}
	}
	return ""
}

func pid1(lines []string) string {
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "pid1="); ok {
			return v
		}
	}
	return "unreadable"
}

func initSystem(lines []string) string {
	switch {
	case slices.Contains(lines, "run-systemd-system"):
		return "systemd"
	case slices.Contains(lines, "run-openrc"):
		return "openrc"
	}
	switch pid1(lines) {
	case "systemd":
		return "systemd"
	case "init":
		return "sysvinit"
	case "openrc-init":
		return "openrc"
	case "runit":
		return "runit"
	case "s6-svscan":
		return "s6"
	}
	return "unknown"
}

func memTotalKB(lines []string) (int64, bool) {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb, err == nil && kb > 0
		}
	}
	return 0, false
}

type deviceFile struct {
	index int
	path  string
}

// deviceFiles are the /dev/nvidiaN files, by N.
func deviceFiles(s *section) []deviceFile {
	var out []deviceFile
	if s == nil {
		return nil
	}
	for _, l := range s.lines {
		n, ok := strings.CutPrefix(l, "/dev/nvidia")
		if !ok {
			continue
		}
		if i, err := strconv.Atoi(n); err == nil && i >= 0 {
			out = append(out, deviceFile{i, l})
		}
	}
	slices.SortFunc(out, func(a, b deviceFile) int { return a.index - b.index })
	return out
}

// smiGPUs reads nvidia-smi -L ("GPU 0: NAME (UUID: GPU-…)"; MIG lines
// under a GPU are skipped). nil when nvidia-smi is missing, failed or
// listed nothing: the caller falls back to the device files.
func smiGPUs(s *section, devices []deviceFile, note func(string, ...any)) []GPU {
	if s == nil || s.none() {
		return nil
	}
	var gpus []GPU
	for _, l := range s.lines {
		g, ok := parseSMILine(l)
		if !ok {
			continue
		}
		for _, d := range devices {
			if d.index == g.Index {
				g.Device = d.path
			}
		}
		gpus = append(gpus, g)
	}
	if rc := s.exit(); rc != 0 || len(gpus) == 0 {
		msg := firstLine(s)
		if rc == 124 {
			msg = "timed out after 20 s"
		}
		src := "no GPUs"
		if len(devices) > 0 {
			src = "the /dev/nvidiaN files"
		}
		note("gpus: nvidia-smi -L failed (exit %d: %s); using %s", rc, msg, src)
		return nil
	}
	slices.SortStableFunc(gpus, func(a, b GPU) int { return a.Index - b.Index })
	return gpus
}

func parseSMILine(l string) (GPU, bool) {
	rest, ok := strings.CutPrefix(l, "GPU ")
	if !ok {
		return GPU{}, false
	}
	idx, rest, ok := strings.Cut(rest, ": ")
	if !ok {
		return GPU{}, false
	}
	i, err := strconv.Atoi(idx)
	if err != nil {
		return GPU{}, false
	}
	g := GPU{Index: i, Name: strings.TrimSpace(rest)}
	// The name may hold parentheses; the UUID part is the last one.
	if j := strings.LastIndex(rest, " (UUID: "); j >= 0 {
		g.Name = strings.TrimSpace(rest[:j])
		g.UUID = strings.TrimSuffix(strings.TrimSpace(rest[j+len(" (UUID: "):]), ")")
	}
	return g, true
}
