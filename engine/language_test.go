package engine_test

// The language of issue 17 as the walk sees it: for_each instances and
// their addresses, handlers (notify), outputs and become_user, driven
// through the scripted host of walk_test.go.

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/planfile"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
)

func stepNames(run *report.Run) []string {
	var out []string
	for _, s := range run.Hosts[0].Steps {
		out = append(out, s.Name)
	}
	return out
}

func TestForEachInstances(t *testing.T) {
	eng := newEngine(t, `
variable "qos" {
  type    = map(number)
  default = { moonlight = 100, vnc = 50 }
}
step "fake" "qos" {
  for_each  = var.qos
  id        = "qos-${each.key}"
  value     = tostring(each.value)
  checklist = "QoS ${each.key} exists with priority ${each.value}"
}
step "fake" "users" {
  for_each = toset(["alice", "bob"])
  id       = "user-${each.value}"
  value    = step.qos["vnc"].given
}
step "fake" "all" {
  id    = "all"
  value = join(",", [for k, q in step.qos : "${k}=${q.given}"])
}
`)
	s := newScript()
	for _, id := range []string{"qos-moonlight", "qos-vnc", "user-alice", "user-bob", "all"} {
		s.on("probe "+id, answer{exit: 1})
	}
	run := apply(t, eng, one(s), engine.ApplyOptions{})
	want := []string{`qos["moonlight"]`, `qos["vnc"]`, `users["alice"]`, `users["bob"]`, "all"}
	if got := stepNames(run); !slices.Equal(got, want) {
		t.Fatalf("instances %q, want %q", got, want)
	}
	if run.Result != engine.ResultSuccess {
		t.Fatalf("result %s", run.Result)
	}
	if c := stepOf(t, run, "h1", `qos["vnc"]`).Checklist; len(c) != 1 || c[0] != "QoS vnc exists with priority 50" {
		t.Errorf("checklist of an instance: %q", c)
	}
	// Each instance gets its own each.*; a reader of the whole step sees
	// every instance by key.
	if s.count("apply qos-moonlight") != 1 || s.count("apply user-bob") != 1 {
		t.Errorf("ran: %q", s.ran)
	}
	blank, diags := eng.Blank()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var texts []string
	for _, b := range blank {
		texts = append(texts, b.Step+": "+b.Text)
	}
	if want := []string{`qos["moonlight"]: QoS moonlight exists with priority 100`, `qos["vnc"]: QoS vnc exists with priority 50`}; !slices.Equal(texts, want) {
		t.Errorf("blank checklist %q, want %q", texts, want)
	}
}

// A step that reads one instance waits for (and is blocked by) the
// instances of that step; a for_each over nothing makes no instance and
// its readers see an empty object.
func TestForEachDependantsAndEmpty(t *testing.T) {
	eng := newEngine(t, `
step "fake" "none" {
  for_each = toset([])
  id       = each.key
}
step "fake" "qos" {
  for_each = toset(["a", "b"])
  id       = "qos-${each.key}"
}
step "fake" "after" {
  id    = "after-${length(step.none)}"
  value = step.qos["a"].given
}
`)
	s := newScript().on("probe qos-a", answer{exit: 1}).on("apply qos-a", answer{exit: 4}).on("probe qos-b", answer{exit: 1})
	run := apply(t, eng, one(s), engine.ApplyOptions{KeepGoing: true})
	if got := stepNames(run); !slices.Equal(got, []string{`qos["a"]`, `qos["b"]`, "after"}) {
		t.Fatalf("steps %q", got)
	}
	after := stepOf(t, run, "h1", "after")
	if after.Status != report.StatusNotRun || !strings.Contains(after.Summary, `qos[\"a\"]`) {
		t.Errorf("after: %s %q", after.Status, after.Summary)
	}
	if b := stepOf(t, run, "h1", `qos["b"]`); b.Status != report.StatusChanged {
		t.Errorf("independent instance: %s", b.Status)
	}

	eng = newEngine(t, `
step "fake" "none" {
  for_each = toset([])
  id       = each.key
}
step "fake" "after" {
  id = "after-${length(step.none)}"
}
`)
	s = newScript().on("probe after-0", answer{exit: 1})
	run = apply(t, eng, one(s), engine.ApplyOptions{})
	if a := stepOf(t, run, "h1", "after"); a.Status != report.StatusChanged || s.count("apply after-0") != 1 {
		t.Errorf("after over an empty for_each: %s, ran %q", a.Status, s.ran)
	}
}

func parseErr(t *testing.T, body string) string {
	t.Helper()
	cfg, diags := config.Parse([]byte(header+body), "walk.hcl", steps.Registry{"fake": fakeKind{}})
	if !diags.HasErrors() {
		vars, d := cfg.ResolveVariables(nil, nil)
		diags = append(d, engine.Validate(cfg, vars)...)
	}
	if !diags.HasErrors() {
		t.Fatalf("no error for:\n%s", body)
	}
	return diags.Error()
}

func TestForEachInvalid(t *testing.T) {
	for name, c := range map[string]struct{ body, want string }{
		"duplicates": {`step "fake" "a" {
  for_each = ["x", "y", "x"]
  id       = each.key
}`, `walk.hcl:5,14-29: Invalid for_each in step "a"; for_each lists "x" more than once`},
		"each outside for_each": {`step "fake" "a" {
  id = each.key
}`, `walk.hcl:5,8-16: Invalid reference to each`},
		"each in its own for_each": {`step "fake" "a" {
  for_each = toset([each.key])
  id       = "a"
}`, `Invalid reference to each`},
		"host in for_each": {`step "fake" "a" {
  for_each = toset([host.name])
  id       = "a"
}`, `for_each is expanded before any host is contacted`},
		"unknown through a local": {`locals {
  names = toset([host.name])
}
step "fake" "a" {
  for_each = local.names
  id       = each.key
}`, `must be known before any host is contacted (they may use var and local), so that plan can show every instance. Unknown here: local.names.`},
		"not a collection": {`step "fake" "a" {
  for_each = "x"
  id       = "a"
}`, `for_each takes a map, or a set or list of strings, not string`},
		"numbers": {`step "fake" "a" {
  for_each = [1, 2]
  id       = "a"
}`, `for_each over a list or set takes strings; an element is number`},
		"handler notifies itself": {`step "fake" "a" {
  id     = "a"
  notify = [step.a]
}`, `walk.hcl:6,12-20: Step notifies itself`},
		"notify undeclared": {`step "fake" "a" {
  id     = "a"
  notify = [step.restart]
}`, `notify names step "restart", which is not declared`},
		"handler cycle": {`step "fake" "a" {
  id     = "a"
  notify = [step.b]
}
step "fake" "b" {
  id    = "b"
  value = step.a.given
  notify = [step.a]
}`, `Dependency cycle between steps`},
		"become_user option": {`step "fake" "a" {
  id          = "a"
  become_user = "-rf"
}`, `become_user must be a user name`},
	} {
		t.Run(name, func(t *testing.T) {
			if got := parseErr(t, c.body); !strings.Contains(got, c.want) {
				t.Errorf("error %q\nwant it to contain %q", got, c.want)
			}
		})
	}
}

const handlerBody = `
step "fake" "config" {
  id     = "config"
  notify = [step.restart]
}
step "fake" "other_config" {
  id     = "other"
  notify = [step.restart]
}
step "fake" "check" {
  id = "check"
}
step "fake" "restart" {
  id     = "restart"
  action = "run"
}
`

func TestHandlerRunsOnceAfterItsNotifiers(t *testing.T) {
	eng := newEngine(t, handlerBody)
	// Both notifiers change: the handler runs once, after both.
	s := newScript().on("probe config", answer{exit: 1}).on("probe other", answer{exit: 1}).on("probe restart", answer{exit: 1})
	run := apply(t, eng, one(s), engine.ApplyOptions{})
	r := stepOf(t, run, "h1", "restart")
	if s.count("apply restart") != 1 || r.Status != report.StatusChanged {
		t.Fatalf("restart: %s, ran %q", r.Status, s.ran)
	}
	if !slices.Equal(r.NotifiedBy, []string{"step.config", "step.other_config"}) {
		t.Errorf("notified by %q", r.NotifiedBy)
	}
	if i, j := slices.Index(s.ran, "apply other"), slices.Index(s.ran, "apply restart"); i < 0 || j < i {
		t.Errorf("handler ran before a notifier: %q", s.ran)
	}

	// Nothing changed: the handler is skipped and runs nothing.
	s = newScript().on("probe config", answer{exit: 0}).on("probe other", answer{exit: 0}).on("probe restart", answer{exit: 1})
	run = apply(t, eng, one(s), engine.ApplyOptions{})
	r = stepOf(t, run, "h1", "restart")
	if r.Status != report.StatusSkipped || s.count("probe restart") != 0 || !strings.Contains(r.Summary, "not notified") {
		t.Errorf("unnotified handler: %s %q, ran %q", r.Status, r.Summary, s.ran)
	}

	// A plan says the handler will run because a notifier will change.
	s = newScript().on("probe config", answer{exit: 0}).on("probe other", answer{exit: 1}).on("probe restart", answer{exit: 1})
	plan := eng.Plan(context.Background(), one(s), engine.PlanOptions{})
	r = stepOf(t, plan, "h1", "restart")
	if r.Status != report.StatusPlanned || !slices.Equal(r.NotifiedBy, []string{"step.other_config"}) {
		t.Errorf("planned handler: %s %q", r.Status, r.NotifiedBy)
	}
}

// Ansible's long-standing complaint: a failure after the notification
// loses the handler. Here it stays pending in the record, runs under
// --force-handlers, and --resume runs it although its notifier now has
// nothing to change.
func TestHandlerPendingAfterFailure(t *testing.T) {
	body := header + `
step "fake" "config" {
  id     = "config"
  notify = [step.restart]
}
step "fake" "broken" {
  id = "broken"
}
step "fake" "restart" {
  id     = "restart"
  action = "run"
}
`
	eng := engineFromFile(t, writeResumeRunbook(t, body))
	failing := func() *script {
		return newScript().on("probe config", answer{exit: 1}).on("probe broken", answer{exit: 1}).on("apply broken", answer{exit: 9}).on("probe restart", answer{exit: 1})
	}
	s := failing()
	first := apply(t, eng, one(s), engine.ApplyOptions{})
	first.ID = "run-1"
	r := stepOf(t, first, "h1", "restart")
	if !r.HandlerPending || r.Status != report.StatusNotRun || s.count("apply restart") != 0 {
		t.Fatalf("handler after a failure: pending=%v %s %q", r.HandlerPending, r.Status, r.Summary)
	}
	if !strings.Contains(r.Summary, "--resume") || !strings.Contains(r.Summary, "step.config") {
		t.Errorf("pending summary: %q", r.Summary)
	}

	s = failing()
	forced := apply(t, eng, one(s), engine.ApplyOptions{ForceHandlers: true})
	if r := stepOf(t, forced, "h1", "restart"); r.Status != report.StatusChanged || s.count("apply restart") != 1 {
		t.Errorf("--force-handlers: %s, ran %q", r.Status, s.ran)
	}

	// The resume: config is now as desired (it changed in run-1), broken
	// is fixed; the handler must still run.
	s = newScript().on("probe config", answer{exit: 0}).on("probe broken", answer{exit: 0}).on("probe restart", answer{exit: 1})
	resumed := apply(t, eng, one(s), engine.ApplyOptions{Resume: first})
	r = stepOf(t, resumed, "h1", "restart")
	if r.Status != report.StatusChanged || s.count("apply restart") != 1 || !slices.Equal(r.NotifiedBy, []string{"run run-1 (resumed)"}) {
		t.Errorf("resumed handler: %s %q, ran %q", r.Status, r.NotifiedBy, s.ran)
	}
	// And a plain apply (no resume) of the same state does not run it.
	s = newScript().on("probe config", answer{exit: 0}).on("probe broken", answer{exit: 0})
	plain := apply(t, eng, one(s), engine.ApplyOptions{})
	if r := stepOf(t, plain, "h1", "restart"); r.Status != report.StatusSkipped {
		t.Errorf("plain apply after: %s", r.Status)
	}
}

func TestOutputs(t *testing.T) {
	eng := newEngine(t, `
variable "pw" {
  default   = "hunter22"
  sensitive = true
}
step "fake" "read" {
  id     = "read"
  action = "read"
}
step "fake" "never" {
  id   = "never"
  when = false
}
output "value" {
  description = "what read says"
  value       = step.read.value
}
output "secret" {
  value     = var.pw
  sensitive = true
}
output "from_skipped" {
  value = step.never.value
}
`)
	s := newScript().on("probe read", answer{out: "42 GPUs\n"})
	run := eng.Plan(context.Background(), one(s), engine.PlanOptions{})
	outs := run.Hosts[0].Outputs
	if len(outs) != 3 {
		t.Fatalf("outputs: %+v", outs)
	}
	var v string
	if err := json.Unmarshal(outs[0].Value, &v); err != nil || v != "42 GPUs" || outs[0].Description != "what read says" {
		t.Errorf("value output: %s %v", outs[0].Value, err)
	}
	if !outs[1].Sensitive || outs[1].Value != nil {
		t.Errorf("sensitive output kept its value: %+v", outs[1])
	}
	if e := outs[2].Error; !strings.Contains(e, `reads step.never, which was skipped (when is false)`) || !strings.Contains(e, "walk.hcl:") {
		t.Errorf("output of a skipped step: %q", e)
	}
}

type recordingHost struct {
	*script
	cmds []transport.Command
}

func (r *recordingHost) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	r.cmds = append(r.cmds, cmd)
	return r.script.Run(ctx, cmd)
}

func TestBecomeUser(t *testing.T) {
	eng := savedEngine(t, `
step "check" "as_alice" {
  argv        = ["id", "-un"]
  become_user = "alice"
}
step "check" "as_root" {
  argv   = ["id", "-un"]
  become = true
}
`)
	host := &recordingHost{script: newScript()}
	tg := one(host.script)
	tg[0].Connect = func(context.Context) (transport.Transport, error) { return host, nil }
	run := apply(t, eng, tg, engine.ApplyOptions{})
	if len(host.cmds) != 2 {
		t.Fatalf("commands: %+v", host.cmds)
	}
	if c := host.cmds[0]; !c.Become || c.BecomeUser != "alice" {
		t.Errorf("become_user: become %v user %q", c.Become, c.BecomeUser)
	}
	if c := host.cmds[1]; !c.Become || c.BecomeUser != "" {
		t.Errorf("become alone: become %v user %q", c.Become, c.BecomeUser)
	}
	// The record shows the command as it ran: sudo -u alice.
	if c := stepOf(t, run, "h1", "as_alice").Commands; len(c) != 1 || !strings.Contains(c[0].Command, "-u alice") {
		t.Errorf("recorded command: %+v", c)
	}
}

// A saved plan made when for_each had other keys is refused: the instance
// that was added is not in the plan, the one removed is not in the apply.
func TestSavedPlanRefusesChangedForEachKeys(t *testing.T) {
	body := func(keys string) string {
		return `
variable "keys" {
  type    = set(string)
  default = ` + keys + `
}
step "fake" "qos" {
  for_each = var.keys
  id       = "qos-${each.key}"
}
`
	}
	planned := newEngine(t, body(`["a", "b"]`)).Plan(context.Background(), one(newScript()), engine.PlanOptions{})
	saved := &planfile.File{Hosts: planfile.HostsOf(planned)}
	s := newScript()
	_, err := newEngine(t, body(`["a", "c"]`)).Apply(context.Background(), one(s), engine.ApplyOptions{Saved: saved})
	stale := staleOf(t, err)
	var drifts []string
	for _, d := range stale.Drifts {
		drifts = append(drifts, d.String())
	}
	if !strings.Contains(strings.Join(drifts, "\n"), `step qos["c"]: step is not in the saved plan`) {
		t.Errorf("drifts: %q", drifts)
	}
	// The check before a saved plan's apply probes (read-only); nothing
	// is applied.
	if s.count("apply qos-a") != 0 || s.count("apply qos-c") != 0 {
		t.Errorf("a refused apply ran %q", s.ran)
	}
}

// An output that is not marked sensitive but carries a secret (in a
// string, a list, a map key's value) is still redacted in the record.
func TestOutputsRedacted(t *testing.T) {
	cfg, diags := config.Parse([]byte(header+`
variable "pw" {
  sensitive = true
}
output "leaky" {
  value = { line = "user:${var.pw}", list = ["a", var.pw] }
}
`), "walk.hcl", steps.Registry{"fake": fakeKind{}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	vars, diags := cfg.ResolveVariables([]config.VarSource{{Assign: "pw=Sup3r'Secr\"et"}}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	eng, diags := engine.New(cfg, vars, engine.Options{Redactor: evidenceRedactor(`Sup3r'Secr"et`)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	run := eng.Plan(context.Background(), one(newScript()), engine.PlanOptions{})
	b, err := json.Marshal(run.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "Sup3r") || !strings.Contains(string(run.Hosts[0].Outputs[0].Value), "(sensitive)") {
		t.Errorf("output not redacted: %s", run.Hosts[0].Outputs[0].Value)
	}
}

// host.facts has its type before facts are gathered: a typo is an error
// at validate, not an unknown that passes.
func TestFactsTypoAtValidate(t *testing.T) {
	got := parseErr(t, `step "fake" "a" {
  id   = "a"
  when = host.facts.os.famly == "Debian"
}`)
	if !strings.Contains(got, `walk.hcl:6,`) || !strings.Contains(got, "famly") {
		t.Errorf("typo in host.facts: %s", got)
	}
}
