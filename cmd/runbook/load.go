package main

import (
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/mattn/go-isatty"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/hcllimits"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/term"
)

// varFlags collects --var and --var-file in command-line order, because
// later ones win.
type varFlags struct {
	sources []config.VarSource
}

type orderedVar struct {
	flags *varFlags
	file  bool
}

func (o orderedVar) String() string { return "" }
func (o orderedVar) Type() string {
	if o.file {
		return "file"
	}
	return "name=value"
}
func (o orderedVar) Set(s string) error {
	if o.file {
		o.flags.sources = append(o.flags.sources, config.VarSource{File: s})
	} else {
		o.flags.sources = append(o.flags.sources, config.VarSource{Assign: s})
	}
	return nil
}

func (v *varFlags) register(cmd *cobra.Command) {
	cmd.Flags().Var(orderedVar{flags: v}, "var", "set a variable (repeatable; later values win)")
	cmd.Flags().Var(orderedVar{flags: v, file: true}, "var-file", "read variables from an HCL file (repeatable)")
}

// loaded is a parsed runbook with its variable values.
type loaded struct {
	cfg  *config.Config
	vars map[string]cty.Value
}

// loadRunbook parses the runbook and resolves its variables, printing any
// diagnostics; an error means exit 3.
func loadRunbook(stderr io.Writer, path string, vf *varFlags) (*loaded, error) {
	cfg, diags := config.ParseFile(path, steps.Builtin())
	if !diags.HasErrors() {
		vars, d := cfg.ResolveVariables(vf.sources, os.Environ())
		diags = append(diags, d...)
		if !diags.HasErrors() {
			diags = append(diags, cfg.Lint(vars)...)
			printDiags(stderr, cfg, diags)
			return &loaded{cfg: cfg, vars: vars}, nil
		}
	}
	printDiags(stderr, cfg, diags)
	return nil, exitWith(exitInvalid, "")
}

// printDiags renders diagnostics with file:line:col and a source snippet;
// colour only on a terminal and never with NO_COLOR.
func printDiags(w io.Writer, cfg *config.Config, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	width, color := 0, false
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		color = os.Getenv("NO_COLOR") == "" && !noColor && os.Getenv("TERM") != "dumb"
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil {
			width = wd
		}
	}
	files := map[string]*hcl.File{}
	if cfg != nil && cfg.Parser != nil {
		files = cfg.Parser.Files()
	}
	addSourcesFromDisk(files, diags)
	wr := hcl.NewDiagnosticTextWriter(w, files, uint(width), color)
	_ = wr.WriteDiagnostics(diags)
}

// addSourcesFromDisk reads the files diagnostics point at that no HCL
// parser holds (an Ansible INI inventory, a var file read by another
// parser), so every diagnostic gets its snippet, not "(source code not
// available)". Files past the parser's size cap are left out.
func addSourcesFromDisk(files map[string]*hcl.File, diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Subject == nil || d.Subject.Filename == "" {
			continue
		}
		name := d.Subject.Filename
		if _, ok := files[name]; ok {
			continue
		}
		files[name] = nil
		if fi, err := os.Stat(name); err != nil || !fi.Mode().IsRegular() || fi.Size() > hcllimits.MaxFileBytes {
			continue
		}
		if b, err := os.ReadFile(name); err == nil {
			files[name] = &hcl.File{Bytes: b}
		}
	}
	for name, f := range files {
		if f == nil {
			delete(files, name)
		}
	}
}

// noColor is set by the global --no-color flag.
var noColor bool

func isTerminal(f *os.File) bool { return isatty.IsTerminal(f.Fd()) }
