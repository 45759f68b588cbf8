package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
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

// seedMappingRunbooks are the runbooks docs/seed-mapping.md maps the guide
// to: phase2.hcl, and the ones for the guide's other sections.
var seedMappingRunbooks = []string{"phase2.hcl", "tuning.hcl", "monitoring.hcl", "troubleshoot.hcl"}

// stepMention is a step docs/seed-mapping.md names with its kind, and the
// runbook the text it stands in belongs to ("" outside the step table).
type stepMention struct {
	runbook, name, kind string
}

// seedRow is a row of the step table: the runbook it belongs to, whether
// the row says so (or is phase2.hcl's by naming none), and its "runbook
// step" cell.
type seedRow struct {
	runbook string
	named   bool
	cell    string
}

var (
	// `cluster` (preflight)
	mentionKindRe = regexp.MustCompile("`([a-z_0-9]+)` \\(([a-z_]+)")
	// `tuning` (a modify step); `node_exporter`, `prometheus` (two
	// service steps); `qos_present` (a check step) and …
	mentionStepsRe = regexp.MustCompile("((?:`[a-z_0-9]+`(?:, and |, | and ))*`[a-z_0-9]+`) \\((a|an|both|two|three|four|five|six) ([a-z_]+) steps?\\b")
	mentionNameRe  = regexp.MustCompile("`([a-z_0-9]+)`")
	runbookFileRe  = regexp.MustCompile("(?:runbooks/)?\\b([a-z_0-9]+\\.hcl)\\b")
)

// tableCells splits a Markdown table row at its | but not at \| (a | in
// a cell): "| a | b \| c |" → ["", " a ", " b \| c ", "\n"].
func tableCells(line string) []string {
	var cells []string
	start := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '|':
			cells = append(cells, line[start:i])
			start = i + 1
		}
	}
	return append(cells, line[start:])
}

// seedMentions reads the steps text names with a kind, each held to
// runbook; a kind-like word that is no step kind ("`gpu_test` (sbatch
// refuses the job)") is not a mention.
func seedMentions(t *testing.T, runbook, text string) []stepMention {
	t.Helper()
	kinds := steps.Builtin()
	var out []stepMention
	for _, m := range mentionKindRe.FindAllStringSubmatch(text, -1) {
		if _, isKind := kinds[m[2]]; isKind {
			out = append(out, stepMention{runbook, m[1], m[2]})
		}
	}
	counts := map[string]int{"a": 1, "an": 1, "both": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
	for _, m := range mentionStepsRe.FindAllStringSubmatch(text, -1) {
		if _, isKind := kinds[m[3]]; !isKind {
			continue
		}
		names := mentionNameRe.FindAllStringSubmatch(m[1], -1)
		// "`a`, `b` (two line steps)": the names the count covers are
		// the last ones of the list.
		if len(names) < counts[m[2]] {
			t.Errorf("docs/seed-mapping.md: %q names %d steps where it says %s", m[0], len(names), m[2])
			continue
		}
		for _, n := range names[len(names)-counts[m[2]]:] {
			out = append(out, stepMention{runbook, n[1], m[3]})
		}
	}
	return out
}

// seedStepTable reads the rows of the "## Step by step" table, each as
// the runbook it belongs to and its "runbook step" cell. A row belongs to
// the runbook its cell names (`runbooks/tuning.hcl`), and to phase2.hcl,
// the page's own, when it names none; the rest of the page comes back as
// other text.
func seedStepTable(t *testing.T, doc string) (rows []seedRow, other string) {
	t.Helper()
	start := strings.Index(doc, "\n## Step by step\n")
	if start < 0 {
		t.Fatal(`docs/seed-mapping.md has no "## Step by step" section`)
	}
	var rest strings.Builder
	rest.WriteString(doc[:start])
	inTable, done := false, false
	for line := range strings.Lines(doc[start:]) {
		isRow := strings.HasPrefix(line, "|")
		switch {
		case done || !isRow && !inTable:
			rest.WriteString(line)
			continue
		case !isRow:
			done = true
			rest.WriteString(line)
			continue
		}
		inTable = true
		cells := tableCells(line)
		if len(cells) < 3 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "guide" {
			continue
		}
		cell := cells[2]
		var named []string
		for _, m := range runbookFileRe.FindAllStringSubmatch(cell, -1) {
			if !slices.Contains(named, m[1]) {
				named = append(named, m[1])
			}
		}
		switch len(named) {
		case 0:
			rows = append(rows, seedRow{"phase2.hcl", false, cell})
		case 1:
			rows = append(rows, seedRow{named[0], true, cell})
		default:
			t.Errorf("docs/seed-mapping.md: a row's runbook step cell names %v: one runbook a row, so its steps can be held to it:\n%s", named, line)
		}
	}
	if len(rows) < 10 {
		t.Fatalf("read %d rows of the step table: the table is not being read", len(rows))
	}
	return rows, rest.String()
}

// TestSeedMappingNamesSteps: docs/seed-mapping.md names every step of
// each runbook it maps (phase2.hcl, tuning.hcl, monitoring.hcl,
// troubleshoot.hcl) with its kind, in a row of that runbook, and no step
// the runbook does not have. A runbook that does not exist yet is passed
// over only while the page does not mention it.
func TestSeedMappingNamesSteps(t *testing.T) {
	b, err := os.ReadFile("../../docs/seed-mapping.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	rows, other := seedStepTable(t, doc)
	var inRows []stepMention
	unnamed := map[stepMention]bool{} // in a row that names no runbook
	for _, r := range rows {
		for _, m := range seedMentions(t, r.runbook, r.cell) {
			inRows = append(inRows, m)
			unnamed[m] = !r.named
		}
	}
	mentionedFiles := map[string]bool{}
	for _, m := range runbookFileRe.FindAllStringSubmatch(doc, -1) {
		mentionedFiles[m[1]] = true
	}
	runbooks := slices.Clone(seedMappingRunbooks)
	for f := range mentionedFiles {
		if _, err := os.Stat("../../runbooks/" + f); err == nil && !slices.Contains(runbooks, f) {
			runbooks = append(runbooks, f)
		}
	}
	kindsOf := map[string]map[string]string{} // runbook → step → kind
	for _, rb := range runbooks {
		t.Run(rb, func(t *testing.T) {
			path := "../../runbooks/" + rb
			if _, err := os.Stat(path); os.IsNotExist(err) {
				if mentionedFiles[rb] {
					t.Fatalf("docs/seed-mapping.md mentions %s, which does not exist", rb)
				}
				t.Skipf("runbooks/%s does not exist yet, and docs/seed-mapping.md does not mention it", rb)
			}
			cfg, diags := config.ParseFile(path, steps.Builtin())
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			kinds := map[string]string{}
			kindsOf[rb] = kinds
			for _, st := range cfg.Steps {
				kinds[st.Name] = st.Kind
			}
			for _, st := range cfg.Steps {
				if !slices.Contains(inRows, stepMention{rb, st.Name, st.Kind}) {
					t.Errorf("docs/seed-mapping.md does not map step %s (%s) of %s in a row of %s", st.Name, st.Kind, rb, rb)
				}
			}
			for _, m := range inRows {
				switch {
				case m.runbook != rb || kinds[m.name] == m.kind:
				case unnamed[m]:
					t.Errorf("docs/seed-mapping.md names step %s (%s) in a row that names no runbook, so is %s's, which has no such step: "+
						"name the row's runbook in its runbook step cell (… in `runbooks/NAME.hcl`)", m.name, m.kind, rb)
				default:
					t.Errorf("docs/seed-mapping.md names step %s (%s) in a row of %s, which %s does not have", m.name, m.kind, rb, rb)
				}
			}
		})
	}
	// Outside the table a step is named without its runbook: it must be
	// a step of one of them.
	for _, m := range seedMentions(t, "", other) {
		found := false
		for _, kinds := range kindsOf {
			found = found || kinds[m.name] == m.kind
		}
		if !found {
			t.Errorf("docs/seed-mapping.md names step %s (%s), which no runbook it maps has", m.name, m.kind)
		}
	}
}
