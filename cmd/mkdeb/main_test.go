package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestDebVersion(t *testing.T) {
	for in, want := range map[string]string{
		"0.2.0":                    "0.2.0",
		"v0.2.0":                   "0.2.0",
		"0.2.0-rc.1":               "0.2.0~rc.1",
		"0.2.0-3-g1a2b3c4":         "0.2.0+3.g1a2b3c4",
		"0.2.0-3-g1a2b3c4-dirty":   "0.2.0+3.g1a2b3c4.dirty",
		"0.2.0-dirty":              "0.2.0+dirty",
		"0.1.0-dev+gfa0804c":       "0.1.0~dev+gfa0804c",
		"0.1.0-dev+gfa0804c-dirty": "0.1.0~dev+gfa0804c.dirty",
		"0.2.0-rc.1-2-gabcdef0":    "0.2.0~rc.1+2.gabcdef0",
		"dev":                      "0~dev",
		"dev+0123456789ab.dirty":   "0~dev+0123456789ab.dirty",
		"0.0.0-20260314150405-0123456789ab+dirty": "0.0.0~20260314150405.0123456789ab+dirty",
	} {
		if got := debVersion(in); got != want {
			t.Errorf("debVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// Debian sorts the versions as their releases come: a pre-release and a
// development build before the release, commits past a tag after it.
func TestDebVersionOrder(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("no dpkg to compare versions with")
	}
	less := func(x, y string) {
		a, b := debVersion(x), debVersion(y)
		out, err := exec.Command(dpkg, "--compare-versions", a, "lt", b).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("dpkg does not sort %s (%s) before %s (%s): %v %s", a, x, b, y, err, out)
		}
	}
	order := []string{"dev", "0.1.0-dev+gfa0804c", "0.1.0-rc.1", "0.1.0", "0.1.0-1-gabcdef0", "0.1.0-12-g1234567", "0.2.0-rc.1", "0.2.0"}
	for i := 1; i < len(order); i++ {
		less(order[i-1], order[i])
	}
	less("0.1.0", "0.1.0-dirty")
	less("0.1.0-1-gabcdef0", "0.1.0-1-gabcdef0-dirty")
}

// The package holds the binary, its man pages and completions, the
// runbooks without their tests and the docs, with Debian's metadata.
func TestBuild(t *testing.T) {
	dpkgDeb, err := exec.LookPath("dpkg-deb")
	if err != nil {
		t.Skip("no dpkg-deb to read the package with")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "runbook")
	gobuild := exec.Command("go", "build", "-ldflags", "-X main.version=1.2.3-rc.1", "-o", bin, "./cmd/runbook")
	gobuild.Dir = filepath.Join("..", "..")
	if out, err := gobuild.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1773500645")
	out := filepath.Join(tmp, "dist")
	deb, err := build(bin, filepath.Join("..", ".."), out, "Test <test@example.invalid>")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(out, "runbook_1.2.3~rc.1_"+runtime.GOARCH+".deb"); deb != want {
		t.Errorf("wrote %s, want %s", deb, want)
	}
	fields, err := exec.Command(dpkgDeb, "-f", deb, "Package", "Version", "Architecture", "Depends", "Maintainer").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Package: runbook", "Version: 1.2.3~rc.1", "Architecture: " + runtime.GOARCH, "Depends: libc6 (>= 2.", "Maintainer: Test <test@example.invalid>"} {
		if !strings.Contains(string(fields), want) {
			t.Errorf("control lacks %q:\n%s", want, fields)
		}
	}
	list, err := exec.Command(dpkgDeb, "-c", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-rwxr-xr-x root/root", "./usr/bin/runbook\n",
		"./usr/share/man/man1/runbook.1.gz", "./usr/share/man/man1/runbook-apply.1.gz",
		"./usr/share/bash-completion/completions/runbook\n",
		"./usr/share/zsh/vendor-completions/_runbook\n",
		"./usr/share/fish/vendor_completions.d/runbook.fish\n",
		"./usr/share/runbook/phase2.hcl\n", "./usr/share/runbook/phase2/test_moonlight_qos.sh.tftpl\n",
		"./usr/share/doc/runbook/copyright\n", "./usr/share/doc/runbook/changelog.gz\n",
		"./usr/share/doc/runbook/README.md\n", "./usr/share/doc/runbook/docs/language.md\n",
		"2026-03-14 ",
	} {
		if !strings.Contains(string(list), want) {
			t.Errorf("package lacks %q:\n%s", want, list)
		}
	}
	for _, bad := range []string{"_test.go", "testdata", "mkdeb", "runbook-man.1"} {
		if strings.Contains(string(list), bad) {
			t.Errorf("package holds %q:\n%s", bad, list)
		}
	}
	// The same inputs pack to the same bytes.
	again, err := build(bin, filepath.Join("..", ".."), filepath.Join(tmp, "again"), "Test <test@example.invalid>")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(deb)
	b, _ := os.ReadFile(again)
	if string(a) != string(b) {
		t.Error("two builds from the same inputs differ")
	}
}
