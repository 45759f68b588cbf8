package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/steps"
)

// FuzzParse feeds arbitrary bytes through what every command does first:
// parse, resolve variables (no --var, empty environment), lint and order
// the steps. None of it may panic, whatever the input.
//
// Seeds: the example runbook, every file of the invalid corpus, and the
// files under testdata/fuzz/FuzzParse (which also keeps any crasher found).
//
//	go test -run XXX -fuzz FuzzParse -fuzztime 60s ./engine/config/
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("..", "testdata", "invalid", "*.hcl"))
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, filepath.Join("..", "..", "runbooks", "example.hcl"))
	if len(seeds) < 36 {
		f.Fatalf("only %d seed files found; the corpus moved?", len(seeds))
	}
	for _, p := range seeds {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, diags := config.Parse(src, "fuzz.hcl", steps.Builtin())
		if cfg == nil || cfg.Parser == nil {
			t.Fatal("Parse returned no config")
		}
		if diags.HasErrors() {
			return
		}
		if cfg.Runbook == nil {
			t.Fatal("a runbook without a runbook block parsed without error")
		}
		vars, diags := cfg.ResolveVariables(nil, nil)
		if !diags.HasErrors() {
			cfg.Lint(vars)
		}
		order, diags := cfg.Order()
		if !diags.HasErrors() && len(order) != len(cfg.Steps) {
			t.Fatalf("Order returned %d of %d steps", len(order), len(cfg.Steps))
		}
	})
}
