package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-hpc/runbook/engine/hcllimits"
)

// evalAtLine3 evaluates src as written on line 3 of runbook.hcl, with the
// function table rooted at dir, and returns its diagnostics.
func evalAtLine3(t *testing.T, dir, src string) hcl.Diagnostics {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "runbook.hcl", hcl.Pos{Line: 3, Column: 1, Byte: 0})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, diags = expr.Value(&hcl.EvalContext{Functions: Functions(dir)})
	return diags
}

// wantCallError checks that diags is one error at runbook.hcl line 3 (the
// call) whose detail holds want.
func wantCallError(t *testing.T, diags hcl.Diagnostics, want string) {
	t.Helper()
	if !diags.HasErrors() {
		t.Fatal("no error")
	}
	d := diags[0]
	if d.Subject == nil || d.Subject.Filename != "runbook.hcl" || d.Subject.Start.Line != 3 {
		t.Errorf("diagnostic points at %v, not at the call on runbook.hcl:3", d.Subject)
	}
	if !strings.Contains(d.Detail, want) {
		t.Errorf("detail %q does not say %q", d.Detail, want)
	}
}

// TestFileReadsAreCapped: file() and templatefile() of /dev/zero or of a
// file over hcllimits.MaxFileBytes are an error at the call (issue 15),
// not a process that reads until it runs out of memory.
func TestFileReadsAreCapped(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.txt")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: a file one byte over the cap, without writing 16 MiB.
	if err := f.Truncate(hcllimits.MaxFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, call := range []string{
		`file("/dev/zero")`,
		`templatefile("/dev/zero", {})`,
		`file("huge.txt")`,
		`templatefile("huge.txt", {})`,
	} {
		t.Run(call, func(t *testing.T) {
			wantCallError(t, evalAtLine3(t, dir, call), "larger than 16 MiB")
		})
	}
	// A file of exactly the cap is read.
	if err := os.Truncate(huge, hcllimits.MaxFileBytes); err != nil {
		t.Fatal(err)
	}
	if diags := evalAtLine3(t, dir, `file("huge.txt")`); diags.HasErrors() {
		t.Errorf("a file of exactly %d bytes: %s", hcllimits.MaxFileBytes, diags.Error())
	}
}

// TestTemplateNestingIsChecked: a template nested past hcllimits.MaxNesting
// is an error naming the template's line, where HCL's recursive parser
// would overflow the stack (a fatal error that kills the whole process).
func TestTemplateNestingIsChecked(t *testing.T) {
	dir := t.TempDir()
	deep := "line one\n${" + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + "}\n"
	if err := os.WriteFile(filepath.Join(dir, "deep.tpl"), []byte(deep), 0o644); err != nil {
		t.Fatal(err)
	}
	diags := evalAtLine3(t, dir, `templatefile("deep.tpl", {})`)
	wantCallError(t, diags, "Nested too deeply")
	if !strings.Contains(diags[0].Detail, "deep.tpl:2") {
		t.Errorf("detail %q does not name the template's line deep.tpl:2", diags[0].Detail)
	}
}

// TestTemplateLiteralBracesAreText: the nesting check reads a template as
// a template, so braces and parentheses in its literal text (a shell
// function, a JSON file) are text, however many.
func TestTemplateLiteralBracesAreText(t *testing.T) {
	dir := t.TempDir()
	text := strings.Repeat("{ ( [ \"", 2*hcllimits.MaxNesting) + "${x}\n"
	if err := os.WriteFile(filepath.Join(dir, "braces.tpl"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if diags := evalAtLine3(t, dir, `templatefile("braces.tpl", {x = 1})`); diags.HasErrors() {
		t.Errorf("literal braces refused: %s", diags.Error())
	}
}
