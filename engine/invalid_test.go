package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/steps"
)

// minInvalid is the least number of files the invalid corpus must hold.
const minInvalid = 35

// expectation is a corpus file's header:
//
//	# want: LINE: Summary
//	# detail: text the diagnostic's detail must contain (optional, repeatable)
type expectation struct {
	line    int
	summary string
	details []string
}

func readExpectation(t *testing.T, path string) expectation {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var exp expectation
	for _, l := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(l, "#") {
			break
		}
		l = strings.TrimSpace(strings.TrimPrefix(l, "#"))
		switch {
		case strings.HasPrefix(l, "want:"):
			rest := strings.TrimSpace(strings.TrimPrefix(l, "want:"))
			num, summary, ok := strings.Cut(rest, ":")
			n, err := strconv.Atoi(strings.TrimSpace(num))
			if !ok || err != nil || n < 1 {
				t.Fatalf("%s: bad header %q: want \"# want: LINE: Summary\"", path, l)
			}
			exp.line, exp.summary = n, strings.TrimSpace(summary)
		case strings.HasPrefix(l, "detail:"):
			exp.details = append(exp.details, strings.TrimSpace(strings.TrimPrefix(l, "detail:")))
		}
	}
	if exp.summary == "" {
		t.Fatalf("%s: no \"# want: LINE: Summary\" header", path)
	}
	return exp
}

// validateFile runs what `runbook validate FILE` runs, with no --var and
// an empty environment: parse, resolve variables, then engine.Validate.
func validateFile(path string) (diags hcl.Diagnostics, panicked any) {
	defer func() { panicked = recover() }()
	cfg, diags := config.ParseFile(path, steps.Builtin())
	if diags.HasErrors() {
		return diags, nil
	}
	vars, d := cfg.ResolveVariables(nil, nil)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return diags, nil
	}
	diags = append(diags, cfg.Lint(vars)...)
	return append(diags, engine.Validate(cfg, vars)...), nil
}

func describeDiags(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		fmt.Fprintf(&b, "\n  %s %d: %s — %s", sev, line, d.Summary, d.Detail)
	}
	return b.String()
}

func TestInvalidCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < minInvalid {
		t.Fatalf("invalid corpus holds %d files, want at least %d", len(files), minInvalid)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".hcl"), func(t *testing.T) {
			exp := readExpectation(t, path)
			diags, p := validateFile(path)
			if p != nil {
				t.Fatalf("validation panicked: %v", p)
			}
			if !diags.HasErrors() {
				t.Fatalf("runbook passed validation; want error %d: %s%s", exp.line, exp.summary, describeDiags(diags))
			}
			for _, d := range diags {
				if d.Severity != hcl.DiagError || d.Summary != exp.summary || d.Subject == nil {
					continue
				}
				if d.Subject.Start.Line != exp.line {
					continue
				}
				if d.Subject.Filename != path {
					t.Errorf("diagnostic points at file %q, want %q", d.Subject.Filename, path)
				}
				for _, want := range exp.details {
					if !strings.Contains(d.Detail, want) {
						t.Errorf("detail %q does not contain %q", d.Detail, want)
					}
				}
				return
			}
			t.Fatalf("no error %q on line %d; got:%s", exp.summary, exp.line, describeDiags(diags))
		})
	}
}

// TestValidateAcceptsExample guards the corpus test against a Validate that
// rejects everything.
func TestValidateAcceptsExample(t *testing.T) {
	diags, p := validateFile(filepath.Join("..", "runbooks", "example.hcl"))
	if p != nil {
		t.Fatalf("panic: %v", p)
	}
	if diags.HasErrors() {
		t.Fatalf("example runbook is invalid:%s", describeDiags(diags))
	}
}
