//go:build e2e

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSavedPlanE2E: a saved plan runs on exactly the hosts and with
// exactly the commands it showed (issue 15, findings 1 and 4), over real
// SSH. The inventory names the testbed's sshd twice, as ctl1 and
// ctl1-again. `plan --limit ctl1 --out p.plan` then `apply p.plan` runs on
// ctl1 only, as Terraform applies a saved plan's targets and no others;
// `apply p.plan --limit …` is refused. A plan of both hosts whose commands
// then change (a local file they are made from) is refused, showing both
// commands, and nothing runs; unchanged, it applies on both.
func TestSavedPlanE2E(t *testing.T) {
	e2eRequireTestbed(t)
	src, err := os.ReadFile(e2eInventory)
	if err != nil {
		t.Fatal(err)
	}
	ctl1 := string(src[strings.Index(string(src), `host "ctl1" {`):])
	ctl1 = ctl1[:strings.Index(ctl1, "\n}\n")+3]
	again := strings.Replace(ctl1, `host "ctl1" {`, `host "ctl1-again" {`, 1)
	inv := e2eWrite(t, "inventory.hcl", ctl1+"\n"+again)

	marker := e2eMarker(t, "saved")
	for _, h := range []string{"ctl1", "ctl1-again"} {
		for _, p := range []string{marker + "-" + h, marker + "-said-" + h} {
			t.Cleanup(func() { os.Remove(p) })
		}
	}
	msg := e2eWrite(t, "msg", "hello\n")
	rb := e2eWrite(t, "runbook.hcl", fmt.Sprintf(`
runbook %q {
  title = "saved plan targets"
}

step "command" "mark" {
  command = "touch %[2]s-${host.name}"
  creates = "%[2]s-${host.name}"
}

step "command" "say" {
  command = "echo ${trimspace(file(%[3]q))} >> %[2]s-said-${host.name}"
}
`, e2eName("saved-"), marker, msg))
	state := t.TempDir()
	run := func(timeout time.Duration, args ...string) result {
		t.Helper()
		r := e2eStart(t, nil, args...).wait(t, timeout)
		noCrash(t, r)
		return r
	}

	// Plan for ctl1 only.
	plan := filepath.Join(t.TempDir(), "p.plan")
	r := run(time.Minute, "plan", rb, "-i", inv, "--state-dir", state, "--limit", "ctl1", "--out", plan)
	if r.code != exitOK || !strings.Contains(r.stdout, "ctl1 (ssh koopark@127.0.0.1") || strings.Contains(r.stdout, "ctl1-again") ||
		!strings.Contains(r.stdout, "for ctl1 (--limit ctl1)") {
		t.Fatalf("plan --limit ctl1 --out: want ctl1 only:\n%s", r)
	}

	// Another --limit with the plan: refused before anything is contacted.
	r = run(time.Minute, "apply", plan, "--state-dir", state, "--limit", "ctl1-again")
	if r.code != exitInvalid || !strings.Contains(r.stderr, "it runs on exactly the hosts it was made for, ctl1 (--limit ctl1)") {
		t.Errorf("apply PLAN --limit ctl1-again: want exit 3:\n%s", r)
	}

	// The plan alone: ctl1, and only ctl1.
	applyState := t.TempDir()
	r = run(2*time.Minute, "apply", plan, "--state-dir", applyState)
	if r.code != exitOK {
		t.Fatalf("apply PLAN: exit %d\n%s", r.code, r)
	}
	if !e2eExists(marker+"-ctl1") || !e2eExists(marker+"-said-ctl1") {
		t.Error("the saved plan did not run on ctl1")
	}
	if e2eExists(marker+"-ctl1-again") || e2eExists(marker+"-said-ctl1-again") {
		t.Fatal("the saved plan of ctl1 ran on ctl1-again")
	}
	rep, _ := e2eRecord(t, applyState)
	if rep.Mode != "apply" || len(rep.Hosts) != 1 || rep.Hosts[0].Name != "ctl1" {
		t.Errorf("apply record: mode %s, %d host(s)", rep.Mode, len(rep.Hosts))
	}

	// A plan of both hosts, then the commands change with nothing the
	// plan probed: refused, both commands shown, nothing run.
	both := filepath.Join(t.TempDir(), "both.plan")
	if r = run(time.Minute, "plan", rb, "-i", inv, "--state-dir", state, "--out", both); r.code != exitOK {
		t.Fatalf("plan --out: exit %d\n%s", r.code, r)
	}
	if err := os.WriteFile(msg, []byte("goodbye\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	said := func(h string) string { b, _ := os.ReadFile(marker + "-said-" + h); return string(b) }
	r = run(2*time.Minute, "apply", both, "--state-dir", state, "--forks", "1")
	for _, h := range []string{"ctl1", "ctl1-again"} {
		want := fmt.Sprintf("host %s, step say: commands differ from the ones the plan showed\n"+
			"      plan: $ echo hello >> %[2]s-said-%[1]s\n"+
			"      now:  $ echo goodbye >> %[2]s-said-%[1]s", h, marker)
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the refusal does not show\n%s", want)
		}
	}
	if r.code != exitFailed || !strings.Contains(r.stdout, "Nothing was applied") {
		t.Errorf("apply of a plan whose commands changed: want exit 1:\n%s", r)
	}
	if e2eExists(marker+"-ctl1-again") || said("ctl1") != "hello\n" {
		t.Fatalf("a refused apply ran something: said %q", said("ctl1"))
	}

	// Unchanged, the plan of both applies on both.
	if err := os.WriteFile(msg, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r = run(2*time.Minute, "apply", both, "--state-dir", state, "--forks", "1"); r.code != exitOK {
		t.Fatalf("apply of the unchanged plan: exit %d\n%s", r.code, r)
	}
	if !e2eExists(marker+"-ctl1-again") || said("ctl1-again") != "hello\n" || said("ctl1") != "hello\nhello\n" {
		t.Errorf("after applying both.plan: ctl1 said %q, ctl1-again said %q", said("ctl1"), said("ctl1-again"))
	}
}
