package engine_test

// Modules: a directory of .hcl files called with inputs, its steps in the
// graph as module.NAME.step.STEP, its outputs as module.NAME.OUTPUT.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
)

// writeTree writes files (path → content) under a new temporary
// directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const nodeprepModule = `
variable "packages" {
  type = list(string)
}
variable "prefix" {
  type    = string
  default = "pkg"
}
locals {
  ids = [for p in var.packages : "${var.prefix}-${p}"]
}
step "fake" "install" {
  for_each = toset(local.ids)
  id       = each.key
  notify   = [step.restart]
}
step "fake" "restart" {
  id     = "restart-${var.prefix}"
  action = "run"
}
step "fake" "probe" {
  id     = "probe-${var.prefix}"
  action = "read"
  value  = trimspace(file("data.txt")) # the module's own directory
}
output "installed" {
  value = sort([for k, s in step.install : k if s.changed])
}
output "probe" {
  value = step.probe.value
}
`

func TestModuleStepsOutputsAndHandlers(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"modules/nodeprep/main.hcl":      nodeprepModule,
		"modules/nodeprep/variables.hcl": "# a second file of the same module\n",
		"modules/nodeprep/data.txt":      "module data\n",
		"data.txt":                       "runbook data\n",
		"site.hcl": header + `
module "prep" {
  source   = "./modules/nodeprep"
  packages = ["munge", "slurmd"]
}
module "other" {
  source   = "./modules/nodeprep"
  packages = []
  prefix   = "x"
}
step "fake" "after" {
  id    = "after"
  value = join(",", module.prep.installed)
}
output "prep_probe" {
  value = module.prep.probe
}
`,
	})
	eng := engineFromFile(t, filepath.Join(dir, "site.hcl"))
	s := newScript().on("probe pkg-munge", answer{exit: 1}).on("probe pkg-slurmd", answer{exit: 0}).
		on("probe restart-pkg", answer{exit: 1}).on("probe probe-pkg", answer{out: "ok"}).on("probe after", answer{exit: 1})
	run := apply(t, eng, one(s), engine.ApplyOptions{})
	names := stepNames(run)
	for _, want := range []string{`module.prep.step.install["pkg-munge"]`, "module.prep.step.restart", "module.other.step.restart", "after"} {
		if !slices.Contains(names, want) {
			t.Errorf("no step %s in %q", want, names)
		}
	}
	if i, j := slices.Index(names, "module.prep.step.probe"), slices.Index(names, "after"); j < i {
		t.Errorf("after runs before the module steps its output reads: %q", names)
	}
	if r := stepOf(t, run, "h1", "module.prep.step.restart"); r.Status != report.StatusChanged || !slices.Equal(r.NotifiedBy, []string{`step.module.prep.step.install["pkg-munge"]`}) {
		t.Errorf("module handler: %s %q", r.Status, r.NotifiedBy)
	}
	if r := stepOf(t, run, "h1", "module.other.step.restart"); r.Status != report.StatusSkipped {
		t.Errorf("other module's handler: %s", r.Status)
	}
	// The module's output reaches the runbook's step and output.
	if s.count("apply after") != 1 {
		t.Fatalf("after did not run: %q", s.ran)
	}
	after := stepOf(t, run, "h1", "after")
	if after.Outputs == nil || !strings.Contains(string(after.Outputs.Value), `"given":"pkg-munge"`) {
		t.Errorf("after's value from module.prep.installed: %+v", after.Outputs)
	}
	if o := run.Hosts[0].Outputs; len(o) != 1 || string(o[0].Value) != `"ok"` {
		t.Errorf("runbook output from a module output: %+v", o)
	}
	if p := stepOf(t, run, "h1", "module.prep.step.probe"); p.Outputs == nil || !strings.Contains(string(p.Outputs.Value), `"given":"module data"`) {
		t.Errorf("file() in a module reads the module's directory: %+v", p.Outputs)
	}
}

func moduleErr(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := writeTree(t, files)
	cfg, diags := config.ParseFile(filepath.Join(dir, "site.hcl"), steps.Registry{"fake": fakeKind{}})
	if !diags.HasErrors() {
		vars, d := cfg.ResolveVariables(nil, nil)
		diags = append(d, engine.Validate(cfg, vars)...)
	}
	if !diags.HasErrors() {
		_, d := engine.New(cfg, nil, engine.Options{})
		diags = append(diags, d...)
	}
	if !diags.HasErrors() {
		t.Fatal("no error")
	}
	return strings.ReplaceAll(diags.Error(), dir+"/", "")
}

func TestModuleInvalid(t *testing.T) {
	call := func(body string) string { return header + "module \"m\" {\n  source = \"./mod\"\n" + body + "}\n" }
	for name, c := range map[string]struct {
		files map[string]string
		want  string
	}{
		"missing source dir": {map[string]string{"site.hcl": call("")}, `site.hcl:5,12-19: Module source missing; Module "m": ./mod`},
		"not local":          {map[string]string{"site.hcl": header + "module \"m\" {\n  source = \"git::https://x\"\n}\n"}, `it must start with ./ or ../`},
		"cycle": {map[string]string{
			"site.hcl":   call(""),
			"mod/a.hcl":  "module \"again\" {\n  source = \"../mod2\"\n}\n",
			"mod2/b.hcl": "module \"back\" {\n  source = \"../mod\"\n}\n",
		}, `Module cycle; Module "back" calls ../mod, which is already being read: ./mod → ../mod2 → ../mod`},
		"unknown input": {map[string]string{
			"site.hcl":  call("  packges = []\n"),
			"mod/a.hcl": nodeprepModule,
		}, `site.hcl:6,3-10: Unsupported module input; Module "m" (./mod) declares no variable "packges". Did you mean "packages"?`},
		"missing input": {map[string]string{
			"site.hcl":  call(""),
			"mod/a.hcl": nodeprepModule,
		}, `Missing required module input; Module "m" (./mod) needs packages = …`},
		"wrong type": {map[string]string{
			"site.hcl":  call("  packages = \"munge\"\n"),
			"mod/a.hcl": nodeprepModule,
		}, `site.hcl:6,14-21: Invalid value for module input; Module "m": the value of packages does not match its variable's type list of string`},
		"step result as input": {map[string]string{
			"site.hcl":  call("  packages = [step.x.value]\n") + "step \"fake\" \"x\" {\n  id = \"x\"\n}\n",
			"mod/a.hcl": nodeprepModule,
		}, `Invalid reference in module input`},
		"undeclared output": {map[string]string{
			"site.hcl":  call("  packages = []\n") + "output \"x\" {\n  value = module.m.nope\n}\n",
			"mod/a.hcl": nodeprepModule,
		}, `Reference to undeclared module output; Module "m" (./mod) has no output "nope"`},
		"module refers to runbook step": {map[string]string{
			"site.hcl":  call("") + "step \"fake\" \"outer\" {\n  id = \"o\"\n}\n",
			"mod/a.hcl": "step \"fake\" \"inner\" {\n  id    = \"i\"\n  value = step.outer.value\n}\n",
		}, `mod/a.hcl:3,11-27: Reference to undeclared step; No step "outer" is declared in module "module.m" (./mod).`},
		"runbook block in a module": {map[string]string{
			"site.hcl":  call(""),
			"mod/a.hcl": "runbook \"x\" {\n}\n",
		}, `mod/a.hcl:1,1-8: Unsupported block type`},
	} {
		t.Run(name, func(t *testing.T) {
			if got := moduleErr(t, c.files); !strings.Contains(got, c.want) {
				t.Errorf("error:\n%s\nwant it to contain:\n%s", got, c.want)
			}
		})
	}
}
