package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/planfile"
)

func TestResolveVersion(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		name, stamped string
		info          *debug.BuildInfo
		want          string
	}{
		{"stamped wins", "0.2.0-3-g1a2b3c4", &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}}, "0.2.0-3-g1a2b3c4"},
		{"go install at a tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}}, "0.2.0"},
		{"go build's pseudo-version", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260314150405-0123456789ab+dirty"}}, "0.0.0-20260314150405-0123456789ab+dirty"},
		{"devel with a commit", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, "dev+0123456789ab"},
		{"devel with changes", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, "dev+0123456789ab.dirty"},
		{"devel without vcs", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"no build info", "", nil, "dev"},
	} {
		if got := resolveVersion(c.stamped, c.info); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// runbook --version prints what runbook version prints and exits 0, in
// either flag style; the version is never empty.
func TestVersionFlag(t *testing.T) {
	if version == "" {
		t.Fatal("version is empty")
	}
	want := "runbook " + version + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		r := runCLI(t, args...)
		if r.code != exitOK || r.stdout != want || r.stderr != "" {
			t.Errorf("%q: want exit 0 and %q:\n%s", args, want, r)
		}
	}
	if r := runCLI(t, "version", "extra"); r.code != exitInvalid {
		t.Errorf("version extra: want exit 3:\n%s", r)
	}
}

// report.json and a saved plan name the runbook version that made them.
func TestVersionInRecords(t *testing.T) {
	state := t.TempDir()
	plan := filepath.Join(t.TempDir(), "example.plan")
	r := runCLI(t, "plan", exampleRunbook, "--state-dir", state, "--var", "name="+uniqueName(t), "--out", plan)
	if r.code != exitOK {
		t.Fatalf("plan --out: %s", r)
	}
	if got := readReport(t, onlyRunDir(t, state)).RunbookVersion; got != version {
		t.Errorf("report.json runbook_version %q, want %q", got, version)
	}
	f, err := planfile.Read(plan)
	if err != nil {
		t.Fatal(err)
	}
	if f.RunbookVersion != version {
		t.Errorf("plan file runbook_version %q, want %q", f.RunbookVersion, version)
	}
	b, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil || raw["runbook_version"] != version {
		t.Errorf("plan JSON runbook_version %v (%v), want %q", raw["runbook_version"], err, version)
	}
}

// The hidden man command writes a page per visible command, from --help's
// text, and none for itself.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, "man", dir); r.code != exitOK {
		t.Fatalf("man: %s", r)
	}
	for _, page := range []string{"runbook.1", "runbook-apply.1", "runbook-plan.1", "runbook-version.1", "runbook-completion.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Error(err)
			continue
		}
		if len(b) < 100 || !containsAll(string(b), ".TH ", "runbook "+version, ".SH NAME") {
			t.Errorf("%s does not look like a man page:\n%s", page, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "runbook-man.1")); err == nil {
		t.Error("the hidden man command has a man page")
	}
	if r := runCLI(t, "--help"); containsAll(r.stdout, "  man ") {
		t.Errorf("--help lists the hidden man command:\n%s", r.stdout)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
