package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/planfile"
)

// savedPlanFixture is a runbook that touches DIR/HOST on each of two
// local hosts, h1 and h2, and appends the content of DIR/msg to DIR/said.
func savedPlanFixture(t *testing.T) (rb, inv, dir string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "msg"), []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rb = writeRunbook(t, `
runbook "savedtargets" {
  title = "saved plan targets"
}

step "command" "mark" {
  argv    = ["touch", "`+dir+`/${host.name}"]
  creates = "`+dir+`/${host.name}"
}

step "command" "say" {
  command = "echo ${trimspace(file("`+dir+`/msg"))} >> `+dir+`/said-${host.name}"
}
`)
	inv = filepath.Join(t.TempDir(), "inventory.hcl")
	if err := os.WriteFile(inv, []byte("host \"h1\" {\n  local = true\n}\n\nhost \"h2\" {\n  local = true\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return rb, inv, dir
}

// `plan --limit h1 --out p.plan`, then `apply p.plan`: as Terraform applies
// a saved plan's targets and no others, the plan's hosts are the apply's.
// It runs on h1 only; --limit cannot be given with the plan.
func TestSavedPlanAppliesOnlyItsHosts(t *testing.T) {
	rb, inv, dir := savedPlanFixture(t)
	state := t.TempDir()
	plan := filepath.Join(t.TempDir(), "p.plan")
	r := runCLI(t, "plan", rb, "-i", inv, "--state-dir", state, "--limit", "h1", "--out", plan)
	if r.code != exitOK || !strings.Contains(r.stdout, "Saved the plan to "+plan+", for h1 (--limit h1)") {
		t.Fatalf("plan --limit h1 --out:\n%s", r)
	}
	pf, err := planfile.Read(plan)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pf.HostNames(), ",") != "h1" || strings.Join(pf.Limit, ",") != "h1" {
		t.Fatalf("saved hosts %q, limit %q", pf.HostNames(), pf.Limit)
	}

	for _, limit := range []string{"h2", "h1", "all"} {
		r = runCLI(t, "apply", plan, "--state-dir", state, "--limit", limit)
		if r.code != exitInvalid || !strings.Contains(r.stderr, "runs on exactly the hosts it was made for, h1 (--limit h1), so --limit cannot be given") {
			t.Errorf("apply PLAN --limit %s: want exit 3:\n%s", limit, r)
		}
	}
	for _, h := range []string{"h1", "h2"} {
		if fileExists(filepath.Join(dir, h)) {
			t.Fatalf("a refused apply ran on %s", h)
		}
	}

	r = runCLI(t, "apply", plan, "--state-dir", state)
	if r.code != exitOK {
		t.Fatalf("apply PLAN:\n%s", r)
	}
	noCrash(t, r)
	if !fileExists(filepath.Join(dir, "h1")) {
		t.Error("the plan was not applied on h1")
	}
	if fileExists(filepath.Join(dir, "h2")) || fileExists(filepath.Join(dir, "said-h2")) {
		t.Error("the saved plan of h1 ran on h2")
	}
	rep := readReport(t, runDirs(t, state)[len(runDirs(t, state))-1])
	if rep.Mode != "apply" || len(rep.Hosts) != 1 || rep.Hosts[0].Name != "h1" {
		t.Errorf("apply record: mode %s, hosts %d", rep.Mode, len(rep.Hosts))
	}
}

// A plan file edited to show fewer steps, or a host the inventory does not
// have, is refused, naming the host or step; nothing runs.
func TestSavedPlanRefusesHostsAndStepsItDoesNotShow(t *testing.T) {
	rb, inv, dir := savedPlanFixture(t)
	state := t.TempDir()
	plan := filepath.Join(t.TempDir(), "p.plan")
	if r := runCLI(t, "plan", rb, "-i", inv, "--state-dir", state, "--limit", "h1", "--out", plan); r.code != exitOK {
		t.Fatalf("plan:\n%s", r)
	}
	edit := func(change func(*planfile.File)) string {
		pf, err := planfile.Read(plan)
		if err != nil {
			t.Fatal(err)
		}
		change(pf)
		p := filepath.Join(t.TempDir(), "edited.plan")
		if err := planfile.Write(p, pf); err != nil {
			t.Fatal(err)
		}
		return p
	}

	noSay := edit(func(pf *planfile.File) { pf.Hosts[0].Steps = pf.Hosts[0].Steps[:1] })
	r := runCLI(t, "apply", noSay, "--state-dir", state)
	if r.code != exitFailed || !strings.Contains(r.stdout, "host h1, step say: step is not in the saved plan") ||
		!strings.Contains(r.stdout, "Nothing was applied") {
		t.Errorf("a step the plan does not show: want exit 1 naming it:\n%s", r)
	}

	elsewhere := edit(func(pf *planfile.File) { pf.Hosts[0].Name = "h9" })
	r = runCLI(t, "apply", elsewhere, "--state-dir", state)
	if r.code != exitFailed || !strings.Contains(r.stderr, "its host h9 is not one of the runbook's hosts") {
		t.Errorf("a host the inventory does not have: want exit 1 naming it:\n%s", r)
	}

	if entries, _ := os.ReadDir(dir); len(entries) != 1 { // msg
		t.Errorf("a refused apply ran something: %v", entries)
	}
}

// A saved plan is bound to the commands it showed: a local file they are
// made from changed (the runbook did not, nor anything a probe reads), so
// apply refuses, showing both commands, and runs nothing.
func TestSavedPlanRefusesOtherCommands(t *testing.T) {
	rb, inv, dir := savedPlanFixture(t)
	state := t.TempDir()
	plan := filepath.Join(t.TempDir(), "p.plan")
	if r := runCLI(t, "plan", rb, "-i", inv, "--state-dir", state, "--limit", "h1", "--out", plan); r.code != exitOK {
		t.Fatalf("plan:\n%s", r)
	}
	if err := os.WriteFile(filepath.Join(dir, "msg"), []byte("goodbye\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "apply", plan, "--state-dir", state)
	want := "host h1, step say: commands differ from the ones the plan showed\n" +
		"      plan: $ echo hello >> " + dir + "/said-h1\n" +
		"      now:  $ echo goodbye >> " + dir + "/said-h1"
	if r.code != exitFailed || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "stale") {
		t.Fatalf("apply with other commands: want exit 1 and\n%s\ngot:\n%s", want, r)
	}
	if fileExists(filepath.Join(dir, "h1")) || fileExists(filepath.Join(dir, "said-h1")) {
		t.Error("a refused apply ran something")
	}
}

// A saved plan made without an inventory is for the local host: -i would
// pick other hosts, and is refused.
func TestSavedPlanWithoutInventoryRefusesOne(t *testing.T) {
	dir := t.TempDir()
	rb := writeRunbook(t, `
runbook "localplan" {
  title = "local"
}

step "command" "mark" {
  argv    = ["touch", "`+dir+`/marker"]
  creates = "`+dir+`/marker"
}
`)
	plan := filepath.Join(t.TempDir(), "p.plan")
	state := t.TempDir()
	if r := runCLI(t, "plan", rb, "--state-dir", state, "--out", plan); r.code != exitOK {
		t.Fatalf("plan:\n%s", r)
	}
	inv := filepath.Join(t.TempDir(), "inventory.hcl")
	if err := os.WriteFile(inv, []byte("host \"h1\" {\n  local = true\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "apply", plan, "--state-dir", state, "-i", inv)
	if r.code != exitInvalid || !strings.Contains(r.stderr, "made without an inventory") {
		t.Errorf("apply PLAN -i: want exit 3:\n%s", r)
	}
	if fileExists(filepath.Join(dir, "marker")) {
		t.Error("a refused apply ran")
	}
}

// `apply /dev/zero` (and a plan file far over the cap) ends at once with a
// clear error, within bounded memory, instead of reading until the machine
// runs out.
func TestApplyEndlessPlanFile(t *testing.T) {
	huge := filepath.Join(t.TempDir(), "huge.plan")
	head, _ := json.Marshal(map[string]string{"kind": planfile.Kind})
	if err := os.WriteFile(huge, append(head[:len(head)-1], []byte(`, "pad": "`)...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 4<<30); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{"/dev/zero", "too large"},
		{huge, "holds more than 64 MiB"},
	} {
		r, rss := runBounded(t, 20*time.Second, "apply", c.path, "--auto-approve", "--state-dir", t.TempDir())
		t.Logf("%s: exit %d, peak RSS %d MB", c.path, r.code, rss>>20)
		if r.code != exitInvalid || !strings.Contains(r.stderr, c.want) {
			t.Errorf("apply %s: want exit 3 saying %q:\n%s", c.path, c.want, r)
		}
		noCrash(t, r)
		if rss > 512<<20 {
			t.Errorf("apply %s: peak RSS %d MB", c.path, rss>>20)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
