package main

// The language of issue 17 through the CLI, on the local host (no
// inventory): real commands, real files, the real run record.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOutputsAndShowReadsCLI(t *testing.T) {
	rb := writeRunbook(t, `runbook "outputs" {}
step "check" "hello" {
  command = "printf 'a=1\nb=2\n'"
  parse   = "kv"
}
output "b" {
  description = "b from the check"
  value       = step.hello.kv.b
}
output "all" {
  value = step.hello.kv
}
`)
	state := t.TempDir()
	r := runCLI(t, "plan", rb, "--state-dir", state, "--show-reads")
	if r.code != exitOK {
		t.Fatal(r)
	}
	for _, want := range []string{"Outputs:", `b   = "2"`, `all = {`, "Reads:", "step.hello:", `kv = {`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan output lacks %q:\n%s", want, r.stdout)
		}
	}
	rep := readReport(t, onlyRunDir(t, state))
	if o := rep.Hosts[0].Outputs; len(o) != 2 || o[0].Name != "b" || string(o[0].Value) != `"2"` {
		t.Errorf("report outputs: %+v", o)
	}
}

func TestOutputOfSkippedStepExits3(t *testing.T) {
	rb := writeRunbook(t, `runbook "outputs" {}
step "check" "never" {
  command = "echo x"
  when    = false
}
output "x" {
  value = step.never.stdout
}
`)
	r := runCLI(t, "plan", rb, "--state-dir", t.TempDir())
	if r.code != exitInvalid || !strings.Contains(r.stderr, `output "x"`) || !strings.Contains(r.stderr, "rb.hcl:6,") ||
		!strings.Contains(r.stderr, "reads step.never, which was skipped") {
		t.Errorf("want exit 3 naming the output, its line and the skipped step:\n%s", r)
	}
	noCrash(t, r)
}

func TestGraphShowsInstancesHandlersModules(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "mod"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mod", "main.hcl"), []byte(`step "check" "inner" {
  command = "true"
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	rb := filepath.Join(dir, "rb.hcl")
	if err := os.WriteFile(rb, []byte(`runbook "graph" {}
module "m" {
  source = "./mod"
}
step "command" "conf" {
  for_each = toset(["a", "b"])
  command  = "true"
  notify   = [step.restart]
}
step "command" "restart" {
  command = "true"
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "graph", rb)
	if r.code != exitOK {
		t.Fatal(r)
	}
	for _, want := range []string{"check module.m.step.inner", `command conf["a"]`, `command conf["b"]`,
		`command restart  (handler, notified by conf["a"], conf["b"])`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("graph lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCLI(t, "graph", "--dot", rb)
	if !strings.Contains(r.stdout, `"conf[\"a\"]" -> "restart" [style=dashed, label="notify"]`) {
		t.Errorf("dot lacks the notify edge:\n%s", r.stdout)
	}
}

// A handler notified before a failure stays pending in the record and
// --resume runs it, on real files.
func TestHandlerPendingAndResumeCLI(t *testing.T) {
	dir := t.TempDir()
	conf, broken, restarts := filepath.Join(dir, "conf"), filepath.Join(dir, "fixed"), filepath.Join(dir, "restarts")
	rb := writeRunbook(t, `runbook "handlers-`+filepath.Base(dir)+`" {}
step "command" "conf" {
  command = "echo v1 > `+conf+`"
  creates = "`+conf+`"
  notify  = [step.restart]
}
step "check" "broken" {
  command = "test -e `+broken+`"
}
step "command" "restart" {
  command = "echo restart >> `+restarts+`"
}
`)
	state := t.TempDir()
	r := runCLI(t, "apply", rb, "--state-dir", state, "--auto-approve")
	if r.code != exitFailed {
		t.Fatalf("first apply should fail at step broken:\n%s", r)
	}
	if out := r.stdout + r.stderr; !strings.Contains(out, "handler restart on") || !strings.Contains(out, "is pending") {
		t.Errorf("the summary does not say the handler is pending:\n%s", r)
	}
	first := onlyRunDir(t, state)
	rep := readReport(t, first)
	h := stepsByName(t, rep)["restart"]
	if !h.HandlerPending || len(h.NotifiedBy) != 1 || h.NotifiedBy[0] != "step.conf" {
		t.Fatalf("handler record: %+v", h)
	}
	if _, err := os.Stat(restarts); err == nil {
		t.Fatal("the handler ran after the failure")
	}
	if err := os.WriteFile(broken, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "apply", rb, "--state-dir", state, "--auto-approve", "--resume", filepath.Base(first))
	if r.code != exitOK {
		t.Fatal(r)
	}
	b, _ := os.ReadFile(restarts)
	if string(b) != "restart\n" {
		t.Errorf("the resumed apply ran the handler %d times", strings.Count(string(b), "restart"))
	}
	// Nothing changed and nothing is pending: a third apply leaves it.
	r = runCLI(t, "apply", rb, "--state-dir", state, "--auto-approve")
	if b, _ := os.ReadFile(restarts); r.code != exitOK || string(b) != "restart\n" {
		t.Errorf("a plain apply ran the handler again:\n%s\n%q", r, b)
	}
}

// host.facts on the local host, gathered with one command, against what
// this machine says by other routes.
func TestHostFactsCLI(t *testing.T) {
	rb := writeRunbook(t, `runbook "facts" {}
step "check" "arch" {
  command = "uname -m"
  when    = host.facts.architecture != ""
}
output "family" {
  value = host.facts.os.family
}
output "arch_matches" {
  value = trimspace(step.arch.stdout) == host.facts.architecture
}
output "cpus" {
  value = host.facts.cpus
}
`)
	state := t.TempDir()
	r := runCLI(t, "plan", rb, "--state-dir", state, "--json")
	if r.code != exitOK {
		t.Fatal(r)
	}
	rep := readReport(t, onlyRunDir(t, state))
	got := map[string]string{}
	for _, o := range rep.Hosts[0].Outputs {
		got[o.Name] = string(o.Value)
	}
	osRelease, _ := os.ReadFile("/etc/os-release")
	wantFamily := `""`
	if strings.Contains(string(osRelease), "ID=debian") || strings.Contains(string(osRelease), "ID_LIKE=debian") {
		wantFamily = `"Debian"`
	}
	if got["family"] != wantFamily || got["arch_matches"] != "true" || got["cpus"] == "" || got["cpus"] == "0" {
		t.Errorf("facts outputs %q (family want %s)", got, wantFamily)
	}
}

// A run that was resumed once cannot be resumed again: its resume already
// ran the pending handler, and a second one would restart it again.
func TestResumeTwiceRefused(t *testing.T) {
	dir := t.TempDir()
	conf, fixed, restarts := filepath.Join(dir, "conf"), filepath.Join(dir, "fixed"), filepath.Join(dir, "restarts")
	rb := writeRunbook(t, `runbook "resume-twice-`+filepath.Base(dir)+`" {}
step "command" "conf" {
  command = "echo v1 > `+conf+`"
  creates = "`+conf+`"
  notify  = [step.restart]
}
step "check" "broken" {
  command = "test -e `+fixed+`"
}
step "command" "restart" {
  command = "echo restart >> `+restarts+`"
}
`)
	state := t.TempDir()
	if r := runCLI(t, "apply", rb, "--state-dir", state, "--auto-approve"); r.code != exitFailed {
		t.Fatal(r)
	}
	first := filepath.Base(onlyRunDir(t, state))
	if err := os.WriteFile(fixed, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "apply", rb, "--state-dir", state, "--auto-approve", "--resume", first); r.code != exitOK {
		t.Fatal(r)
	}
	r := runCLI(t, "apply", rb, "--state-dir", state, "--auto-approve", "--resume", first)
	if r.code != exitInvalid || !strings.Contains(r.stderr, "already resumed it") {
		t.Errorf("second resume of the same run:\n%s", r)
	}
	if b, _ := os.ReadFile(restarts); string(b) != "restart\n" {
		t.Errorf("the handler ran %d times", strings.Count(string(b), "restart"))
	}
}

// A key taken out of for_each: the plan names the instance an earlier
// apply ran and says it is left as it is (no kind deletes).
func TestPlanSaysWhatIsLeft(t *testing.T) {
	dir := t.TempDir()
	rb := writeRunbook(t, `runbook "left-`+filepath.Base(dir)+`" {}
variable "names" {
  type    = set(string)
  default = ["a", "b"]
}
step "command" "touch" {
  for_each = var.names
  command  = "touch `+dir+`/${each.key}"
  creates  = "`+dir+`/${each.key}"
}
`)
	state := t.TempDir()
	if r := runCLI(t, "apply", rb, "--state-dir", state, "--auto-approve"); r.code != exitOK {
		t.Fatal(r)
	}
	r := runCLI(t, "plan", rb, "--state-dir", state, "--var", `names=["a"]`)
	if r.code != exitOK {
		t.Fatal(r)
	}
	if !strings.Contains(r.stdout, `- touch["b"] on localhost (command, last applied in run `) ||
		!strings.Contains(r.stdout, `its key is no longer in step.touch's for_each; what it made stays`) {
		t.Errorf("plan does not say touch[\"b\"] is left:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, `touch["a"] on`) {
		t.Errorf("an instance still in for_each is listed as left:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err != nil {
		t.Errorf("the file of the removed key is gone: %v", err)
	}
}
