package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A saved plan applies with its own variable values: a required variable
// needs no --var again, and a --var or --var-file given with a plan file is
// refused (as Terraform does) instead of silently ignored.
func TestApplySavedPlanUsesItsOwnValues(t *testing.T) {
	root := t.TempDir()
	rb := writeRunbook(t, `
runbook "savedvars" {
  title = "saved plan variables"
}

variable "root" {
  type = string
}

step "command" "mark" {
  argv    = ["touch", "${var.root}/marker"]
  creates = "${var.root}/marker"
}
`)
	state := t.TempDir()
	plan := filepath.Join(t.TempDir(), "p.plan")
	r := runCLI(t, "plan", rb, "--state-dir", state, "--var", "root="+root, "--out", plan)
	if r.code != exitOK {
		t.Fatalf("plan: %s", r)
	}

	// --var with a plan file: refused before anything runs.
	r = runCLI(t, "apply", plan, "--state-dir", state, "--var", "root=/elsewhere")
	if r.code != exitInvalid || !strings.Contains(r.stderr, "saved plan") || !strings.Contains(r.stderr, "--var") {
		t.Fatalf("apply PLAN --var: want exit 3 naming the saved plan:\n%s", r)
	}
	varFile := filepath.Join(t.TempDir(), "v.hcl")
	if err := os.WriteFile(varFile, []byte(`root = "/elsewhere"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "apply", plan, "--state-dir", state, "--var-file", varFile)
	if r.code != exitInvalid {
		t.Fatalf("apply PLAN --var-file: want exit 3:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(root, "marker")); !os.IsNotExist(err) {
		t.Fatal("a refused apply changed something")
	}

	// No --var: the plan's value of the required variable is used.
	r = runCLI(t, "apply", plan, "--state-dir", state)
	if r.code != exitOK {
		t.Fatalf("apply PLAN: want exit 0:\n%s", r)
	}
	noCrash(t, r)
	if _, err := os.Stat(filepath.Join(root, "marker")); err != nil {
		t.Fatalf("the saved plan was not applied with its own value: %v", err)
	}
}

// plan changes nothing: the flags that only mean something to an apply
// (resume a run, break a lock, write metrics) are not offered.
func TestPlanHasNoApplyOnlyFlags(t *testing.T) {
	rb := writeRunbook(t, `
runbook "flags" {
  title = "flags"
}
step "check" "k" {
  argv = ["true"]
}
`)
	for _, flag := range [][]string{{"--resume", "x"}, {"--force-unlock"}, {"--metrics-file", "/tmp/x.prom"}} {
		r := runCLI(t, append([]string{"plan", rb, "--state-dir", t.TempDir()}, flag...)...)
		if r.code != exitInvalid || !strings.Contains(r.stderr, "unknown flag: "+flag[0]) {
			t.Errorf("plan %s: want exit 3, unknown flag:\n%s", flag[0], r)
		}
	}
	r := runCLI(t, "apply", "--help")
	for _, flag := range []string{"--resume", "--force-unlock", "--metrics-file"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("apply --help lacks %s", flag)
		}
	}
}
