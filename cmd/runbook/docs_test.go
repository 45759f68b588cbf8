package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/inventory"
	"github.com/runbook-hpc/runbook/steps"
)

var fenceRe = regexp.MustCompile("(?ms)^```(hcl|ini)\n(.*?)^```")

// TestLanguageDocExamples keeps docs/language.md honest: every HCL example
// parses, every complete runbook in it validates, and every inventory
// example loads.
func TestLanguageDocExamples(t *testing.T) {
	b, err := os.ReadFile("../../docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := fenceRe.FindAllStringSubmatch(string(b), -1)
	var runbooks, inventories int
	for i, m := range blocks {
		lang, src := m[1], m[2]
		first := strings.TrimSpace(src)
		switch {
		case lang == "ini":
			inventories++
			if _, diags := inventory.Parse(filepath.Join(t.TempDir(), "hosts.ini"), []byte(src), inventory.Options{SSHConfigPath: "none", Home: t.TempDir()}); diags.HasErrors() {
				t.Errorf("INI example %d does not load: %s\n%s", i+1, diags.Error(), src)
			}
		case strings.HasPrefix(first, "host \""):
			inventories++
			if _, diags := inventory.Parse(filepath.Join(t.TempDir(), "inventory.hcl"), []byte(src), inventory.Options{SSHConfigPath: "none", Home: t.TempDir()}); diags.HasErrors() {
				t.Errorf("inventory example %d does not load: %s\n%s", i+1, diags.Error(), src)
			}
		case strings.HasPrefix(first, "runbook \""):
			runbooks++
			p := writeRunbook(t, src)
			if r := runCLI(t, "validate", p); r.code != exitOK {
				t.Errorf("runbook example %d does not validate:\n%s\n%s", i+1, src, r)
			}
		default:
			if _, diags := hclsyntax.ParseConfig([]byte(src), "example.hcl", hcl.InitialPos); diags.HasErrors() {
				t.Errorf("HCL example %d does not parse: %s\n%s", i+1, diags.Error(), src)
			}
		}
	}
	if runbooks < 1 || inventories < 2 || len(blocks) < 15 {
		t.Errorf("found %d examples (%d runbooks, %d inventories): the fences are not being read", len(blocks), runbooks, inventories)
	}
}

// TestLanguageDocKinds: every step kind and each of its attributes is in
// docs/language.md, so a new kind or attribute cannot go undocumented.
func TestLanguageDocKinds(t *testing.T) {
	b, err := os.ReadFile("../../docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, name := range steps.Builtin().Names() {
		start := strings.Index(doc, "\n### `"+name+"`\n")
		if start < 0 {
			t.Errorf("docs/language.md has no section ### `%s`", name)
			continue
		}
		section := doc[start+1:]
		if end := strings.Index(section[4:], "\n### "); end >= 0 {
			section = section[:end+4]
		}
		attrs := steps.Builtin()[name].Spec()
		if name == "command" {
			// command takes check's attributes, documented there, plus its own.
			for a := range steps.Builtin()["check"].Spec() {
				delete(attrs, a)
			}
		}
		for a := range attrs {
			if !strings.Contains(section, "`"+a+"`") {
				t.Errorf("docs/language.md, ### `%s`: attribute `%s` is not documented", name, a)
			}
		}
	}
	for _, a := range config.CommonAttributes {
		if !strings.Contains(doc, "| `"+a+"` |") {
			t.Errorf("docs/language.md: common attribute `%s` has no row", a)
		}
	}
}

// TestSeedMappingNamesPhase2Steps: docs/seed-mapping.md names every step
// of runbooks/phase2.hcl with its kind, and no step that is not there.
func TestSeedMappingNamesPhase2Steps(t *testing.T) {
	b, err := os.ReadFile("../../docs/seed-mapping.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	cfg, diags := config.ParseFile("../../runbooks/phase2.hcl", steps.Builtin())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	kinds := map[string]string{}
	for _, st := range cfg.Steps {
		kinds[st.Name] = st.Kind
		if !strings.Contains(doc, "`"+st.Name+"` ("+st.Kind) {
			t.Errorf("docs/seed-mapping.md does not map step %s (%s)", st.Name, st.Kind)
		}
	}
	for _, m := range regexp.MustCompile("`([a-z_0-9]+)` \\(([a-z_]+)").FindAllStringSubmatch(doc, -1) {
		if _, isKind := steps.Builtin()[m[2]]; !isKind {
			continue
		}
		if kinds[m[1]] != m[2] {
			t.Errorf("docs/seed-mapping.md names step %s (%s), which phase2.hcl does not have", m[1], m[2])
		}
	}
}
