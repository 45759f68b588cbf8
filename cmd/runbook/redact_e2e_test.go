//go:build e2e

package main

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// redactionBecomeSteps add to redactionRunbook what only a real host with
// sudo has: the secret in argv through sudo with a password (the argv
// joined into sudo's line), and in env under sudo with a step timeout
// (the line quoted again for timeout(1) and sh -c).
const redactionBecomeSteps = `
step "check" "become_argv" {
  become = true
  argv   = ["sh", "-c", "printf 'root %s\\n' \"$1\"", "sh", var.pw]
}

step "check" "become_env" {
  become  = true
  env     = { PW = var.pw }
  command = "printf 'root env %s\\n' \"$PW\"; printf '%s' \"$PW\" >&2"
  timeout = "1m"
}
`

// TestRedactionE2E: issue 15's secret, with a single quote, a double
// quote and <&>, given as RUNBOOK_VAR_pw, shows in no artefact of plan
// and apply over SSH with sudo on the testbed: terminal output (-v,
// --show-commands), the --json plan and events, the saved plan, the
// metrics file, checklist and validate output, and every file of every
// run record. Before the fix it showed in all of them, shell-quoted.
func TestRedactionE2E(t *testing.T) {
	e2eRequireTestbed(t)
	const secret = `Sup3r'Secr"et<&>X`
	// The file kinds change rbadmin's files (so the plan shows their
	// diffs) in a directory of ours.
	rbadmin, err := user.Lookup("rbadmin")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(rbadmin.Uid)
	gid, _ := strconv.Atoi(rbadmin.Gid)
	dir, err := os.MkdirTemp("", "rb-e2e-redact-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"copied", "templated", "lines"} {
		p := filepath.Join(dir, f)
		if err := os.WriteFile(p, []byte("old\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	src := strings.Replace(redactionRunbook, `runbook "@NAME@" {}`, `runbook "`+e2eName("redaction-")+`" { hosts = "ctl1-rbadmin" }`, 1)
	rb := e2eWrite(t, "runbook.hcl", strings.ReplaceAll(src, "@DIR@", dir)+redactionBecomeSteps)
	if err := os.WriteFile(filepath.Join(filepath.Dir(rb), "pw.tftpl"), []byte("pw=${pw}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state, out := t.TempDir(), t.TempDir()
	planFile, metrics := filepath.Join(out, "saved.plan"), filepath.Join(out, "run.prom")
	env := []string{"RUNBOOK_VAR_pw=" + secret}

	texts := map[string]string{}
	for _, args := range [][]string{
		{"validate", rb, "-i", e2eInventory},
		{"checklist", rb},
		{"plan", rb, "-i", e2eInventory, "--state-dir", state, "--show-commands", "-v", "--out", planFile},
		{"plan", rb, "-i", e2eInventory, "--state-dir", state, "--json"},
		{"apply", rb, "-i", e2eInventory, "--state-dir", state, "--auto-approve", "--keep-going", "-v", "--metrics-file", metrics},
		{"apply", rb, "-i", e2eInventory, "--state-dir", state, "--auto-approve", "--keep-going", "--json"},
	} {
		r := e2eStart(t, env, args...).wait(t, 2*time.Minute)
		noCrash(t, r)
		what := strings.Join(args[:1], " ") + " " + strings.Join(args[2:], " ")
		texts[what+": stdout"], texts[what+": stderr"] = r.stdout, r.stderr
		if args[0] == "apply" && r.code != exitFailed {
			t.Errorf("%s: exit %d, want 1 (a step fails on purpose)", what, r.code)
		}
	}
	readRunArtefacts(t, texts, state, planFile, metrics)

	// The secret went through the host and sudo, so its absence from the
	// artefacts means it was redacted, not lost.
	dirs := runDirs(t, state)
	rep := readReport(t, dirs[len(dirs)-1])
	if rep.Mode != "apply" {
		t.Fatalf("the last run record is a %s, want the second apply's", rep.Mode)
	}
	for _, name := range []string{"argv", "become_argv", "become_env"} {
		if s := e2eStep(t, rep, name); s.Status != "ok" {
			t.Errorf("step %s is %s (%s): the secret did not go through", name, s.Status, s.Error)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "copied")); err != nil || string(b) != "pw="+secret+"\n" {
		t.Errorf("the copy step wrote %q (%v)", b, err)
	}
	for what, text := range texts {
		if leak := secretLeak(secret, text); leak != "" {
			t.Errorf("the secret shows in %s: %s", what, leak)
		}
	}
}
