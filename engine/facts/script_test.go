package facts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// These tests run Script with real shells on this machine and hold what
// Parse makes of it against sources read here by other routes. The
// mount-namespace tests (root only) place the os-release fixtures, fake
// /dev/nvidiaN files and a fake nvidia-smi where the script looks, or
// take everything away, and run the real script there.

// runShell runs Script with argv (a shell and its arguments before -c)
// and returns stdout; stderr must be empty and the exit status 0.
func runShell(t *testing.T, cmd *exec.Cmd) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\nstdout:\n%s\nstderr:\n%s", cmd.Args[:2], err, stdout.String(), stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("%v wrote to stderr:\n%s", cmd.Args[:2], stderr.String())
	}
	return stdout.Bytes()
}

func parseOut(t *testing.T, out []byte) Facts {
	t.Helper()
	f, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse: %v\noutput:\n%s", err, out)
	}
	return f
}

// hostTruth is this machine's facts, each read by a route the script does
// not take.
type hostTruth struct {
	osID, osName, osVersion, osVersionID, codename string
	hostname, kernel, arch, fqdn                   string
	cpus                                           int
	memMB                                          int64
	gpuDevices                                     []string
}

func readHostTruth(t *testing.T) hostTruth {
	t.Helper()
	var h hostTruth
	// os-release as the shell itself reads it: sourced, not parsed by Go.
	src := `for f in /etc/os-release /usr/lib/os-release; do [ -r "$f" ] && { . "$f"; break; }; done
printf '%s\n' "$ID" "$NAME" "$VERSION" "$VERSION_ID" "$VERSION_CODENAME"`
	b, err := exec.Command("sh", "-c", src).Output()
	if err != nil {
		t.Fatal(err)
	}
	v := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	h.osID, h.osName, h.osVersion, h.osVersionID, h.codename = v[0], v[1], v[2], v[3], v[4]

	h.hostname, err = os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	kernel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	h.kernel = strings.TrimSpace(string(kernel))
	var uts syscall.Utsname
	if err := syscall.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	h.arch = utsString(uts.Machine[:])
	if out, err := exec.Command("hostname", "-f").Output(); err == nil {
		h.fqdn = strings.TrimSpace(string(out))
	}
	h.cpus = runtime.NumCPU()
	mi, err := os.Open("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	defer mi.Close()
	sc := bufio.NewScanner(mi)
	for sc.Scan() {
		var kb int64
		if n, _ := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); n == 1 {
			h.memMB = kb / 1024
		}
	}
	h.gpuDevices, _ = filepath.Glob("/dev/nvidia[0-9]*")
	return h
}

func utsString(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// checkHost compares f with the truth; withOS false skips the os-release
// part (a test that put a fixture there checks it itself).
func checkHost(t *testing.T, f Facts, h hostTruth, withOS bool) {
	t.Helper()
	if withOS {
		got := [5]string{f.OS.ID, f.OS.Name, f.OS.Version, f.OS.VersionID, f.OS.Codename}
		want := [5]string{h.osID, h.osName, h.osVersion, h.osVersionID, h.codename}
		if got != want {
			t.Errorf("os (id, name, version, version_id, codename) = %q, want %q", got, want)
		}
	}
	if f.Hostname != h.hostname || f.Kernel != h.kernel || f.Architecture != h.arch {
		t.Errorf("hostname, kernel, arch = %q %q %q, want %q %q %q", f.Hostname, f.Kernel, f.Architecture, h.hostname, h.kernel, h.arch)
	}
	if f.FQDN != h.fqdn {
		t.Errorf("fqdn %q, want %q (hostname -f)", f.FQDN, h.fqdn)
	}
	if f.CPUs != h.cpus {
		t.Errorf("cpus %d, want runtime.NumCPU() = %d", f.CPUs, h.cpus)
	}
	if f.MemoryMB != h.memMB || f.MemoryMB <= 0 {
		t.Errorf("memory_mb %d, want %d", f.MemoryMB, h.memMB)
	}
	var devs []string
	for _, g := range f.GPUs {
		devs = append(devs, g.Device)
	}
	if len(devs) != len(h.gpuDevices) || (len(devs) > 0 && !reflect.DeepEqual(devs, h.gpuDevices)) {
		t.Errorf("GPU devices %q, want %q", devs, h.gpuDevices)
	}
}

// initTruth is what the init system should come out as here, read from
// /run and /proc/1/comm by Go.
func initTruth() string {
	if st, err := os.Stat("/run/systemd/system"); err == nil && st.IsDir() {
		return "systemd"
	}
	comm, _ := os.ReadFile("/proc/1/comm")
	switch strings.TrimSpace(string(comm)) {
	case "systemd":
		return "systemd"
	case "init":
		return "sysvinit"
	}
	return "unknown"
}

func TestScriptHostShells(t *testing.T) {
	h := readHostTruth(t)
	shells := [][]string{{"sh"}}
	for _, sh := range [][]string{{"dash"}, {"busybox", "sh"}, {"bash", "--posix"}} {
		if _, err := exec.LookPath(sh[0]); err == nil {
			shells = append(shells, sh)
		} else {
			t.Logf("%s is not installed here: not run", sh[0])
		}
	}
	for _, sh := range shells {
		t.Run(strings.Join(sh, " "), func(t *testing.T) {
			args := append(sh[1:len(sh):len(sh)], "-c", Script())
			f := parseOut(t, runShell(t, exec.Command(sh[0], args...)))
			checkHost(t, f, h, true)
			if f.InitSystem != initTruth() {
				t.Errorf("init_system %q, want %q", f.InitSystem, initTruth())
			}
			if f.OS.Family == "" {
				t.Errorf("no os family for %q", h.osID)
			}
			// The package manager this host's family uses is installed here.
			wantPM := map[string]string{"Debian": "apt-get", "RedHat": "dnf", "Suse": "zypper"}[f.OS.Family]
			if _, err := exec.LookPath(wantPM); wantPM != "" && err == nil && f.PackageManager != strings.TrimSuffix(wantPM, "-get") {
				t.Errorf("package_manager %q with %s installed", f.PackageManager, wantPM)
			}
			for _, n := range f.Notes {
				if !strings.HasPrefix(n, "init_system:") {
					t.Errorf("note: %s", n)
				}
			}
		})
	}
}

// nsSpec is what the helper process does in its own mount namespace
// before it execs the shell with Script.
type nsSpec struct {
	Ops   []nsOp
	Shell []string
	Env   []string
}

type nsOp struct {
	Op       string // bind, tmpfs, mkdir, chr (a character device), symlink
	Src, Dst string
	Major    uint32
	Minor    uint32
}

const nsHelperEnv = "RUNBOOK_FACTS_TEST_NS_HELPER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(nsHelperEnv); spec != "" {
		nsHelper(spec)
	}
	os.Exit(m.Run())
}

// nsHelper runs in a child started with CLONE_NEWNS (the Go runtime made
// its mounts private), so nothing here reaches the machine's mounts.
func nsHelper(specJSON string) {
	var spec nsSpec
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "ns helper:", err)
		os.Exit(99)
	}
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fail(err)
	}
	for _, op := range spec.Ops {
		var err error
		switch op.Op {
		case "bind":
			err = syscall.Mount(op.Src, op.Dst, "", syscall.MS_BIND, "")
		case "tmpfs":
			err = syscall.Mount("tmpfs", op.Dst, "tmpfs", 0, "mode=0755")
		case "mkdir":
			err = os.MkdirAll(op.Dst, 0o755)
		case "chr":
			err = syscall.Mknod(op.Dst, syscall.S_IFCHR|0o666, int(op.Major<<8|op.Minor))
		case "symlink":
			err = os.Symlink(op.Src, op.Dst)
		default:
			err = fmt.Errorf("unknown op %q", op.Op)
		}
		if err != nil {
			fail(fmt.Errorf("%+v: %w", op, err))
		}
	}
	fail(syscall.Exec(spec.Shell[0], append(spec.Shell, "-c", Script()), spec.Env))
}

func runInNamespace(t *testing.T, spec nsSpec) []byte {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for a mount namespace; the Parse tests cover the fixtures without it")
	}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nsHelperEnv+"="+string(b))
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	return runShell(t, cmd)
}

// fakeDev is ops for a /dev of its own holding null and the given
// /dev/nvidiaN (character devices, major 195 as the driver's) plus
// nvidiactl, which is no GPU.
func fakeDev(gpus ...int) []nsOp {
	ops := []nsOp{{Op: "tmpfs", Dst: "/dev"}, {Op: "chr", Dst: "/dev/null", Major: 1, Minor: 3},
		{Op: "chr", Dst: "/dev/nvidiactl", Major: 195, Minor: 255}}
	for _, i := range gpus {
		ops = append(ops, nsOp{Op: "chr", Dst: "/dev/nvidia" + strconv.Itoa(i), Major: 195, Minor: uint32(i)})
	}
	return ops
}

// fakeBin writes executables NAME with body into a new directory.
func fakeBin(t *testing.T, progs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range progs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestScriptFixturesInMountNamespace(t *testing.T) {
	h := readHostTruth(t)
	smi2 := abs(t, "testdata/nvidia-smi-L-2gpus.txt")
	noDriver := abs(t, "testdata/nvidia-smi-no-driver.txt")
	gpuA := GPU{Index: 0, Name: "NVIDIA A100-SXM4-80GB", UUID: "GPU-7a1b3c5d-92e4-4f0a-b8c6-1d2e3f405162", Device: "/dev/nvidia0"}
	gpuB := GPU{Index: 1, Name: "NVIDIA A100-SXM4-80GB", UUID: "GPU-0f9e8d7c-6b5a-4493-8271-605f4e3d2c1b", Device: "/dev/nvidia1"}
	for _, tc := range []struct {
		name, osRelease string
		progs           map[string]string
		gpus            []int
		wantOS          OS
		wantPM          string
		wantGPUs        []GPU
		wantNote        string
	}{
		{name: "debian-12 with nvidia-smi and 2 GPUs", osRelease: "debian-12",
			progs:  map[string]string{"nvidia-smi": `[ "$1" = -L ] && exec cat ` + smi2},
			gpus:   []int{0, 1},
			wantOS: OS{ID: "debian", Name: "Debian GNU/Linux", Version: "12 (bookworm)", VersionID: "12", VersionMajor: "12", Codename: "bookworm", Family: "Debian"},
			wantPM: "apt", wantGPUs: []GPU{gpuA, gpuB}},
		{name: "ubuntu-22.04 with /dev/nvidia0 and /dev/nvidia1, no nvidia-smi", osRelease: "ubuntu-22.04",
			gpus:   []int{0, 1},
			wantOS: OS{ID: "ubuntu", Name: "Ubuntu", Version: "22.04.3 LTS (Jammy Jellyfish)", VersionID: "22.04", VersionMajor: "22", Codename: "jammy", Family: "Debian"},
			wantPM: "apt", wantGPUs: []GPU{{Index: 0, Device: "/dev/nvidia0"}, {Index: 1, Device: "/dev/nvidia1"}}},
		{name: "rocky-9 with dnf and yum, nvidia-smi without a driver", osRelease: "rocky-9",
			progs:  map[string]string{"dnf": "exit 0", "yum": "exit 0", "nvidia-smi": "cat " + noDriver + "; exit 9"},
			gpus:   []int{0},
			wantOS: OS{ID: "rocky", Name: "Rocky Linux", Version: "9.3 (Blue Onyx)", VersionID: "9.3", VersionMajor: "9", Family: "RedHat"},
			// apt-get of this Debian machine is on PATH too: the family decides.
			wantPM: "dnf", wantGPUs: []GPU{{Index: 0, Device: "/dev/nvidia0"}},
			wantNote: "gpus: nvidia-smi -L failed (exit 9: NVIDIA-SMI has failed"},
		{name: "sles-15 with zypper, no GPU", osRelease: "sles-15",
			progs:  map[string]string{"zypper": "exit 0"},
			wantOS: OS{ID: "sles", Name: "SLES", Version: "15-SP5", VersionID: "15.5", VersionMajor: "15", Family: "Suse"},
			wantPM: "zypper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := ""
			if tc.progs != nil {
				bin = fakeBin(t, tc.progs) + ":"
			}
			ops := append([]nsOp{{Op: "bind", Src: abs(t, "testdata/os-release/"+tc.osRelease), Dst: "/etc/os-release"}}, fakeDev(tc.gpus...)...)
			f := parseOut(t, runInNamespace(t, nsSpec{Ops: ops, Shell: []string{"/bin/sh"},
				Env: []string{"PATH=" + bin + "/usr/bin:/bin", "LANG=C"}}))
			if f.OS != tc.wantOS {
				t.Errorf("OS %+v\nwant %+v", f.OS, tc.wantOS)
			}
			if f.PackageManager != tc.wantPM {
				t.Errorf("package_manager %q, want %q", f.PackageManager, tc.wantPM)
			}
			if !reflect.DeepEqual(f.GPUs, tc.wantGPUs) {
				t.Errorf("GPUs %+v\nwant %+v", f.GPUs, tc.wantGPUs)
			}
			if tc.wantNote != "" && !hasNote(f, tc.wantNote) {
				t.Errorf("no note %q in %q", tc.wantNote, f.Notes)
			}
			h := h
			h.gpuDevices = nil
			for _, g := range tc.wantGPUs {
				h.gpuDevices = append(h.gpuDevices, g.Device)
			}
			checkHost(t, f, h, false)
		})
	}
}

// stashLibs keeps the shared-library directories of /usr/lib reachable
// under a tmpfs on /usr/lib (the shells are dynamically linked), so that
// /usr/lib/os-release can be taken away.
func stashLibs(t *testing.T) []nsOp {
	t.Helper()
	libs, _ := filepath.Glob("/usr/lib/*-linux-gnu*")
	stash := t.TempDir()
	var ops, back []nsOp
	for _, l := range libs {
		s := filepath.Join(stash, filepath.Base(l))
		if err := os.Mkdir(s, 0o755); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, nsOp{Op: "bind", Src: l, Dst: s})
		back = append(back, nsOp{Op: "mkdir", Dst: l}, nsOp{Op: "bind", Src: s, Dst: l})
	}
	ops = append(ops, nsOp{Op: "tmpfs", Dst: "/usr/lib"})
	return append(ops, back...)
}

// onlyBin makes dir the only directory of programs: every directory the
// script adds to PATH is emptied or replaced by dir.
func onlyBin(dir string) []nsOp {
	ops := []nsOp{{Op: "bind", Src: dir, Dst: "/usr/bin"}}
	for _, d := range []string{"/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin"} {
		if st, err := os.Lstat(d); err == nil && st.IsDir() { // a merged-/usr link needs nothing
			ops = append(ops, nsOp{Op: "tmpfs", Dst: d})
		}
	}
	return ops
}

// A host with nothing: no os-release, no /proc, no /run, and no program
// but the shell. Parse still succeeds, every fact is empty, and the notes
// say why.
func TestScriptNothingInMountNamespace(t *testing.T) {
	dash, err := exec.LookPath("dash")
	if err != nil {
		t.Skip("dash is not installed")
	}
	bin := t.TempDir()
	b, err := os.ReadFile(dash)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "sh"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	ops := stashLibs(t)
	ops = append(ops, onlyBin(bin)...)
	ops = append(ops, fakeDev()...)
	ops = append(ops, nsOp{Op: "tmpfs", Dst: "/etc"}, nsOp{Op: "tmpfs", Dst: "/run"}, nsOp{Op: "tmpfs", Dst: "/proc"})
	out := runInNamespace(t, nsSpec{Ops: ops, Shell: []string{"/usr/bin/sh"}, Env: []string{"PATH=/usr/bin"}})
	f := parseOut(t, out)
	got := f
	got.Notes = nil
	if !reflect.DeepEqual(got, Facts{InitSystem: "unknown"}) {
		t.Errorf("facts %+v\noutput:\n%s", got, out)
	}
	for _, prefix := range []string{"os: neither", "hostname, kernel, architecture:", "fqdn: hostname is not installed", "cpus:", "memory_mb: /proc/meminfo is not readable", "init_system:", "package_manager:"} {
		if !hasNote(f, prefix) {
			t.Errorf("no note %q in %q", prefix, f.Notes)
		}
	}
	if hasNote(f, "the output stops") {
		t.Errorf("notes %q", f.Notes)
	}
}

// A busybox-only host (a minimal container): busybox's sh, and its
// applets as the only programs (uname, nproc, hostname, timeout).
func TestScriptBusyboxOnlyInMountNamespace(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox is not installed")
	}
	h := readHostTruth(t)
	list, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	b, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" && !strings.Contains(applet, "/") {
			if err := os.Symlink("busybox", filepath.Join(bin, applet)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ops := append(onlyBin(bin), fakeDev(0, 1)...)
	f := parseOut(t, runInNamespace(t, nsSpec{Ops: ops, Shell: []string{"/usr/bin/sh"}, Env: []string{"PATH=/usr/bin"}}))
	h.gpuDevices = []string{"/dev/nvidia0", "/dev/nvidia1"}
	// busybox's hostname -f resolves as the system's does.
	checkHost(t, f, h, true)
	if f.PackageManager != "" || !hasNote(f, "package_manager:") {
		t.Errorf("package_manager %q with busybox only; notes %q", f.PackageManager, f.Notes)
	}
}

// Ansible's setup module is the reference for the family, package
// manager and most of the rest: on this machine both must agree.
func TestScriptAgreesWithAnsibleSetup(t *testing.T) {
	ansible, err := exec.LookPath("ansible")
	if err != nil {
		t.Skip("ansible is not installed (make deps installs ansible-core)")
	}
	cmd := exec.Command(ansible, "localhost", "-i", "localhost,", "-c", "local", "-o", "-m", "ansible.builtin.setup")
	// An empty configuration: none of this machine's or this user's.
	cfg := filepath.Join(t.TempDir(), "ansible.cfg")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "ANSIBLE_CONFIG="+cfg, "ANSIBLE_NOCOLOR=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible setup: %v\n%s%s", err, b, stderr.Bytes())
	}
	_, js, ok := strings.Cut(string(b), " | SUCCESS => ")
	if !ok {
		t.Fatalf("ansible setup printed no SUCCESS line:\n%s", b)
	}
	var res struct {
		Facts map[string]any `json:"ansible_facts"`
	}
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		t.Fatal(err)
	}
	a := func(k string) string { return fmt.Sprint(res.Facts[k]) }

	f := parseOut(t, runShell(t, exec.Command("sh", "-c", Script())))
	shortHost, _, _ := strings.Cut(f.Hostname, ".")
	for _, c := range [][3]string{
		{"os.family / ansible_os_family", f.OS.Family, a("ansible_os_family")},
		{"package_manager / ansible_pkg_mgr", f.PackageManager, a("ansible_pkg_mgr")},
		{"os.version_major / ansible_distribution_major_version", f.OS.VersionMajor, a("ansible_distribution_major_version")},
		{"architecture / ansible_architecture", f.Architecture, a("ansible_architecture")},
		{"hostname / ansible_hostname", shortHost, a("ansible_hostname")},
		{"kernel / ansible_kernel", f.Kernel, a("ansible_kernel")},
		{"cpus / ansible_processor_nproc", strconv.Itoa(f.CPUs), a("ansible_processor_nproc")},
		{"memory_mb / ansible_memtotal_mb", strconv.FormatInt(f.MemoryMB, 10), a("ansible_memtotal_mb")},
	} {
		if c[1] != c[2] {
			t.Errorf("%s: %q, Ansible %q", c[0], c[1], c[2])
		}
	}
	// Ansible's release is the codename where the distribution has one.
	if f.OS.Codename != "" && f.OS.Codename != a("ansible_distribution_release") {
		t.Errorf("os.codename %q, ansible_distribution_release %q", f.OS.Codename, a("ansible_distribution_release"))
	}
	// Ansible names an init it does not know by PID 1's name; runbook says unknown.
	if sm := a("ansible_service_mgr"); f.InitSystem != sm && !(f.InitSystem == "unknown" && hasNote(f, "init_system:")) {
		t.Errorf("init_system %q, ansible_service_mgr %q", f.InitSystem, sm)
	}
}
