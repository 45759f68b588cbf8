package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/steps"
)

const phase2File = "../../runbooks/phase2.hcl"

func TestCompletionScripts(t *testing.T) {
	for shell, markers := range map[string][]string{
		"bash": {"# bash completion V2 for runbook", "__start_runbook", "complete -o default -F __start_runbook runbook"},
		"zsh":  {"#compdef runbook", "_runbook()"},
		"fish": {"# fish completion for runbook", "complete -c runbook"},
	} {
		r := runCLI(t, "completion", shell)
		if r.code != exitOK {
			t.Fatalf("completion %s: want exit 0:\n%s", shell, r)
		}
		for _, m := range markers {
			if !strings.Contains(r.stdout, m) {
				t.Errorf("completion %s lacks %q", shell, m)
			}
		}
		// The script asks runbook itself for candidates.
		if !strings.Contains(r.stdout, "__complete") {
			t.Errorf("completion %s does not call back into runbook __complete", shell)
		}
	}
	if r := runCLI(t, "completion", "tcsh"); r.code != exitInvalid || !strings.Contains(r.stderr, "bash, zsh and fish") {
		t.Errorf("completion tcsh: want exit 3 naming the shells:\n%s", r)
	}
	if r := runCLI(t, "completion"); r.code != exitInvalid {
		t.Errorf("completion without a shell: want exit 3:\n%s", r)
	}
}

// complete runs cobra's hidden completion command and returns the
// candidates (descriptions cut off) and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	r := runCLI(t, append([]string{"__complete"}, args...)...)
	if r.code != exitOK {
		t.Fatalf("__complete %q: want exit 0:\n%s", args, r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
		t.Fatalf("__complete %q: no directive line:\n%s", args, r.stdout)
	}
	var out []string
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		out = append(out, v)
	}
	return out, lines[len(lines)-1]
}

func TestCompleteVarNames(t *testing.T) {
	cfg, diags := config.ParseFile(phase2File, steps.Builtin())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var want []string
	for _, v := range cfg.Variables {
		want = append(want, v.Name+"=")
	}
	if len(want) < 10 {
		t.Fatalf("phase2 declares %d variables?", len(want))
	}
	for _, cmd := range []string{"plan", "apply", "validate", "checklist", "graph"} {
		got, directive := complete(t, cmd, phase2File, "--var", "")
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s --var <TAB>: %q, want %q", cmd, got, want)
		}
		if directive != ":6" { // NoSpace | NoFileComp: the value follows the =
			t.Errorf("%s --var <TAB>: directive %s, want :6", cmd, directive)
		}
	}
	got, _ := complete(t, "plan", phase2File, "--var", "max_")
	if strings.Join(got, " ") != "max_wall= max_gpus_per_user= max_jobs_per_user=" {
		t.Errorf("--var max_<TAB>: %q", got)
	}
	got, _ = complete(t, "plan", phase2File, "--var", "prove_limits=")
	if strings.Join(got, " ") != "prove_limits=true prove_limits=false" {
		t.Errorf("--var prove_limits=<TAB> (a bool): %q", got)
	}
	// The descriptions come along for zsh and fish.
	r := runCLI(t, "__complete", "plan", phase2File, "--var", "qos")
	if !strings.Contains(r.stdout, "qos_name=\tName of the QoS to create.") {
		t.Errorf("--var qos<TAB> lacks the description:\n%s", r.stdout)
	}
	// Without the file there is nothing to list, and no files either.
	if got, directive := complete(t, "plan", "--var", ""); len(got) > 1 || directive != ":4" {
		t.Errorf("--var <TAB> without a runbook: %q %s", got, directive)
	}
}

func TestCompleteFiles(t *testing.T) {
	got, directive := complete(t, "plan", "")
	if strings.Join(got, " ") != "hcl" || directive != ":8" { // FilterFileExt
		t.Errorf("plan <TAB>: %q %s, want hcl :8", got, directive)
	}
	got, directive = complete(t, "apply", "")
	if strings.Join(got, " ") != "hcl plan json" || directive != ":8" {
		t.Errorf("apply <TAB>: %q %s", got, directive)
	}
	if got, directive = complete(t, "plan", phase2File, ""); len(got) != 0 || directive != ":4" {
		t.Errorf("plan FILE <TAB> (takes one file): %q %s", got, directive)
	}
	if _, directive = complete(t, "plan", phase2File, "--state-dir", ""); directive != ":16" { // FilterDirs
		t.Errorf("--state-dir <TAB>: directive %s, want :16", directive)
	}
	if got, directive = complete(t, "fmt", "a.hcl", ""); strings.Join(got, " ") != "hcl" || directive != ":8" {
		t.Errorf("fmt takes many files: %q %s", got, directive)
	}
}

func TestCompleteLimitAndLang(t *testing.T) {
	inv := filepath.Join(t.TempDir(), "inventory.hcl")
	src := `
host "ctl1" {
  local = true
}
host "node01" {
  local = true
}
group "slurm_controller" {
  hosts = ["ctl1"]
}
`
	if err := os.WriteFile(inv, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got, directive := complete(t, "plan", phase2File, "-i", inv, "--limit", "")
	sort.Strings(got)
	if strings.Join(got, " ") != "all ctl1 node01 slurm_controller ungrouped" || directive != ":4" {
		t.Errorf("--limit <TAB>: %q %s", got, directive)
	}
	got, _ = complete(t, "apply", phase2File, "--inventory", inv, "--limit", "ctl1,!s")
	if strings.Join(got, " ") != "ctl1,!slurm_controller" {
		t.Errorf("--limit ctl1,!s<TAB>: %q", got)
	}
	// Without -i: the local host, as a run would use.
	got, _ = complete(t, "plan", exampleRunbook, "--limit", "")
	if !strings.Contains(" "+strings.Join(got, " ")+" ", " localhost ") {
		t.Errorf("--limit <TAB> without an inventory: %q", got)
	}

	got, _ = complete(t, "checklist", phase2File, "--lang", "")
	if strings.Join(got, " ") != "en ko" {
		t.Errorf("checklist --lang <TAB>: %q, want en ko", got)
	}
	got, _ = complete(t, "checklist", phase2File, "--format", "")
	if strings.Join(got, " ") != "md json" {
		t.Errorf("checklist --format <TAB>: %q", got)
	}
}

// TestHelp: every command has a one-line description and examples, and
// runbook --help lists them all.
func TestHelp(t *testing.T) {
	r := runCLI(t, "--help")
	if r.code != exitOK {
		t.Fatalf("--help: want exit 0:\n%s", r)
	}
	root := newRootCmd()
	n := 0
	for _, c := range root.Commands() {
		if !c.IsAvailableCommand() || c.Name() == "help" {
			continue
		}
		n++
		if c.Short == "" || strings.Contains(c.Short, "\n") {
			t.Errorf("%s: Short %q is not one line", c.Name(), c.Short)
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no examples", c.Name())
		}
		for _, line := range strings.Split(c.Example, "\n") {
			if !strings.HasPrefix(line, "  runbook ") && !strings.HasPrefix(line, "  source <(runbook ") && !strings.HasPrefix(line, "  #") {
				t.Errorf("%s: example line %q does not start with \"  runbook \"", c.Name(), line)
			}
		}
		if !strings.Contains(r.stdout, "  "+c.Name()+" ") || !strings.Contains(r.stdout, c.Short) {
			t.Errorf("runbook --help does not list %s (%q):\n%s", c.Name(), c.Short, r.stdout)
		}
		sub := runCLI(t, c.Name(), "--help")
		if sub.code != exitOK || !strings.Contains(sub.stdout, "Examples:") || !strings.Contains(sub.stdout, "--no-color") {
			t.Errorf("runbook %s --help:\n%s", c.Name(), sub)
		}
	}
	for _, want := range []string{"validate", "plan", "apply", "checklist", "graph", "fmt", "inventory", "version", "completion"} {
		if c, _, err := root.Find([]string{want}); err != nil || c.Name() != want {
			t.Errorf("no %s command", want)
		}
	}
	if n < 9 {
		t.Errorf("%d commands, want at least 9", n)
	}
	if r := runCLI(t, "version"); r.code != exitOK || r.stdout != "runbook "+version+"\n" {
		t.Errorf("version:\n%s", r)
	}
}
