package engine_test

// Unit tests of the walk: no cluster, no SSH. A scripted transport answers
// each command line from a queue and records what ran; the "fake" kind
// below probes with `probe ID`, applies with `apply ID` and cleans up with
// `cancel ID`, so every branch of a step's lifecycle is driven through the
// real evidence recorder by what the "host" answers.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/engine/planfile"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// ---------------------------------------------------------------- transport

type answer struct {
	exit int
	out  string
}

// script is a host that answers command lines from queues (the last answer
// repeats; an unscripted command exits 0 with no output) and can hold a
// command until its context ends.
type script struct {
	mu      sync.Mutex
	answers map[string][]answer
	hold    map[string]bool
	held    chan string
	ran     []string
	// local runs what is not a step's argv (the run lock's shell script).
	local transport.Transport
}

func newScript() *script {
	return &script{answers: map[string][]answer{}, hold: map[string]bool{}, held: make(chan string, 10)}
}

func (s *script) on(line string, as ...answer) *script {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[line] = as
	return s
}

func (s *script) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	if len(cmd.Argv) == 0 && s.local != nil {
		return s.local.Run(ctx, cmd)
	}
	line := strings.Join(cmd.Argv, " ")
	s.mu.Lock()
	s.ran = append(s.ran, line)
	hold := s.hold[line]
	q := s.answers[line]
	var a answer
	if len(q) > 0 {
		a = q[0]
		if len(q) > 1 {
			s.answers[line] = q[1:]
		}
	}
	s.mu.Unlock()
	if hold {
		s.held <- line
		<-ctx.Done()
		return transport.Result{}, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return transport.Result{}, err
	}
	return transport.Result{ExitCode: a.exit, Stdout: []byte(a.out)}, nil
}

func (s *script) Describe() string { return "script" }
func (s *script) Close() error     { return nil }

// count is how often a command line ran.
func (s *script) count(line string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.ran {
		if l == line {
			n++
		}
	}
	return n
}

// ---------------------------------------------------------------- test kind

type fakeKind struct{}

func (fakeKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"id":       &hcldec.AttrSpec{Name: "id", Type: cty.String, Required: true},
		"action":   &hcldec.AttrSpec{Name: "action", Type: cty.String},
		"value":    &hcldec.AttrSpec{Name: "value", Type: cty.String},
		"panic_in": &hcldec.AttrSpec{Name: "panic_in", Type: cty.String},
		"reads":    &hcldec.AttrSpec{Name: "reads", Type: cty.List(cty.String)},
		"writes":   &hcldec.AttrSpec{Name: "writes", Type: cty.List(cty.String)},
	}
}

func (fakeKind) ReadOnly() bool { return false }

func (fakeKind) Decode(v cty.Value) (steps.Step, error) {
	s := &fakeStep{action: steps.Create}
	str := func(name string) string {
		if a := v.GetAttr(name); !a.IsNull() {
			return a.AsString()
		}
		return ""
	}
	s.id, s.panicIn, s.value = str("id"), str("panic_in"), str("value")
	if a := str("action"); a != "" {
		act, ok := steps.ParseAction(a)
		if !ok {
			return nil, fmt.Errorf("unknown action %q", a)
		}
		s.action = act
	}
	for name, dst := range map[string]*[]string{"reads": &s.reads, "writes": &s.writes} {
		if a := v.GetAttr(name); !a.IsNull() {
			if err := gocty.FromCtyValue(a, dst); err != nil {
				return nil, err
			}
		}
	}
	if s.panicIn == "decode" {
		panic("decode exploded")
	}
	return s, nil
}

type fakeStep struct {
	id, panicIn, value string
	action             steps.Action
	reads, writes      []string
}

func (s *fakeStep) Resources() (reads, writes []string) { return s.reads, s.writes }

func (s *fakeStep) outputs(stdout string) map[string]cty.Value {
	return map[string]cty.Value{"value": cty.StringVal(strings.TrimSpace(stdout)), "given": cty.StringVal(s.value)}
}

// Plan: `probe ID` exiting 0 means already as desired (its stdout is the
// value); otherwise the step proposes its action. A read step always reads.
func (s *fakeStep) Plan(ctx context.Context, ex steps.Exec) (steps.Proposal, error) {
	if s.panicIn == "plan" {
		var m map[string]int
		m["boom"]++ // a nil map write: a real bug, not a deliberate panic call
	}
	res, err := ex.Run(ctx, transport.Command{Argv: []string{"probe", s.id}})
	if err != nil {
		return steps.Proposal{}, err
	}
	if s.action == steps.Read {
		return steps.Proposal{Action: steps.Read, Summary: "read " + s.id, Outputs: s.outputs(string(res.Stdout))}, nil
	}
	if res.ExitCode == 0 {
		return steps.Proposal{Action: steps.NoOp, Summary: s.id + " is as desired", Outputs: s.outputs(string(res.Stdout))}, nil
	}
	if res.ExitCode > 1 {
		return steps.Proposal{}, &steps.Failure{Msg: "probe of " + s.id + " failed", Hint: "look at " + s.id}
	}
	p := steps.Proposal{Action: s.action, Summary: s.action.String() + " " + s.id, Commands: []string{"apply " + s.id}}
	if s.action != steps.Run {
		p.Changes = []steps.Change{{Field: "state", Current: "absent", Desired: "present"}}
	}
	if ahead := ex.Ahead("thing/" + s.id); ahead {
		p.Summary += " (once created)"
	}
	return p, nil
}

func (s *fakeStep) Apply(ctx context.Context, ex steps.Exec, p steps.Proposal) (steps.Outcome, error) {
	if s.panicIn == "apply" {
		panic("apply exploded")
	}
	res, err := ex.Run(ctx, transport.Command{Argv: []string{"apply", s.id}})
	if err != nil {
		return steps.Outcome{}, err
	}
	if res.ExitCode != 0 {
		return steps.Outcome{Changed: true}, fmt.Errorf("apply %s: exit %d", s.id, res.ExitCode)
	}
	if s.action == steps.Run {
		ex.NoteFor(2, "ran %s", s.id) // evidence for the step's second checklist line
	}
	return steps.Outcome{Changed: true, Summary: "applied " + s.id, Outputs: s.outputs(string(res.Stdout))}, nil
}

func (s *fakeStep) Cancel(ctx context.Context, ex steps.Exec) error {
	_, err := ex.Run(ctx, transport.Command{Argv: []string{"cancel", s.id}})
	return err
}

// ---------------------------------------------------------------- helpers

const header = `runbook "walk" {
  hosts = "all"
}
`

func newEngine(t *testing.T, body string) *engine.Engine {
	t.Helper()
	return newEngineValidated(t, body, true)
}

func newEngineValidated(t *testing.T, body string, validate bool) *engine.Engine {
	t.Helper()
	cfg, diags := config.Parse([]byte(header+body), "walk.hcl", steps.Registry{"fake": fakeKind{}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	vars, diags := cfg.ResolveVariables(nil, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if diags := engine.Validate(cfg, vars); validate && diags.HasErrors() {
		t.Fatal(diags.Error())
	} else if !validate && !strings.Contains(diags.Error(), "internal error in step kind fake (please report)") {
		t.Fatalf("validate of a panicking kind: %v", diags)
	}
	eng, diags := engine.New(cfg, vars, engine.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return eng
}

func targets(hosts map[string]*script) []engine.Target {
	var out []engine.Target
	for _, name := range []string{"h1", "h2", "h3"} {
		s, ok := hosts[name]
		if !ok {
			continue
		}
		out = append(out, engine.Target{Host: eval.Host{Name: name}, Describe: "script",
			Connect: func(context.Context) (transport.Transport, error) { return s, nil }})
	}
	return out
}

func one(s *script) []engine.Target { return targets(map[string]*script{"h1": s}) }

func stepOf(t *testing.T, run *report.Run, host, name string) *report.Step {
	t.Helper()
	for _, h := range run.Hosts {
		if h.Name != host {
			continue
		}
		for _, s := range h.Steps {
			if s.Name == name {
				return s
			}
		}
	}
	t.Fatalf("no step %s on %s", name, host)
	return nil
}

func apply(t *testing.T, eng *engine.Engine, tg []engine.Target, opts engine.ApplyOptions) *report.Run {
	t.Helper()
	run, err := eng.Apply(context.Background(), tg, opts)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return run
}

// ---------------------------------------------------------------- retries

func TestRetriesUntilDelay(t *testing.T) {
	cases := []struct {
		name       string
		attrs      string
		applies    []answer
		wantStatus string
		wantApply  int
		wantErr    string
	}{
		{name: "no retries, fails once", attrs: ``,
			applies: []answer{{exit: 1}}, wantStatus: report.StatusFailed, wantApply: 1, wantErr: "apply x: exit 1"},
		{name: "retries until it works", attrs: `retries = 3
  delay = "1ms"`,
			applies: []answer{{exit: 1}, {exit: 1}, {exit: 0, out: "done"}}, wantStatus: report.StatusChanged, wantApply: 3},
		{name: "retries run out", attrs: `retries = 2
  delay = "1ms"`,
			applies: []answer{{exit: 1}}, wantStatus: report.StatusFailed, wantApply: 3, wantErr: "apply x: exit 1"},
		{name: "until reads self", attrs: `retries = 5
  delay = "1ms"
  until = self.value == "ready"`,
			applies: []answer{{out: "wait"}, {out: "wait"}, {out: "ready"}}, wantStatus: report.StatusChanged, wantApply: 3},
		{name: "until never holds", attrs: `retries = 1
  delay = "1ms"
  until = self.value == "ready"`,
			applies: []answer{{out: "wait"}}, wantStatus: report.StatusFailed, wantApply: 2, wantErr: "until condition still false after 2 attempt(s)"},
		{name: "timeout covers the retries", attrs: `retries = 1000
  delay = "20ms"
  timeout = "150ms"`,
			applies: []answer{{exit: 1}}, wantStatus: report.StatusFailed, wantErr: "step timed out after 150ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eng := newEngine(t, fmt.Sprintf(`
step "fake" "x" {
  id = "x"
  %s
}
`, c.attrs))
			s := newScript().on("probe x", answer{exit: 1}).on("apply x", c.applies...)
			start := time.Now()
			run := apply(t, eng, one(s), engine.ApplyOptions{})
			st := stepOf(t, run, "h1", "x")
			if st.Status != c.wantStatus {
				t.Fatalf("status %s (%s), want %s", st.Status, st.Error, c.wantStatus)
			}
			if c.wantApply > 0 {
				if got := s.count("apply x"); got != c.wantApply {
					t.Errorf("apply ran %d times, want %d", got, c.wantApply)
				}
				// Each attempt proposes afresh: one probe per attempt.
				if got := s.count("probe x"); got != c.wantApply {
					t.Errorf("probe ran %d times, want %d", got, c.wantApply)
				}
			}
			if !strings.Contains(st.Error, c.wantErr) {
				t.Errorf("error %q, want it to contain %q", st.Error, c.wantErr)
			}
			if c.wantStatus == report.StatusFailed && run.Result != engine.ResultFailed {
				t.Errorf("run result %s", run.Result)
			}
			if c.name == "timeout covers the retries" {
				if n := s.count("apply x"); n < 2 || n > 20 {
					t.Errorf("%d attempts in a 150ms timeout with 20ms delay", n)
				}
				if time.Since(start) > 5*time.Second {
					t.Errorf("the timeout did not end the retries")
				}
			}
			// Every attempt is evidence.
			if got := len(st.Commands); got != len(s.ran) {
				t.Errorf("%d commands recorded, %d ran", got, len(s.ran))
			}
		})
	}
}

// ---------------------------------------------------------------- keep going

func TestKeepGoing(t *testing.T) {
	const body = `
step "fake" "a" {
  id = "a"
}
step "fake" "b" {
  id         = "b"
  depends_on = [step.a]
}
step "fake" "c" {
  id = "c"
}
step "fake" "d" {
  id    = "d"
  value = step.b.value
}
`
	for _, keepGoing := range []bool{false, true} {
		t.Run(fmt.Sprint("keep-going=", keepGoing), func(t *testing.T) {
			eng := newEngine(t, body)
			s := newScript().on("probe a", answer{exit: 1}).on("apply a", answer{exit: 7}).
				on("probe b", answer{exit: 1}).on("probe c", answer{exit: 1}).on("probe d", answer{exit: 1})
			run := apply(t, eng, one(s), engine.ApplyOptions{KeepGoing: keepGoing})
			if a := stepOf(t, run, "h1", "a"); a.Status != report.StatusFailed {
				t.Fatalf("a: %s", a.Status)
			}
			b := stepOf(t, run, "h1", "b")
			c := stepOf(t, run, "h1", "c")
			d := stepOf(t, run, "h1", "d")
			if b.Status != report.StatusNotRun || d.Status != report.StatusNotRun {
				t.Errorf("dependants ran: b %s, d %s", b.Status, d.Status)
			}
			if s.count("probe b") != 0 || s.count("probe d") != 0 {
				t.Errorf("a dependant of a failed step was probed: %v", s.ran)
			}
			if keepGoing {
				if c.Status != report.StatusChanged {
					t.Errorf("independent c: %s (%s)", c.Status, c.Summary)
				}
				if want := `not run: it depends on step "a", which failed`; b.Summary != want {
					t.Errorf("b: %q, want %q", b.Summary, want)
				}
				// The cause is carried down the chain.
				if !strings.Contains(d.Summary, `depends on step "b", which not run: it depends on step "a"`) {
					t.Errorf("d: %q", d.Summary)
				}
			} else {
				if c.Status != report.StatusNotRun || s.count("probe c") != 0 {
					t.Errorf("c ran without --keep-going: %s", c.Status)
				}
				if want := `not run: step "a" failed before it`; c.Summary != want {
					t.Errorf("c: %q, want %q", c.Summary, want)
				}
			}
			if run.Result != engine.ResultFailed {
				t.Errorf("result %s", run.Result)
			}
		})
	}
}

// ---------------------------------------------------------------- plan

func TestPlanUnknownValues(t *testing.T) {
	eng := newEngine(t, `
step "fake" "a" {
  id = "a"
}
step "fake" "b" {
  id    = "b"
  value = step.a.value
}
step "fake" "c" {
  id         = "c"
  depends_on = [step.b]
}
step "fake" "r" {
  id     = "r"
  action = "read"
}
step "fake" "uses_read" {
  id    = "u"
  value = step.r.value
}
`)
	s := newScript().on("probe a", answer{exit: 1}).on("probe r", answer{out: "hello"}).on("probe u", answer{exit: 0, out: "same"})
	run := eng.Plan(context.Background(), one(s), engine.PlanOptions{})
	if a := stepOf(t, run, "h1", "a"); a.Status != report.StatusPlanned || a.Action != "create" {
		t.Fatalf("a: %s %s", a.Status, a.Action)
	}
	b := stepOf(t, run, "h1", "b")
	if b.Status != report.StatusUnknown || b.Summary != "known after apply: runs after step.a" {
		t.Errorf("b: %s %q", b.Status, b.Summary)
	}
	c := stepOf(t, run, "h1", "c")
	if c.Status != report.StatusUnknown || c.Summary != "known after apply: runs after step.b" {
		t.Errorf("c: %s %q", c.Status, c.Summary)
	}
	if s.count("probe b") != 0 || s.count("probe c") != 0 {
		t.Errorf("steps known only after apply were probed: %v", s.ran)
	}
	// A read step's result is known in a plan: later steps plan on it.
	u := stepOf(t, run, "h1", "uses_read")
	if u.Status != report.StatusUnchanged {
		t.Errorf("uses_read: %s %q", u.Status, u.Summary)
	}
	if s.count("apply a") != 0 {
		t.Fatal("a plan applied something")
	}
	counts := run.PlanCounts()
	if counts.Create != 1 || counts.Unknown != 2 || counts.Unchanged != 1 || !counts.Pending() {
		t.Errorf("counts %+v", counts)
	}
	if run.Result != engine.ResultPlanned {
		t.Errorf("result %s", run.Result)
	}
}

// A step that reads what an earlier step will change is known only after
// apply, also without any reference or depends_on between them; a kind
// that plans ahead is told the earlier step will make the object.
func TestPlanReadsWhatAnEarlierStepChanges(t *testing.T) {
	eng := newEngine(t, `
step "fake" "make" {
  id     = "q"
  writes = ["thing/q"]
}
step "fake" "look" {
  id     = "look"
  action = "read"
  reads  = ["thing/q"]
}
step "fake" "other" {
  id     = "other"
  action = "read"
  reads  = ["thing/z"]
}
`)
	s := newScript().on("probe q", answer{exit: 1})
	run := eng.Plan(context.Background(), one(s), engine.PlanOptions{})
	look := stepOf(t, run, "h1", "look")
	if look.Status != report.StatusUnknown || look.Summary != "known after apply: reads thing/q, which step.make changes" {
		t.Errorf("look: %s %q", look.Status, look.Summary)
	}
	if s.count("probe look") != 0 {
		t.Error("look was probed against the old state")
	}
	if other := stepOf(t, run, "h1", "other"); other.Status != report.StatusOK {
		t.Errorf("other: %s %q", other.Status, other.Summary)
	}
	// Nothing pending: the same step reads live state.
	s2 := newScript().on("probe q", answer{exit: 0})
	run = eng.Plan(context.Background(), one(s2), engine.PlanOptions{})
	if look := stepOf(t, run, "h1", "look"); look.Status != report.StatusOK {
		t.Errorf("look with nothing pending: %s %q", look.Status, look.Summary)
	}
}

func TestPlanAheadOnlyWhenAnEarlierStepWrites(t *testing.T) {
	eng := newEngine(t, `
step "fake" "make" {
  id     = "a"
  writes = ["thing/b"]
}
step "fake" "b" {
  id = "b"
}
step "fake" "c" {
  id = "c"
}
`)
	s := newScript().on("probe a", answer{exit: 1}).on("probe b", answer{exit: 1}).on("probe c", answer{exit: 1})
	run := eng.Plan(context.Background(), one(s), engine.PlanOptions{})
	if b := stepOf(t, run, "h1", "b"); b.Summary != "create b (once created)" {
		t.Errorf("b: %q", b.Summary)
	}
	if c := stepOf(t, run, "h1", "c"); c.Summary != "create c" {
		t.Errorf("c: %q", c.Summary)
	}
	// In apply nothing is ahead: the state is what it is.
	run = apply(t, eng, one(newScript().on("probe b", answer{exit: 1})), engine.ApplyOptions{})
	if b := stepOf(t, run, "h1", "b"); strings.Contains(b.Summary, "once created") {
		t.Errorf("apply b: %q", b.Summary)
	}
}

func TestPlanWhenFalseIsSkippedNotUnknown(t *testing.T) {
	eng := newEngine(t, `
step "fake" "a" {
  id = "a"
}
step "fake" "b" {
  id         = "b"
  when       = false
  depends_on = [step.a]
}
step "fake" "c" {
  id   = "c"
  when = step.a.value == "x"
}
`)
	run := eng.Plan(context.Background(), one(newScript().on("probe a", answer{exit: 1})), engine.PlanOptions{})
	if b := stepOf(t, run, "h1", "b"); b.Status != report.StatusSkipped {
		t.Errorf("b: %s %q", b.Status, b.Summary)
	}
	if c := stepOf(t, run, "h1", "c"); c.Status != report.StatusUnknown {
		t.Errorf("c: %s %q", c.Status, c.Summary)
	}
}

// ---------------------------------------------------------------- saved plans

func TestSavedPlanRefusedWhenTheStateMoved(t *testing.T) {
	eng := newEngine(t, `
step "fake" "a" {
  id = "a"
}
step "fake" "b" {
  id = "b"
}
`)
	s := newScript().on("probe a", answer{exit: 1, out: "absent"}).on("probe b", answer{exit: 0, out: "v1"})
	planned := eng.Plan(context.Background(), one(s), engine.PlanOptions{})
	saved := &planfile.File{Hosts: planfile.HostsOf(planned)}

	// Someone changed b between plan and apply.
	s2 := newScript().on("probe a", answer{exit: 1, out: "absent"}).on("probe b", answer{exit: 0, out: "v2"})
	run, err := eng.Apply(context.Background(), one(s2), engine.ApplyOptions{Saved: saved})
	var stale *engine.StalePlanError
	if !errors.As(err, &stale) {
		t.Fatalf("apply of a stale plan: %v", err)
	}
	if len(stale.Drifts) != 1 || stale.Drifts[0].Step != "b" || !strings.Contains(stale.Drifts[0].What, "probe `probe b` changed") {
		t.Fatalf("drifts: %+v", stale.Drifts)
	}
	if s2.count("apply a") != 0 {
		t.Fatal("a stale plan applied something")
	}
	if run.Mode != "plan" || run.Result != engine.ResultFailed {
		t.Errorf("record of the refusal: mode %s result %s", run.Mode, run.Result)
	}

	// Unchanged state: the saved actions are applied.
	s3 := newScript().on("probe a", answer{exit: 1, out: "absent"}).on("probe b", answer{exit: 0, out: "v1"})
	run, err = eng.Apply(context.Background(), one(s3), engine.ApplyOptions{Saved: saved})
	if err != nil {
		t.Fatal(err)
	}
	if a := stepOf(t, run, "h1", "a"); a.Status != report.StatusChanged || s3.count("apply a") != 1 {
		t.Errorf("a: %s", a.Status)
	}
}

// Between the check and the step itself the state may still move: the
// step's fresh proposal is held to the saved one.
func TestSavedPlanHoldsEachStepToItsAction(t *testing.T) {
	eng := newEngine(t, `
step "fake" "a" {
  id = "a"
}
`)
	saved := &planfile.File{Hosts: []planfile.Host{{Name: "h1", Steps: []planfile.Step{
		{Name: "a", Status: report.StatusPlanned, Action: "modify",
			Probes: []planfile.Probe{{Command: "probe a", ExitCode: 1, SHA256: planfile.ProbeHash(report.CommandRecord{Command: "probe a", ExitCode: 1})}}},
	}}}}
	s := newScript().on("probe a", answer{exit: 1})
	_, err := eng.Apply(context.Background(), one(s), engine.ApplyOptions{Saved: saved})
	var stale *engine.StalePlanError
	if !errors.As(err, &stale) || !strings.Contains(stale.Drifts[0].What, "action changed") {
		t.Fatalf("want the changed action named: %v %+v", err, stale)
	}
}

// ---------------------------------------------------------------- resume

func TestResume(t *testing.T) {
	// From a file: a run binds its runbook file's digest, and a resume
	// needs it (resume_inputs_test.go).
	eng := engineFromFile(t, writeResumeRunbook(t, header+`
step "fake" "job" {
  id     = "job"
  action = "run"
}
step "fake" "after" {
  id    = "after"
  value = step.job.value
}
`))
	// The first apply: the job ran, the step after it failed.
	s := newScript().on("probe job", answer{exit: 1}).on("apply job", answer{out: "4242"}).
		on("probe after", answer{exit: 1}).on("apply after", answer{exit: 3})
	first := apply(t, eng, one(s), engine.ApplyOptions{})
	first.ID = "run-1"
	if first.Result != engine.ResultFailed {
		t.Fatalf("first run: %s", first.Result)
	}

	s2 := newScript().on("probe job", answer{exit: 1}).on("probe after", answer{exit: 1}).on("apply after", answer{exit: 0})
	run := apply(t, eng, one(s2), engine.ApplyOptions{Resume: first})
	job := stepOf(t, run, "h1", "job")
	if s2.count("apply job") != 0 {
		t.Fatal("the completed job ran again")
	}
	if job.ResumedFrom != "run-1" || job.Status != report.StatusChanged || !strings.HasPrefix(job.Summary, "resumed: ") {
		t.Errorf("job: %+v", job)
	}
	if len(job.Notes) != 2 || job.Notes[0] != "evidence from run run-1 (resumed)" || job.Notes[1] != "ran job" {
		t.Errorf("carried-over evidence is not labelled: %q", job.Notes)
	}
	// The carried note keeps the checklist line it proves, lined up.
	if fmt.Sprint(job.NoteProves) != "[0 2]" {
		t.Errorf("note labels %v for notes %q", job.NoteProves, job.Notes)
	}
	if firstJob := stepOf(t, first, "h1", "job"); fmt.Sprint(firstJob.NoteProves) != "[2]" {
		t.Errorf("first run's note labels: %v", firstJob.NoteProves)
	}
	// Its earlier evidence comes first, then this run's probe.
	if len(job.Commands) != 3 || job.Commands[1].Command != "apply job" || job.Commands[2].Command != "probe job" {
		t.Errorf("commands: %+v", job.Commands)
	}
	// Its results reach the step after it; that step is re-checked and run.
	after := stepOf(t, run, "h1", "after")
	if after.Status != report.StatusChanged || s2.count("probe after") != 1 {
		t.Errorf("after: %s", after.Status)
	}
	if run.Result != engine.ResultSuccess {
		t.Errorf("result %s", run.Result)
	}

	// Only an apply of this runbook can be resumed.
	other := *first
	other.Runbook = "another"
	if _, err := eng.Apply(context.Background(), one(newScript()), engine.ApplyOptions{Resume: &other}); !errors.Is(err, engine.ErrInvalidResume) {
		t.Errorf("resume of another runbook: %v", err)
	}
	plan := *first
	plan.Mode = "plan"
	if _, err := eng.Apply(context.Background(), one(newScript()), engine.ApplyOptions{Resume: &plan}); !errors.Is(err, engine.ErrInvalidResume) {
		t.Errorf("resume of a plan: %v", err)
	}
}

// ---------------------------------------------------------------- panics

func TestPanickingKindFailsItsStepNotTheProcess(t *testing.T) {
	for _, where := range []string{"decode", "plan", "apply"} {
		t.Run(where, func(t *testing.T) {
			eng := newEngineValidated(t, fmt.Sprintf(`
step "fake" "bad" {
  id       = "bad"
  action   = "run"
  panic_in = %q
}
step "fake" "next" {
  id = "next"
}
`, where), where != "decode")
			hosts := map[string]*script{"h1": newScript().on("probe bad", answer{exit: 1}), "h2": newScript().on("probe bad", answer{exit: 1})}
			run := apply(t, eng, targets(hosts), engine.ApplyOptions{Forks: 2})
			for _, h := range []string{"h1", "h2"} {
				bad := stepOf(t, run, h, "bad")
				if bad.Status != report.StatusFailed || !strings.HasPrefix(bad.Error, "internal error in step kind fake (please report): ") {
					t.Errorf("%s: %s %q", h, bad.Status, bad.Error)
				}
				if next := stepOf(t, run, h, "next"); next.Status != report.StatusNotRun {
					t.Errorf("%s next: %s", h, next.Status)
				}
			}
			if run.Result != engine.ResultFailed {
				t.Errorf("result %s", run.Result)
			}
			// A kind that panicked after Apply began still gets its cleanup.
			if where == "apply" && hosts["h1"].count("cancel bad") != 1 {
				t.Errorf("no cleanup after a panic in apply: %v", hosts["h1"].ran)
			}
		})
	}
}

// ---------------------------------------------------------------- cancellation

func TestCancelMidStep(t *testing.T) {
	eng := newEngine(t, `
step "fake" "long" {
  id     = "long"
  action = "run"
}
step "fake" "later" {
  id = "later"
}
`)
	s := newScript().on("probe long", answer{exit: 1})
	s.hold["apply long"] = true
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-s.held
		cancel()
	}()
	var events []engine.EventKind
	var mu sync.Mutex
	run, err := eng.Apply(ctx, one(s), engine.ApplyOptions{OnEvent: func(ev engine.Event) {
		mu.Lock()
		events = append(events, ev.Kind)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	long := stepOf(t, run, "h1", "long")
	if long.Status != report.StatusInterrupted || !strings.HasPrefix(long.Error, "interrupted: ") {
		t.Errorf("long: %s %q", long.Status, long.Error)
	}
	if s.count("cancel long") != 1 {
		t.Errorf("the interrupted step was not cleaned up: %v", s.ran)
	}
	later := stepOf(t, run, "h1", "later")
	if later.Status != report.StatusNotRun || later.Summary != "the run was interrupted before this step" {
		t.Errorf("later: %s %q", later.Status, later.Summary)
	}
	if run.Result != engine.ResultInterrupted {
		t.Errorf("result %s", run.Result)
	}
	if len(events) != 2 || events[0] != engine.EventStepStarted || events[1] != engine.EventStepFinished {
		t.Errorf("events %v", events)
	}
}

// ---------------------------------------------------------------- hosts

func TestUnreachableHostIsRecordedOthersRun(t *testing.T) {
	eng := newEngine(t, `
step "fake" "a" {
  id = "a"
}
`)
	good := newScript().on("probe a", answer{exit: 0})
	tg := []engine.Target{
		{Host: eval.Host{Name: "down"}, Connect: func(context.Context) (transport.Transport, error) {
			return nil, &steps.Failure{Msg: "dial tcp: connection refused", Hint: "is sshd running?"}
		}},
		one(good)[0],
	}
	var hostErrors []string
	var mu sync.Mutex
	run := eng.Plan(context.Background(), tg, engine.PlanOptions{Forks: 2, OnEvent: func(ev engine.Event) {
		if ev.Kind == engine.EventHostError {
			mu.Lock()
			hostErrors = append(hostErrors, ev.Host)
			mu.Unlock()
		}
	}})
	down := run.Hosts[0]
	if down.Error == "" || down.Hint != "is sshd running?" || down.Steps[0].Summary != "host could not be reached" {
		t.Errorf("down: %+v", down)
	}
	if st := stepOf(t, run, "h1", "a"); st.Status != report.StatusUnchanged {
		t.Errorf("h1 a: %s", st.Status)
	}
	if len(hostErrors) != 1 || hostErrors[0] != "down" {
		t.Errorf("host_error events: %v", hostErrors)
	}
	if run.Result != engine.ResultFailed {
		t.Errorf("result %s", run.Result)
	}
}

func TestStepFailureCarriesHintAndEvidence(t *testing.T) {
	eng := newEngine(t, `
step "fake" "a" {
  id = "a"
}
`)
	run := eng.Plan(context.Background(), one(newScript().on("probe a", answer{exit: 2, out: "broken"})), engine.PlanOptions{})
	a := stepOf(t, run, "h1", "a")
	if a.Status != report.StatusFailed || a.Error != "probe of a failed" || a.Hint != "look at a" {
		t.Errorf("a: %+v", a)
	}
	if len(a.Commands) != 1 || a.Commands[0].Stdout != "broken" {
		t.Errorf("evidence: %+v", a.Commands)
	}
}

func TestRedactedRecord(t *testing.T) {
	cfg, diags := config.Parse([]byte(header+`
variable "pw" {
  type      = string
  sensitive = true
  default   = "hunter22"
}
step "fake" "a" {
  id = "a-${var.pw}"
}
`), "walk.hcl", steps.Registry{"fake": fakeKind{}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	vars, _ := cfg.ResolveVariables(nil, nil)
	eng, _ := engine.New(cfg, vars, engine.Options{Redactor: evidenceRedactor("hunter22")})
	run := eng.Plan(context.Background(), one(newScript().on("probe a-hunter22", answer{exit: 1, out: "hunter22 here"})), engine.PlanOptions{})
	a := stepOf(t, run, "h1", "a")
	for _, s := range append([]string{a.Summary, a.Commands[0].Command, a.Commands[0].Stdout, run.Variables["pw"]}, a.Planned...) {
		if strings.Contains(s, "hunter22") {
			t.Errorf("secret in %q", s)
		}
	}
}

// ---------------------------------------------------------------- lock

// localLockPath is where this user's apply on this machine locks runbook;
// removed when the test ends.
func localLockPath(t *testing.T, runbook string) string {
	t.Helper()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	path := engine.LockPath(runbook, host, me)
	os.Remove(path)
	t.Cleanup(func() { os.Remove(path) })
	return path
}

func TestRunLock(t *testing.T) {
	eng := newEngine(t, `
step "fake" "a" {
  id = "a"
}
`)
	path := localLockPath(t, "walk")
	local := transport.NewLocal(transport.LocalConfig{})
	withLock := func() *script { s := newScript().on("probe a", answer{exit: 0}); s.local = local; return s }

	// A lock left by another apply refuses the host, naming the holder.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("owner=someone run=old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := withLock()
	run := apply(t, eng, one(s), engine.ApplyOptions{Lock: true, Run: eng.NewRun(engine.ModeApply)})
	h := run.Hosts[0]
	if !strings.Contains(h.Error, "owner=someone run=old") || !strings.Contains(h.Hint, "--force-unlock") || s.count("probe a") != 0 {
		t.Fatalf("locked host: %+v, ran %v", h, s.ran)
	}
	if h.Steps[0].Summary != "the host is locked by another apply" {
		t.Errorf("step: %q", h.Steps[0].Summary)
	}
	// --force-unlock takes it over; the lock is gone after the apply.
	s = withLock()
	run = apply(t, eng, one(s), engine.ApplyOptions{Lock: true, ForceUnlock: true})
	if run.Result != engine.ResultSuccess || s.count("probe a") != 1 {
		t.Fatalf("forced: %s %+v", run.Result, run.Hosts[0])
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("lock left behind: %v", err)
	}
	// Two inventory names of one machine: the second meets this apply's own lock.
	a, b := withLock(), withLock()
	a.hold["probe a"], b.hold["probe a"] = true, true
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-a.held:
		case <-b.held:
		}
		time.Sleep(300 * time.Millisecond)
		cancel()
	}()
	run, _ = eng.Apply(ctx, targets(map[string]*script{"h1": a, "h2": b}), engine.ApplyOptions{Lock: true, Forks: 2})
	hints := run.Hosts[0].Hint + run.Hosts[1].Hint
	if !strings.Contains(hints, "another host of this same apply is this machine") {
		t.Errorf("hints: %q", hints)
	}
}

func TestEvaluationErrorAtRunTime(t *testing.T) {
	eng := newEngine(t, `
step "fake" "r" {
  id     = "r"
  action = "read"
}
step "fake" "n" {
  id    = "n"
  value = tonumber(step.r.value)
}
`)
	run := eng.Plan(context.Background(), one(newScript().on("probe r", answer{out: "abc"})), engine.PlanOptions{})
	n := stepOf(t, run, "h1", "n")
	if n.Status != report.StatusFailed || !strings.Contains(n.Error, "walk.hcl:") {
		t.Errorf("n: %s %q", n.Status, n.Error)
	}
}

func TestLoadRun(t *testing.T) {
	eng := newEngine(t, `
step "fake" "a" {
  id = "a"
}
`)
	root := t.TempDir()
	run := apply(t, eng, one(newScript().on("probe a", answer{exit: 0})), engine.ApplyOptions{})
	dir := report.RunDir(root, run.Started, run.Runbook)
	run.ID = filepath.Base(dir)
	if err := report.Prepare(dir); err != nil {
		t.Fatal(err)
	}
	if err := report.Write(dir, run); err != nil {
		t.Fatal(err)
	}
	got, err := engine.LoadRun(root, run.ID)
	if err != nil || got.ID != run.ID || got.Hosts[0].Steps[0].Status != report.StatusUnchanged {
		t.Fatalf("LoadRun: %v %+v", err, got)
	}
	// A record from a newer schema is refused (report.Load's check).
	b, _ := os.ReadFile(filepath.Join(dir, report.FileJSON))
	b = []byte(strings.Replace(string(b), `"schema_version": 1`, `"schema_version": 99`, 1))
	if err := os.WriteFile(filepath.Join(dir, report.FileJSON), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.LoadRun(root, run.ID); err == nil || !strings.Contains(err.Error(), "schema_version 99") {
		t.Errorf("newer schema: %v", err)
	}
	if _, err := engine.LoadRun(root, "nope"); err == nil {
		t.Error("a missing run loaded")
	}
}

// ---------------------------------------------------------------- blank checklist

func TestBlankChecklistNamesProofCommands(t *testing.T) {
	eng := newEngine(t, `
step "fake" "a" {
  title     = "Make a"
  checklist = ["a exists", "a is right"]
  id        = "a"
}
step "fake" "b" {
  checklist = "b follows a"
  id        = "b"
  value     = step.a.value
}
step "fake" "quiet" {
  id = "q"
}
step "fake" "boom" {
  checklist = "never planned offline"
  id        = "boom"
  panic_in  = "plan"
}
`)
	items, diags := eng.Blank()
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var got []string
	for _, it := range items {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s", it.Step, it.Text, it.Proof, strings.Join(it.Commands, ";")))
	}
	want := []string{
		// The probe the step runs offline and the command it would then run.
		"a|a exists|Make a|probe a;apply a",
		"a|a is right|Make a|probe a;apply a",
		// Attributes known only after a: no commands can be named.
		"b|b follows a|fake b|",
		// A kind that panics offline still leaves the checklist printable.
		"boom|never planned offline|fake boom|",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("blank checklist:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
