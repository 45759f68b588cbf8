package engine_test

// Saved plans: apply runs exactly the hosts, steps and commands the plan
// showed (issue 15, findings 1 and 4). The scripted transport and the
// "fake" kind are walk_test.go's.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/planfile"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

// sayKind's command is made from what its probe reads: `read ID` prints
// the word, and the step proposes to run `say WORD`.
type sayKind struct{}

func (sayKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{"id": &hcldec.AttrSpec{Name: "id", Type: cty.String, Required: true}}
}
func (sayKind) ReadOnly() bool { return false }
func (sayKind) Decode(v cty.Value) (steps.Step, error) {
	return &sayStep{id: v.GetAttr("id").AsString()}, nil
}

type sayStep struct{ id string }

func (s *sayStep) Plan(ctx context.Context, ex steps.Exec) (steps.Proposal, error) {
	res, err := ex.Run(ctx, transport.Command{Argv: []string{"read", s.id}})
	if err != nil {
		return steps.Proposal{}, err
	}
	word := strings.TrimSpace(string(res.Stdout))
	return steps.Proposal{Action: steps.Run, Summary: "say " + word, Commands: []string{"say " + word}, Private: word}, nil
}

func (s *sayStep) Apply(ctx context.Context, ex steps.Exec, p steps.Proposal) (steps.Outcome, error) {
	_, err := ex.Run(ctx, transport.Command{Argv: []string{"say", p.Private.(string)}})
	return steps.Outcome{Changed: true}, err
}

// savedEngine is newEngine with the built-in kinds, sayKind and a redactor.
func savedEngine(t *testing.T, body string, secrets ...string) *engine.Engine {
	t.Helper()
	reg := steps.Registry{"fake": fakeKind{}, "say": sayKind{}}
	for name, k := range steps.Builtin() {
		reg[name] = k
	}
	cfg, diags := config.Parse([]byte(header+body), "walk.hcl", reg)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	vars, diags := cfg.ResolveVariables(nil, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if diags := engine.Validate(cfg, vars); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	eng, diags := engine.New(cfg, vars, engine.Options{Redactor: evidence.NewRedactor(secrets...)})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return eng
}

const twoSteps = `
step "fake" "a" {
  id = "a"
}
step "fake" "b" {
  id = "b"
}
`

func absentAB() *script {
	return newScript().on("probe a", answer{exit: 1}).on("probe b", answer{exit: 1})
}

func staleOf(t *testing.T, err error) *engine.StalePlanError {
	t.Helper()
	var stale *engine.StalePlanError
	if !errors.As(err, &stale) {
		t.Fatalf("want a refused saved plan, got %v", err)
	}
	return stale
}

// `plan --limit h1 --out p.plan`, then `apply p.plan`: the plan's hosts
// are its target set. An apply that would also reach h2 is refused before
// any host is contacted; on h1 alone it applies.
func TestSavedPlanRunsOnlyOnItsHosts(t *testing.T) {
	eng := newEngine(t, twoSteps)
	planned := eng.Plan(context.Background(), one(absentAB()), engine.PlanOptions{})
	saved := &planfile.File{Limit: []string{"h1"}, Hosts: planfile.HostsOf(planned)}

	h1, h2 := absentAB(), absentAB()
	run, err := eng.Apply(context.Background(), targets(map[string]*script{"h1": h1, "h2": h2}), engine.ApplyOptions{Saved: saved})
	stale := staleOf(t, err)
	if !stale.Outside() || len(stale.Drifts) != 1 || stale.Drifts[0].Host != "h2" ||
		!strings.Contains(stale.Drifts[0].String(), "host h2: host is not in the saved plan, which was made for h1 (--limit h1)") {
		t.Fatalf("drifts: %+v", stale.Drifts)
	}
	if !strings.Contains(stale.Error(), "does not cover this apply") {
		t.Errorf("error: %v", stale)
	}
	if len(h1.ran) != 0 || len(h2.ran) != 0 {
		t.Fatalf("a refused apply contacted the hosts: h1 %q, h2 %q", h1.ran, h2.ran)
	}
	if run.Mode != "plan" || run.Result != engine.ResultFailed {
		t.Errorf("record of the refusal: mode %s result %s", run.Mode, run.Result)
	}

	h1 = absentAB()
	run, err = eng.Apply(context.Background(), one(h1), engine.ApplyOptions{Saved: saved})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Hosts) != 1 || h1.count("apply a") != 1 || h1.count("apply b") != 1 {
		t.Errorf("apply on h1: %d hosts, ran %q", len(run.Hosts), h1.ran)
	}
}

// A host of the saved plan that is not targeted now is an error too:
// the plan is applied whole or not at all.
func TestSavedPlanHostMissingNow(t *testing.T) {
	eng := newEngine(t, twoSteps)
	planned := eng.Plan(context.Background(), targets(map[string]*script{"h1": absentAB(), "h2": absentAB()}), engine.PlanOptions{})
	saved := &planfile.File{Hosts: planfile.HostsOf(planned)}

	h1 := absentAB()
	_, err := eng.Apply(context.Background(), one(h1), engine.ApplyOptions{Saved: saved})
	stale := staleOf(t, err)
	if len(stale.Drifts) != 1 || stale.Drifts[0].Host != "h2" || !strings.Contains(stale.Drifts[0].What, "not targeted now") {
		t.Fatalf("drifts: %+v", stale.Drifts)
	}
	if len(h1.ran) != 0 {
		t.Fatalf("ran %q", h1.ran)
	}
}

// A step the saved plan does not show for a host is refused, with its
// name, and nothing runs.
func TestSavedPlanRefusesStepsItDidNotShow(t *testing.T) {
	eng := newEngine(t, twoSteps)
	planned := eng.Plan(context.Background(), one(absentAB()), engine.PlanOptions{})
	saved := &planfile.File{Hosts: planfile.HostsOf(planned)}
	saved.Hosts[0].Steps = saved.Hosts[0].Steps[:1] // only a

	s := absentAB()
	_, err := eng.Apply(context.Background(), one(s), engine.ApplyOptions{Saved: saved})
	stale := staleOf(t, err)
	if len(stale.Drifts) != 1 || stale.Drifts[0].Step != "b" || !stale.Drifts[0].Outside ||
		!strings.Contains(stale.Drifts[0].String(), "host h1, step b: step is not in the saved plan") {
		t.Fatalf("drifts: %+v", stale.Drifts)
	}
	if s.count("apply a") != 0 || s.count("apply b") != 0 {
		t.Fatalf("ran %q", s.ran)
	}
}

// The commands a step will run can change while nothing the plan probed
// did: here a local file the command is made from (file() reads the
// controller's disk; the runbook itself is unchanged). Apply refuses
// before running anything, naming the step and showing both commands,
// redacted.
func TestSavedPlanBoundToItsCommands(t *testing.T) {
	msg := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(msg, []byte("hello s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := `
step "command" "greet" {
  argv = ["echo", trimspace(file("` + msg + `"))]
}
`
	planned := savedEngine(t, body, "s3cret").Plan(context.Background(), one(newScript()), engine.PlanOptions{})
	saved := &planfile.File{Hosts: planfile.HostsOf(planned)}
	if got := saved.Hosts[0].Steps[0].Commands; len(got) != 1 || got[0] != "echo 'hello "+evidence.Redacted+"'" {
		t.Fatalf("saved commands: %q", got)
	}

	if err := os.WriteFile(msg, []byte("rm -rf s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newScript()
	_, err := savedEngine(t, body, "s3cret").Apply(context.Background(), one(s), engine.ApplyOptions{Saved: saved})
	stale := staleOf(t, err)
	if stale.Outside() || len(stale.Drifts) != 1 {
		t.Fatalf("drifts: %+v", stale.Drifts)
	}
	d := stale.Drifts[0].String()
	want := "host h1, step greet: commands differ from the ones the plan showed\n" +
		"      plan: $ echo 'hello " + evidence.Redacted + "'\n" +
		"      now:  $ echo 'rm -rf " + evidence.Redacted + "'"
	if d != want {
		t.Errorf("drift:\n%s\nwant:\n%s", d, want)
	}
	if len(s.ran) != 0 {
		t.Fatalf("ran %q", s.ran)
	}

	// Unchanged, the same saved plan applies.
	if err := os.WriteFile(msg, []byte("hello s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = newScript()
	run, err := savedEngine(t, body, "s3cret").Apply(context.Background(), one(s), engine.ApplyOptions{Saved: saved})
	if err != nil {
		t.Fatal(err)
	}
	if st := stepOf(t, run, "h1", "greet"); st.Status != report.StatusChanged || s.count("echo hello s3cret") != 1 {
		t.Errorf("greet: %s, ran %q", st.Status, s.ran)
	}
}

// Between the check and the step itself the commands may still change:
// each step's fresh proposal is held to the commands the plan showed, and
// the step fails without running them.
func TestSavedPlanHoldsEachStepToItsCommands(t *testing.T) {
	body := `
step "say" "x" {
  id = "x"
}
`
	planned := savedEngine(t, body).Plan(context.Background(), one(newScript().on("read x", answer{out: "hello"})), engine.PlanOptions{})
	saved := &planfile.File{Hosts: planfile.HostsOf(planned)}

	// The check's plan reads "hello", the step itself then "goodbye".
	s := newScript().on("read x", answer{out: "hello"}, answer{out: "goodbye"})
	run, err := savedEngine(t, body).Apply(context.Background(), one(s), engine.ApplyOptions{Saved: saved})
	if err != nil {
		t.Fatal(err)
	}
	st := stepOf(t, run, "h1", "x")
	if st.Status != report.StatusFailed || !strings.Contains(st.Error, "the commands differ from the ones the saved plan showed") ||
		!strings.Contains(st.Error, "plan: $ say hello") || !strings.Contains(st.Error, "now:  $ say goodbye") {
		t.Errorf("x: %s %q", st.Status, st.Error)
	}
	if s.count("say goodbye") != 0 || s.count("say hello") != 0 {
		t.Errorf("ran %q", s.ran)
	}
	if run.Result != engine.ResultFailed {
		t.Errorf("result %s", run.Result)
	}
}
