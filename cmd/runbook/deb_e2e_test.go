//go:build e2e

package main

// The Debian package end to end, on this machine (the testbed's host):
// make deb, dpkg -i, the installed program's version, man page and bash
// completion, Phase 2 from the installed runbooks against the testbed,
// then dpkg -r leaves nothing behind. The package is removed when the
// test ends, whatever happened.
//
//	set -a; . /tmp/runbook-testbed/env; set +a
//	go test -tags e2e -count=1 -run TestDebPackage ./cmd/runbook/

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const debInstalledBin = "/usr/bin/runbook"

// debStatus is dpkg's status of the runbook package ("" when dpkg knows
// nothing of it).
func debStatus() string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Abbrev}", "runbook").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// debRun runs a command and fails the test when it fails.
func debRun(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestDebPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("dpkg -i needs root")
	}
	// The test would replace what is there and then remove it: it must
	// find the machine without runbook installed.
	if s := debStatus(); s != "" && !strings.HasPrefix(s, "un") {
		t.Fatalf("a runbook package is on this machine (dpkg status %q): remove it first (dpkg -r runbook)", s)
	}
	if _, err := os.Lstat(debInstalledBin); err == nil {
		t.Fatalf("%s exists outside any package: the test would overwrite it", debInstalledBin)
	}
	for _, tool := range []string{"man", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: make deps installs it (TEST_DEBS)", tool)
		}
	}
	if _, err := os.Stat("/usr/share/bash-completion/bash_completion"); err != nil {
		t.Fatal("bash-completion is missing: make deps installs it (TEST_DEBS)")
	}
	e2eFresh(t)

	// make deb, as a user would run it (not as part of this make run).
	root, err := filepath.Abs(e2eRepoRoot)
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
			env = append(env, kv)
		}
	}
	mk := exec.Command("make", "-C", root, "--no-print-directory", "deb", "DIST="+dist)
	mk.Env = env
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	mv := exec.Command("make", "-C", root, "-s", "--no-print-directory", "version")
	mv.Env = env
	out, err := mv.Output()
	if err != nil {
		t.Fatalf("make version: %v", err)
	}
	want := strings.TrimSpace(string(out))
	if want == "" || want == "dev" {
		t.Fatalf("make version printed %q: git describe gave no version", want)
	}
	debs, _ := filepath.Glob(filepath.Join(dist, "runbook_*_amd64.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb wrote %v, want one runbook_<version>_amd64.deb", debs)
	}
	deb := debs[0]
	t.Logf("package %s, version %s", filepath.Base(deb), want)

	// Installed from here on: removed when the test ends, whatever happens.
	t.Cleanup(func() {
		if s := debStatus(); s != "" && !strings.HasPrefix(s, "un") {
			if out, err := exec.Command("dpkg", "--purge", "runbook").CombinedOutput(); err != nil {
				t.Errorf("cleanup: dpkg --purge runbook: %v\n%s", err, out)
			}
		}
	})
	debRun(t, nil, "dpkg", "-i", deb)
	if s := debStatus(); s != "ii" {
		t.Fatalf("after dpkg -i the package's status is %q, want ii", s)
	}
	files := strings.Fields(debRun(t, nil, "dpkg", "-L", "runbook"))

	// The version stamped by make deb, from the installed binary.
	if got := debRun(t, nil, debInstalledBin, "version"); got != "runbook "+want+"\n" {
		t.Errorf("%s version printed %q, want %q", debInstalledBin, got, "runbook "+want)
	}
	if got := debRun(t, nil, debInstalledBin, "--version"); got != "runbook "+want+"\n" {
		t.Errorf("%s --version printed %q", debInstalledBin, got)
	}
	if p, err := exec.LookPath("runbook"); err != nil || p != debInstalledBin {
		t.Errorf("runbook on PATH is %q (%v), want %s", p, err, debInstalledBin)
	}

	// man runbook-apply finds the installed page and renders it.
	manEnv := []string{"MANPAGER=cat", "PAGER=cat", "MANWIDTH=100", "MAN_DISABLE_SECCOMP=1", "LANG=C.UTF-8"}
	if got := strings.TrimSpace(debRun(t, manEnv, "man", "-w", "runbook-apply")); got != "/usr/share/man/man1/runbook-apply.1.gz" {
		t.Errorf("man -w runbook-apply: %q", got)
	}
	page := debRun(t, manEnv, "man", "runbook-apply")
	for _, s := range []string{"RUNBOOK-APPLY(1)", "runbook apply FILE", "--auto-approve", "runbook " + want} {
		if !strings.Contains(page, s) {
			t.Errorf("man runbook-apply lacks %q:\n%s", s, page)
		}
	}
	if page := debRun(t, manEnv, "man", "runbook"); !strings.Contains(page, "RUNBOOK(1)") || !strings.Contains(page, "runbook-apply(1)") {
		t.Errorf("man runbook does not point at the commands' pages:\n%s", page)
	}

	// Bash completion: the script loads from its file, bash-completion
	// finds it on demand by the command's name, and it completes.
	const compFile = "/usr/share/bash-completion/completions/runbook"
	if got := debRun(t, nil, "bash", "-c", "source "+compFile+" && complete -p runbook"); !strings.Contains(got, "runbook") || !strings.Contains(got, "-F ") {
		t.Errorf("complete -p runbook after sourcing %s: %q", compFile, got)
	}
	script := `. /usr/share/bash-completion/bash_completion
_comp_load runbook 2>/dev/null || __load_completion runbook
complete -p runbook
COMP_WORDS=(runbook ap); COMP_CWORD=1; COMP_LINE="runbook ap"; COMP_POINT=${#COMP_LINE}
fn=$(complete -p runbook | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
"$fn" runbook ap runbook
printf 'reply:%s\n' "${COMPREPLY[@]}"`
	got := debRun(t, nil, "bash", "-c", script)
	if !strings.Contains(got, "reply:apply") {
		t.Errorf("bash completion of 'runbook ap' through bash-completion's loader:\n%s", got)
	}
	for _, f := range []string{"/usr/share/zsh/vendor-completions/_runbook", "/usr/share/fish/vendor_completions.d/runbook.fish"} {
		if b, err := os.ReadFile(f); err != nil || !strings.Contains(string(b), "runbook") {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range []string{"/usr/share/doc/runbook/copyright", "/usr/share/doc/runbook/README.md", "/usr/share/doc/runbook/docs/language.md"} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}

	// Phase 2 with the installed program and runbook, on the testbed.
	state := t.TempDir()
	apply := exec.Command(debInstalledBin, "apply", "/usr/share/runbook/phase2.hcl", "-i", e2eInventory,
		"--var", "account=hpc-users", "--auto-approve", "--state-dir", state)
	apply.Dir = t.TempDir()
	applyOut, err := apply.CombinedOutput()
	if err != nil {
		t.Fatalf("installed runbook apply /usr/share/runbook/phase2.hcl: %v\n%s", err, applyOut)
	}
	runs, _ := filepath.Glob(filepath.Join(state, "runs", "*-phase2"))
	if len(runs) != 1 {
		t.Fatalf("want one run record, found %v\n%s", runs, applyOut)
	}
	b, err := os.ReadFile(filepath.Join(runs[0], "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Result         string `json:"result"`
		RunbookVersion string `json:"runbook_version"`
		Checklist      []struct {
			Ticked bool `json:"ticked"`
		} `json:"checklist"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	ticked := 0
	for _, it := range rec.Checklist {
		if it.Ticked {
			ticked++
		}
	}
	if rec.Result != "success" || ticked != 8 || len(rec.Checklist) != 8 {
		t.Errorf("phase2: result %s, %d of %d ticked, want success and 8 of 8\n%s", rec.Result, ticked, len(rec.Checklist), applyOut)
	}
	if rec.RunbookVersion != want {
		t.Errorf("report.json runbook_version %q, want %q", rec.RunbookVersion, want)
	}

	// dpkg -r takes every file it put there away again.
	debRun(t, nil, "dpkg", "-r", "runbook")
	if s := debStatus(); s != "" && !strings.HasPrefix(s, "un") {
		t.Errorf("after dpkg -r the package's status is %q", s)
	}
	for _, f := range files {
		fi, err := os.Lstat(f)
		if err != nil {
			continue
		}
		// Shared directories (/usr/bin, /usr/share/man/man1) stay.
		if !fi.IsDir() || strings.Contains(f, "runbook") {
			t.Errorf("%s is still there after dpkg -r", f)
		}
	}
	if _, err := exec.LookPath("runbook"); err == nil {
		t.Error("runbook is still on PATH after dpkg -r")
	}
}
