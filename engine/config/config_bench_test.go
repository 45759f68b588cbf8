package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/steps"
)

// benchSource is n command steps; with chain, step i reads step i-1 (a
// reference chain n deep), else each depends only on a variable.
func benchSource(n int, chain bool) []byte {
	var b strings.Builder
	b.WriteString("runbook \"big\" {\n  hosts = \"all\"\n}\n\nvariable \"word\" {\n  type    = string\n  default = \"x\"\n}\n")
	for i := 1; i <= n; i++ {
		arg := "var.word"
		if chain && i > 1 {
			arg = fmt.Sprintf("step.s%d.status", i-1)
		}
		fmt.Fprintf(&b, "\nstep \"command\" \"s%d\" {\n  title     = \"step %d\"\n  checklist = \"step %d ran\"\n  argv      = [\"echo\", %s]\n}\n", i, i, i, arg)
	}
	return []byte(b.String())
}

var benchShapes = []struct {
	name  string
	n     int
	chain bool
}{{"flat-100", 100, false}, {"flat-1000", 1000, false}, {"chain-100", 100, true}, {"chain-1000", 1000, true}}

// BenchmarkParse1000Steps: HCL parse, block decoding, reference checks.
func BenchmarkParse1000Steps(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			src := benchSource(s.n, s.chain)
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, diags := config.Parse(src, "big.hcl", steps.Builtin()); diags.HasErrors() {
					b.Fatal(diags.Error())
				}
			}
		})
	}
}

// BenchmarkOrder1000Steps: the step graph and its topological order.
func BenchmarkOrder1000Steps(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			cfg, diags := config.Parse(benchSource(s.n, s.chain), "big.hcl", steps.Builtin())
			if diags.HasErrors() {
				b.Fatal(diags.Error())
			}
			b.ReportAllocs()
			for b.Loop() {
				if order, diags := cfg.Order(); diags.HasErrors() || len(order) != s.n {
					b.Fatal(diags.Error())
				}
			}
		})
	}
}

// BenchmarkResolveLint1000Steps: variables and the lint pass the CLI runs
// after parsing.
func BenchmarkResolveLint1000Steps(b *testing.B) {
	cfg, diags := config.Parse(benchSource(1000, true), "big.hcl", steps.Builtin())
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	b.ReportAllocs()
	for b.Loop() {
		vars, diags := cfg.ResolveVariables(nil, nil)
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		cfg.Lint(vars)
	}
}
