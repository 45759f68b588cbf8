package engine_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/steps"
)

// FuzzValidate runs everything `runbook validate` runs on arbitrary input:
// parse, variables, lint, then Validate (graph, locals, checklists, common
// and kind attributes, kind Decode). None of it may panic.
//
//	go test -run XXX -fuzz FuzzValidate -fuzztime 60s ./engine/
func FuzzValidate(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.hcl"))
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, filepath.Join("..", "runbooks", "example.hcl"))
	for _, p := range seeds {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		// file() and templatefile() read the local disk (/dev/zero would
		// never end) and range() or a format width can ask for gigabytes:
		// resource limits, not crashes, so the fuzzer stays away from them.
		for _, risky := range []string{"file", "range", "%", "format", "indent"} {
			if bytes.Contains(src, []byte(risky)) {
				return
			}
		}
		cfg, diags := config.Parse(src, "fuzz.hcl", steps.Builtin())
		if diags.HasErrors() {
			return
		}
		vars, diags := cfg.ResolveVariables(nil, nil)
		if diags.HasErrors() {
			return
		}
		cfg.Lint(vars)
		engine.Validate(cfg, vars)
	})
}
