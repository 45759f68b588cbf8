package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMakefileRunsEveryE2EPackage: `make test` runs the e2e suites of the
// packages in E2E_PKGS only, so a package that gains e2e tests must be
// listed there, or its tests never run in CI.
func TestMakefileRunsEveryE2EPackage(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^E2E_PKGS\s*:?=\s*(.*)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile has no E2E_PKGS line")
	}
	listed := map[string]bool{}
	for _, p := range strings.Fields(string(m[1])) {
		listed[strings.Trim(strings.TrimPrefix(p, "./"), "/")] = true
	}
	var missing []string
	root := "../.."
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil || !regexp.MustCompile(`(?m)^//go:build .*\be2e\b`).Match(b) {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		if !listed[rel] && !slices.Contains(missing, rel) {
			missing = append(missing, rel)
		}
		return nil
	})
	if len(missing) > 0 {
		t.Errorf("packages with e2e tests that make test does not run (add them to E2E_PKGS): %v", missing)
	}
}
