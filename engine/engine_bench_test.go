package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/inventory"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

// bigRunbook is n steps. With chain, step i reads step i-1's output, a
// reference chain n deep (the graph is a line, and evaluating step i needs
// step i-1's result). kind is "check" (runs in plan, so a chain is
// evaluated on real values) or "command" (plans without running).
func bigRunbook(n int, kind string, chain bool) []byte {
	var b strings.Builder
	b.WriteString(`runbook "big" {
  hosts = "all"
}

variable "word" {
  type    = string
  default = "x"
}

locals {
  greeting = "hello ${var.word}"
}
`)
	for i := 1; i <= n; i++ {
		arg := "local.greeting"
		if chain && i > 1 {
			if kind == "check" {
				arg = fmt.Sprintf("step.s%d.exit_code", i-1)
			} else {
				arg = fmt.Sprintf("step.s%d.status", i-1)
			}
		}
		fmt.Fprintf(&b, `
step %q "s%d" {
  title = "step %d of %d"
  checklist = {
    en = "step %d ran"
  }
  argv = ["echo", %s]
}
`, kind, i, i, n, i, arg)
	}
	return []byte(b.String())
}

func parseBig(tb testing.TB, src []byte) (*config.Config, map[string]cty.Value) {
	tb.Helper()
	cfg, diags := config.Parse(src, "big.hcl", steps.Builtin())
	if diags.HasErrors() {
		tb.Fatal(diags.Error())
	}
	vars, diags := cfg.ResolveVariables(nil, nil)
	if diags.HasErrors() {
		tb.Fatal(diags.Error())
	}
	return cfg, vars
}

// BenchmarkValidate1000Steps is `runbook validate` after parsing: graph,
// static scope, checklists, common and kind attributes of every step.
func BenchmarkValidate1000Steps(b *testing.B) {
	for _, c := range []struct {
		name  string
		n     int
		chain bool
	}{{"flat-100", 100, false}, {"flat-1000", 1000, false}, {"chain-1000", 1000, true}} {
		b.Run(c.name, func(b *testing.B) {
			cfg, vars := parseBig(b, bigRunbook(c.n, "command", c.chain))
			b.ReportAllocs()
			for b.Loop() {
				if diags := engine.Validate(cfg, vars); diags.HasErrors() {
					b.Fatal(diags.Error())
				}
			}
		})
	}
}

// BenchmarkParseValidate1000Steps is what `runbook validate FILE` costs
// in-process: parse, resolve variables, lint, validate.
func BenchmarkParseValidate1000Steps(b *testing.B) {
	src := bigRunbook(1000, "command", true)
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		cfg, diags := config.Parse(src, "big.hcl", steps.Builtin())
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		vars, diags := cfg.ResolveVariables(nil, nil)
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		cfg.Lint(vars)
		if diags := engine.Validate(cfg, vars); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}

// echoTransport answers every command at once as `echo` would: it stands
// for a host with zero latency, so a plan against it measures the engine
// alone (the "offline plan": validate + graph + evaluation + report).
type echoTransport struct{}

func (echoTransport) Run(_ context.Context, cmd transport.Command) (transport.Result, error) {
	out := ""
	if len(cmd.Argv) > 1 && cmd.Argv[0] == "echo" {
		out = strings.Join(cmd.Argv[1:], " ") + "\n"
	}
	return transport.Result{Stdout: []byte(out)}, nil
}
func (echoTransport) Describe() string { return "echo" }
func (echoTransport) Close() error     { return nil }

func planOnce(b *testing.B, cfg *config.Config, vars map[string]cty.Value, hosts int) *report.Run {
	eng, diags := engine.New(cfg, vars, engine.Options{Redactor: evidence.NewRedactor()})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	targets := make([]engine.Target, hosts)
	for i := range targets {
		targets[i] = engine.Target{
			Host:    eval.Host{Name: fmt.Sprintf("h%d", i)},
			Connect: func(context.Context) (transport.Transport, error) { return echoTransport{}, nil },
		}
	}
	return eng.Plan(context.Background(), targets, engine.PlanOptions{Forks: hosts})
}

// BenchmarkPlanOffline1000Steps plans 1,000 steps on one host that answers
// instantly: command steps (plan without running anything) and check steps
// in a reference chain (each runs and its output feeds the next).
func BenchmarkPlanOffline1000Steps(b *testing.B) {
	for _, c := range []struct {
		name, kind string
		n          int
		chain      bool
	}{
		{"command-flat-100", "command", 100, false},
		{"command-flat-1000", "command", 1000, false},
		{"check-chain-100", "check", 100, true},
		{"check-chain-1000", "check", 1000, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg, vars := parseBig(b, bigRunbook(c.n, c.kind, c.chain))
			b.ReportAllocs()
			for b.Loop() {
				run := planOnce(b, cfg, vars, 1)
				if run.Result != "planned" {
					b.Fatalf("result %s", run.Result)
				}
			}
		})
	}
}

// BenchmarkPlanOfflineReport adds what the CLI does after a plan: the run
// record and its renderings (report.json, checklist.md, ...).
func BenchmarkPlanOfflineReport1000Steps(b *testing.B) {
	cfg, vars := parseBig(b, bigRunbook(1000, "command", false))
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		run := planOnce(b, cfg, vars, 1)
		if err := report.Write(dir, run); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyLoopback runs an apply like the CLI's (inventory, SSH
// transport, run lock, report written at start and end) against the
// benchmark's loopback hosts, for a CPU profile of the real path:
//
//	go run ./bench -workloads 50x20 -runs 1 -ansible=false -phase2=false -cli=false -gobench=false -keep-fleet -out ''
//	RUNBOOK_BENCH_DIR=/var/tmp/runbook-bench/w50x20 go test -run '^$' -bench ApplyLoopback \
//	    -benchtime 5x -cpuprofile cpu.out ./engine/
//	go tool pprof -top engine.test cpu.out
//
// Skipped unless RUNBOOK_BENCH_DIR names a workload directory written by
// bench/ (bench.hcl + inventory.hcl).
func BenchmarkApplyLoopback(b *testing.B) {
	dir := os.Getenv("RUNBOOK_BENCH_DIR")
	if dir == "" {
		b.Skip("set RUNBOOK_BENCH_DIR to a workload directory written by `go run ./bench -keep-fleet`")
	}
	cfg, diags := config.ParseFile(filepath.Join(dir, "bench.hcl"), steps.Builtin())
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	vars, diags := cfg.ResolveVariables(nil, nil)
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	inv, diags := inventory.Load(filepath.Join(dir, "inventory.hcl"), inventory.Options{})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	hosts, err := inv.Select(cfg.Runbook.Hosts)
	if err != nil {
		b.Fatal(err)
	}
	var opts inventory.ConnectOptions
	targets := make([]engine.Target, len(hosts))
	for i, h := range hosts {
		targets[i] = engine.Target{
			Host:     eval.Host{Name: h.Name, Address: h.Address, User: h.User, Vars: h.Vars},
			Describe: h.Describe(),
			Connect:  func(ctx context.Context) (transport.Transport, error) { return inventory.Connect(ctx, h, opts) },
		}
	}
	forks := len(hosts)
	if f, err := strconv.Atoi(os.Getenv("RUNBOOK_BENCH_FORKS")); err == nil && f > 0 {
		forks = f
	}
	var mu sync.Mutex
	events := 0
	b.ReportAllocs()
	for b.Loop() {
		eng, diags := engine.New(cfg, vars, engine.Options{Redactor: evidence.NewRedactor()})
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		run := eng.NewRun(engine.ModeApply)
		rdir := report.RunDir(b.TempDir(), run.Started, run.Runbook)
		run.ID = filepath.Base(rdir)
		if err := report.Prepare(rdir); err != nil {
			b.Fatal(err)
		}
		run.Result = "running"
		if err := report.WriteRunning(rdir, run); err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Apply(context.Background(), targets, engine.ApplyOptions{
			Forks: forks, Run: run, Lock: os.Getenv("RUNBOOK_BENCH_NOLOCK") == "",
			OnEvent: func(engine.Event) { mu.Lock(); events++; mu.Unlock() },
		}); err != nil {
			b.Fatal(err)
		}
		if err := report.Write(rdir, run); err != nil {
			b.Fatal(err)
		}
		if run.Result != "success" {
			b.Fatalf("result %s", run.Result)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(hosts)*len(cfg.Steps))/1e3, "µs/host-task")
}

// BenchmarkForEachVsPlain50x20 plans 50 hosts × 20 echo steps written as
// 20 plain steps and as one for_each step over 20 keys (issue 17: the
// for_each form must cost no more). Allocations are the stable measure on
// a loaded machine; bench/ measures applies over real SSH.
func BenchmarkForEachVsPlain50x20(b *testing.B) {
	plain := `runbook "fe" {
  hosts = "all"
}
`
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%02d = \"1\"", i+1)
		plain += fmt.Sprintf("step \"command\" \"s%02d\" {\n  argv = [\"echo\", \"1\"]\n}\n", i+1)
	}
	forEach := `runbook "fe" {
  hosts = "all"
}
step "command" "s" {
  for_each = {
    ` + strings.Join(keys, "\n    ") + `
  }
  argv = ["echo", each.value]
}
`
	for _, c := range []struct{ name, src string }{{"plain", plain}, {"for_each", forEach}} {
		b.Run(c.name, func(b *testing.B) {
			cfg, vars := parseBig(b, []byte(c.src))
			b.ReportAllocs()
			for b.Loop() {
				run := planOnce(b, cfg, vars, 50)
				if run.Result != "planned" || len(run.Hosts[0].Steps) != 20 {
					b.Fatalf("result %s, %d steps", run.Result, len(run.Hosts[0].Steps))
				}
			}
		})
	}
}
