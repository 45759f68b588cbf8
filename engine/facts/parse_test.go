package facts

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// out assembles output in the script's format from section name and body
// lines; a body line starting with '!' is a status, any other is content.
// The tests that run the real script (script_test.go) check that the
// script prints this format.
func out(sections ...any) []byte {
	var b strings.Builder
	b.WriteString("==runbook-facts:format==\n|1\n")
	for i := 0; i < len(sections); i += 2 {
		b.WriteString("==runbook-facts:" + sections[i].(string) + "==\n")
		body, _ := sections[i+1].([]string)
		for _, l := range body {
			if strings.HasPrefix(l, "!") {
				b.WriteString(l + "\n")
			} else {
				b.WriteString("|" + l + "\n")
			}
		}
	}
	b.WriteString("==runbook-facts:end==\n")
	return []byte(b.String())
}

func fixtureLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func TestParseOSReleaseFixtures(t *testing.T) {
	for _, tc := range []struct {
		file, managers string
		want           OS
		wantPM         string
	}{
		{"debian-12", "apt-get", OS{ID: "debian", Name: "Debian GNU/Linux", Version: "12 (bookworm)", VersionID: "12", VersionMajor: "12", Codename: "bookworm", Family: "Debian"}, "apt"},
		{"ubuntu-22.04", "apt-get", OS{ID: "ubuntu", Name: "Ubuntu", Version: "22.04.3 LTS (Jammy Jellyfish)", VersionID: "22.04", VersionMajor: "22", Codename: "jammy", Family: "Debian"}, "apt"},
		// Rocky 9 has both; yum is a link to dnf there.
		{"rocky-9", "dnf yum", OS{ID: "rocky", Name: "Rocky Linux", Version: "9.3 (Blue Onyx)", VersionID: "9.3", VersionMajor: "9", Family: "RedHat"}, "dnf"},
		{"sles-15", "zypper", OS{ID: "sles", Name: "SLES", Version: "15-SP5", VersionID: "15.5", VersionMajor: "15", Family: "Suse"}, "zypper"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := Parse(out("os-release", fixtureLines(t, "os-release/"+tc.file),
				"package-managers", strings.Fields(tc.managers)))
			if err != nil {
				t.Fatal(err)
			}
			if f.OS != tc.want {
				t.Errorf("OS = %+v\nwant %+v", f.OS, tc.want)
			}
			if f.PackageManager != tc.wantPM {
				t.Errorf("PackageManager = %q, want %q", f.PackageManager, tc.wantPM)
			}
			for _, n := range f.Notes {
				if strings.HasPrefix(n, "os:") || strings.HasPrefix(n, "package_manager:") {
					t.Errorf("unexpected note %q", n)
				}
			}
		})
	}
}

func TestFamilyFromIDLike(t *testing.T) {
	for _, tc := range []struct{ lines []string }{
		{[]string{"ID=myhpc", `ID_LIKE="rhel fedora"`}},
		{[]string{"ID=somethingnew", "ID_LIKE=fedora"}},
	} {
		f, _ := Parse(out("os-release", tc.lines))
		if f.OS.Family != "RedHat" {
			t.Errorf("%v: family %q, want RedHat", tc.lines, f.OS.Family)
		}
	}
	f, _ := Parse(out("os-release", []string{"ID=plan9"}))
	if f.OS.Family != "" || !hasNote(f, "os: family unknown") {
		t.Errorf("unknown ID: family %q, notes %q", f.OS.Family, f.Notes)
	}
}

func TestPackageManagerPrefersFamily(t *testing.T) {
	for _, tc := range []struct {
		osr      []string
		managers string
		want     string
	}{
		{[]string{"ID=debian"}, "apt-get dnf", "apt"}, // dnf installed on Debian is not its package manager
		{[]string{"ID=centos", `VERSION_ID="7"`}, "yum", "yum"},
		{[]string{"ID=fedora"}, "dnf5 dnf yum", "dnf"},
		{[]string{"ID=alpine"}, "apk", "apk"},
		{[]string{"ID=plan9"}, "zypper", "zypper"},
		{[]string{"ID=debian"}, "", ""},
	} {
		f, _ := Parse(out("os-release", tc.osr, "package-managers", strings.Fields(tc.managers)))
		if f.PackageManager != tc.want {
			t.Errorf("%v with %q: %q, want %q", tc.osr, tc.managers, f.PackageManager, tc.want)
		}
	}
}

func TestUnquoteShell(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:                  "plain",
		`"a b"`:                  "a b",
		`'a "b" $c'`:             `a "b" $c`,
		`"say \"hi\" \$HOME \\"`: `say "hi" $HOME \`,
		`"keep \n as is"`:        `keep \n as is`,
		`a\ b`:                   "a b",
		`"x"'y'z`:                "xyz",
		`""`:                     "",
	} {
		if got := unquoteShell(in); got != want {
			t.Errorf("unquoteShell(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestParseGPUsFromNvidiaSMI(t *testing.T) {
	f, err := Parse(out(
		"nvidia-smi", append(fixtureLines(t, "nvidia-smi-L-2gpus.txt"), "!exit 0"),
		"dev-nvidia", []string{"/dev/nvidia0", "/dev/nvidia1"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []GPU{
		{Index: 0, Name: "NVIDIA A100-SXM4-80GB", UUID: "GPU-7a1b3c5d-92e4-4f0a-b8c6-1d2e3f405162", Device: "/dev/nvidia0"},
		{Index: 1, Name: "NVIDIA A100-SXM4-80GB", UUID: "GPU-0f9e8d7c-6b5a-4493-8271-605f4e3d2c1b", Device: "/dev/nvidia1"},
	}
	if !reflect.DeepEqual(f.GPUs, want) {
		t.Errorf("GPUs = %+v\nwant %+v", f.GPUs, want)
	}
	if hasNote(f, "gpus") {
		t.Errorf("notes: %q", f.Notes)
	}
}

func TestParseGPUsSkipsMIGLines(t *testing.T) {
	f, _ := Parse(out("nvidia-smi", append(fixtureLines(t, "nvidia-smi-L-mig.txt"), "!exit 0")))
	if len(f.GPUs) != 2 || f.GPUs[0].Name != "NVIDIA A100-SXM4-40GB" || f.GPUs[1].Name != "Tesla V100-SXM2-16GB" ||
		f.GPUs[1].UUID != "GPU-a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90" || f.GPUs[0].Device != "" {
		t.Errorf("GPUs = %+v", f.GPUs)
	}
}

func TestParseGPUsFromDeviceFiles(t *testing.T) {
	// No nvidia-smi; the glob lists nvidia10 before nvidia2.
	f, _ := Parse(out("nvidia-smi", []string{"!none"},
		"dev-nvidia", []string{"/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia10", "/dev/nvidia2"}))
	var idx []int
	for _, g := range f.GPUs {
		idx = append(idx, g.Index)
		if g.Device != "/dev/nvidia"+strconv.Itoa(g.Index) || g.Name != "" || g.UUID != "" {
			t.Errorf("GPU %+v", g)
		}
	}
	if !reflect.DeepEqual(idx, []int{0, 1, 2, 10}) {
		t.Errorf("indexes %v", idx)
	}
}

func TestParseGPUsNvidiaSMIFailsFallsBackToDevices(t *testing.T) {
	f, _ := Parse(out("nvidia-smi", append(fixtureLines(t, "nvidia-smi-no-driver.txt"), "!exit 9"),
		"dev-nvidia", []string{"/dev/nvidia0", "/dev/nvidia1"}))
	if len(f.GPUs) != 2 || f.GPUs[1].Device != "/dev/nvidia1" {
		t.Errorf("GPUs = %+v", f.GPUs)
	}
	if !hasNote(f, "gpus: nvidia-smi -L failed (exit 9: NVIDIA-SMI has failed") {
		t.Errorf("notes %q", f.Notes)
	}
}

// A host where nothing could be read: every section says none.
func TestParseNothing(t *testing.T) {
	f, err := Parse(out(
		"os-release", []string{"!none"}, "uname", []string{"!none"}, "fqdn", []string{"!none"},
		"cpus", []string{"!none"}, "meminfo", []string{"!none"}, "init", nil,
		"package-managers", nil, "nvidia-smi", []string{"!none"}, "dev-nvidia", nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Facts{InitSystem: "unknown"}
	got := f
	got.Notes = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("facts %+v, want %+v", got, want)
	}
	for _, prefix := range []string{"os:", "hostname, kernel, architecture:", "fqdn:", "cpus:", "memory_mb:", "init_system:", "package_manager:"} {
		if !hasNote(f, prefix) {
			t.Errorf("no note %q in %q", prefix, f.Notes)
		}
	}
	if !f.Value().Type().Equals(Type()) {
		t.Errorf("Value type %#v", f.Value().Type())
	}
}

func TestParseNotFacts(t *testing.T) {
	for _, in := range []string{"", "hello\n", "==runbook-facts:format==\n|2\n"} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrNotFacts) {
			t.Errorf("Parse(%q) err %v, want ErrNotFacts", in, err)
		}
	}
}

// A file line that looks like a marker is content (the script prefixes
// it with '|'), and cannot end a section early.
func TestParseMarkerInsideContent(t *testing.T) {
	f, err := Parse(out("os-release", []string{"ID=debian", "==runbook-facts:end==", "==runbook-facts:uname==", "VERSION_ID=12"},
		"uname", []string{"h 6.1.0 aarch64"}))
	if err != nil {
		t.Fatal(err)
	}
	if f.OS.ID != "debian" || f.OS.VersionID != "12" || f.Architecture != "aarch64" || f.Hostname != "h" || f.Kernel != "6.1.0" {
		t.Errorf("facts %+v", f)
	}
}

func TestParseCutShortAndBanner(t *testing.T) {
	in := "Welcome to the cluster\n==runbook-facts:format==\n|1\n==runbook-facts:cpus==\n|8\nstray\n"
	f, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if f.CPUs != 8 || !hasNote(f, "the output stops before its end marker") || !hasNote(f, "1 line(s)") {
		t.Errorf("facts %+v", f)
	}
}

func TestParseScalars(t *testing.T) {
	f, _ := Parse(out("uname", []string{"node1 5.14.0-362.8.1.el9_3.x86_64 x86_64"},
		"fqdn", []string{"node1.cluster.example.org", "!exit 0"},
		"cpus", []string{"64"},
		"meminfo", []string{"MemTotal: 263812412 kB"},
		"init", []string{"run-systemd-system", "pid1=systemd"}))
	want := Facts{Hostname: "node1", Kernel: "5.14.0-362.8.1.el9_3.x86_64", Architecture: "x86_64",
		FQDN: "node1.cluster.example.org", CPUs: 64, MemoryMB: 263812412 / 1024, InitSystem: "systemd"}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("facts %+v\nwant %+v", f, want)
	}
	for lines, want := range map[string]string{"pid1=init": "sysvinit", "run-openrc|pid1=init": "openrc", "pid1=runit": "runit", "pid1=tini": "unknown", "": "unknown"} {
		if got := initSystem(strings.Split(lines, "|")); got != want {
			t.Errorf("initSystem(%q) = %q, want %q", lines, got, want)
		}
	}
	f, _ = Parse(out("fqdn", []string{"!exit 124"}))
	if f.FQDN != "" || !hasNote(f, "fqdn: hostname -f took more than 3 s") {
		t.Errorf("fqdn timeout: %+v", f)
	}
	f, _ = Parse(out("fqdn", []string{"!exit 1"}))
	if f.FQDN != "" || !hasNote(f, "fqdn: hostname -f failed (exit 1)") {
		t.Errorf("fqdn failed: %+v", f)
	}
}

func TestValue(t *testing.T) {
	f := Facts{
		OS:             OS{ID: "rocky", VersionID: "9.3", VersionMajor: "9", Family: "RedHat"},
		PackageManager: "dnf", InitSystem: "systemd", Architecture: "x86_64", Hostname: "n1", CPUs: 64, MemoryMB: 257629,
		GPUs: []GPU{{Index: 0, Name: "NVIDIA A100", UUID: "GPU-1", Device: "/dev/nvidia0"}, {Index: 1, Device: "/dev/nvidia1"}},
	}
	v := f.Value()
	if !v.Type().Equals(Type()) {
		t.Fatalf("type %#v", v.Type())
	}
	get := func(path ...any) cty.Value {
		x := v
		for _, p := range path {
			switch p := p.(type) {
			case string:
				x = x.GetAttr(p)
			case int:
				x = x.Index(cty.NumberIntVal(int64(p)))
			}
		}
		return x
	}
	for _, c := range []struct {
		path []any
		want cty.Value
	}{
		{[]any{"os", "id"}, cty.StringVal("rocky")},
		{[]any{"os", "version_id"}, cty.StringVal("9.3")},
		{[]any{"os", "family"}, cty.StringVal("RedHat")},
		{[]any{"package_manager"}, cty.StringVal("dnf")},
		{[]any{"cpus"}, cty.NumberIntVal(64)},
		{[]any{"memory_mb"}, cty.NumberIntVal(257629)},
		{[]any{"gpu_count"}, cty.NumberIntVal(2)},
		{[]any{"gpus", 1, "device"}, cty.StringVal("/dev/nvidia1")},
		{[]any{"gpus", 0, "uuid"}, cty.StringVal("GPU-1")},
		{[]any{"fqdn"}, cty.StringVal("")},
	} {
		if got := get(c.path...); !got.RawEquals(c.want) {
			t.Errorf("%v = %#v, want %#v", c.path, got, c.want)
		}
	}
	empty := Facts{}.Value()
	if !empty.Type().Equals(Type()) || empty.GetAttr("gpus").LengthInt() != 0 || !empty.GetAttr("gpu_count").RawEquals(cty.NumberIntVal(0)) {
		t.Errorf("empty facts value %#v", empty)
	}
	if !cty.UnknownVal(Type()).GetAttr("os").GetAttr("family").Type().Equals(cty.String) {
		t.Error("unknown value of Type has no os.family string")
	}
}

func hasNote(f Facts, prefix string) bool {
	for _, n := range f.Notes {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}
