package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/evidence"
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
	// ansible is -e: --var under Ansible's name, refusing the Ansible
	// forms --var does not take rather than reading them wrong.
	ansible bool
}

func (o orderedVar) String() string { return "" }
func (o orderedVar) Type() string {
	if o.file {
		return "file"
	}
	return "name=value"
}
func (o orderedVar) Set(s string) error {
	if o.ansible {
		if err := checkExtraVar(s); err != nil {
			return err
		}
	}
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
	cmd.Flags().VarP(orderedVar{flags: v, ansible: true}, "extra-vars", "e", "--var, for Ansible users: one name=value each (repeatable)")
}

// extraVarsWords finds a second name=value in one -e value.
var extraVarsWords = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=\S*\s+[A-Za-z_][A-Za-z0-9_]*=`)

// checkExtraVar refuses what Ansible's -e takes and --var does not, so an
// Ansible habit is an error rather than a variable set to the wrong text.
func checkExtraVar(s string) error {
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "@"):
		return fmt.Errorf("-e @FILE (a YAML or JSON file in Ansible) is not read: give -e name=value, or the variables in an HCL file with --var-file")
	case strings.HasPrefix(t, "{") || strings.HasPrefix(t, "["):
		return fmt.Errorf("-e takes name=value, not JSON: give one -e per variable (a list or object value is written in HCL: -e 'nodes=[\"n1\",\"n2\"]')")
	case extraVarsWords.MatchString(t):
		name, value, _ := strings.Cut(t, "=")
		return fmt.Errorf("-e takes one name=value, not several as in Ansible: this would set %s to %q; give one -e per variable, or --var to set such a value", name, value)
	}
	return nil
}

// loaded is a parsed runbook with its variable values.
type loaded struct {
	cfg  *config.Config
	vars map[string]cty.Value
	// secrets are the values of its sensitive variables, as resolved and
	// as they were given, for printDiags to hide.
	secrets []string
}

// printDiags prints diagnostics about l's runbook with the values of its
// sensitive variables hidden.
func (l *loaded) printDiags(w io.Writer, diags hcl.Diagnostics) {
	printDiags(w, l.cfg, diags, l.secrets...)
}

// loadRunbook parses the runbook and resolves its variables, printing any
// diagnostics; an error means exit 3.
func loadRunbook(stderr io.Writer, path string, vf *varFlags) (*loaded, error) {
	l, cfg, diags, secrets := readRunbook(path, vf)
	printDiags(stderr, cfg, diags, secrets...)
	if l == nil {
		return nil, exitWith(exitInvalid, "")
	}
	return l, nil
}

// readRunbook is loadRunbook without the printing (validate --json reports
// the diagnostics as JSON): the diagnostics, and what printDiags needs to
// hide secrets in them, the config and the secrets; l is nil when the
// diagnostics hold errors.
func readRunbook(path string, vf *varFlags) (l *loaded, cfg *config.Config, diags hcl.Diagnostics, secrets []string) {
	cfg, diags = config.ParseFile(path, steps.Builtin())
	if diags.HasErrors() {
		return nil, cfg, diags, nil
	}
	vars, d := cfg.ResolveVariables(vf.sources, os.Environ())
	diags = append(diags, d...)
	secrets = varSourceSecrets(cfg, vf.sources, vars)
	if !diags.HasErrors() {
		// Lint errors too: a value that would change a command plan runs.
		diags = append(diags, cfg.Lint(vars)...)
	}
	if diags.HasErrors() {
		return nil, cfg, diags, secrets
	}
	return &loaded{cfg: cfg, vars: vars, secrets: secrets}, cfg, diags, secrets
}

// printDiags renders diagnostics with file:line:col and a source snippet;
// colour only on a terminal and never with NO_COLOR. The secrets, and the
// values of sensitive variables the diagnostics carry, are redacted in
// their text and masked in the snippets (diagRedactor): CI logs keep what
// validate and plan print.
func printDiags(w io.Writer, cfg *config.Config, diags hcl.Diagnostics, secrets ...string) {
	if len(diags) == 0 {
		return
	}
	red := diagRedactor(cfg, diags, secrets)
	shown := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		shown[i] = redactDiag(d, red)
	}
	diags = shown
	width, color := 0, false
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		color = os.Getenv("NO_COLOR") == "" && !noColor && os.Getenv("TERM") != "dumb"
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil {
			width = wd
		}
	}
	files, binary := diagSources(cfg, diags, red)
	wr := hcl.NewDiagnosticTextWriter(w, files, uint(width), color)

	// A binary file makes an error of nearly every byte: print the first
	// few diagnostics of a binary file, and of each kind (same summary and
	// detail) elsewhere, and count the rest in one line.
	type alike struct {
		severity              hcl.DiagnosticSeverity
		summary, detail, file string
	}
	keyOf := func(d *hcl.Diagnostic) alike {
		if d.Subject != nil && binary[d.Subject.Filename] {
			return alike{severity: d.Severity, file: d.Subject.Filename}
		}
		return alike{severity: d.Severity, summary: d.Summary, detail: d.Detail}
	}
	byKey := map[alike][]*hcl.Diagnostic{}
	for _, d := range diags {
		byKey[keyOf(d)] = append(byKey[keyOf(d)], d)
	}
	seen := map[alike]int{}
	for _, d := range diags {
		k := keyOf(d)
		if seen[k]++; seen[k] > maxAlike {
			continue
		}
		_ = wr.WriteDiagnostic(d)
		if seen[k] < maxAlike || len(byKey[k]) <= maxAlike {
			continue
		}
		rest := byKey[k][maxAlike:]
		kind := "errors"
		if d.Severity == hcl.DiagWarning {
			kind = "warnings"
		}
		if k.file != "" {
			fmt.Fprintf(w, "… and %d more %s in %s, which is not a text file (it contains NUL bytes): is it the file you meant?\n\n", len(rest), kind, k.file)
		} else {
			fmt.Fprintf(w, "… and %d more %q %s like it%s.\n\n", len(rest), d.Summary, kind, locations(rest))
		}
	}
}

// diagSources is the source of every file diagnostics point at, as a
// diagnostic may show it: secrets masked and control characters replaced,
// byte for byte; binary names the files that are not text.
func diagSources(cfg *config.Config, diags hcl.Diagnostics, red *evidence.Redactor) (files map[string]*hcl.File, binary map[string]bool) {
	files = map[string]*hcl.File{}
	if cfg != nil && cfg.Parser != nil {
		for name, f := range cfg.Parser.Files() {
			files[name] = f
		}
	}
	addSourcesFromDisk(files, diags)
	binary = map[string]bool{}
	for name, f := range files {
		if f != nil && looksBinary(f.Bytes) {
			binary[name] = true
		}
		files[name] = printable(masked(f, red))
	}
	return files, binary
}

// locations is where diagnostics point, compactly: ", at a.hcl lines 4,
// 9 and 12; b.hcl line 3" (at most 20 lines, then "…").
func locations(diags []*hcl.Diagnostic) string {
	var files []string
	lines := map[string][]string{}
	n := 0
	for _, d := range diags {
		if d.Subject == nil {
			continue
		}
		if n++; n > 20 {
			break
		}
		f := d.Subject.Filename
		if _, ok := lines[f]; !ok {
			files = append(files, f)
		}
		lines[f] = append(lines[f], strconv.Itoa(d.Subject.Start.Line))
	}
	if len(files) == 0 {
		return ""
	}
	parts := make([]string, len(files))
	for i, f := range files {
		ls := lines[f]
		switch len(ls) {
		case 1:
			parts[i] = f + " line " + ls[0]
		default:
			parts[i] = f + " lines " + strings.Join(ls[:len(ls)-1], ", ") + " and " + ls[len(ls)-1]
		}
	}
	s := ", at " + strings.Join(parts, "; ")
	if n > 20 {
		s += ", …"
	}
	return s
}

// maxAlike is how many diagnostics with the same summary and detail are
// printed; the others are counted in one line.
const maxAlike = 3

// looksBinary is git's test: a NUL byte in the first 8000.
func looksBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0
}

// printable returns f with every control character and invalid UTF-8
// byte of its source replaced by '?', byte for byte so that diagnostic
// ranges still point at the same places: a snippet of a binary or
// hostile file must not drive the terminal. f itself is left alone (it
// may be the parser's).
func printable(f *hcl.File) *hcl.File {
	if f == nil {
		return nil
	}
	var out []byte
	b := f.Bytes
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		bad := r == utf8.RuneError && size == 1 ||
			r < 0x20 && r != '\t' && r != '\n' && !(r == '\r' && i+1 < len(b) && b[i+1] == '\n') ||
			r >= 0x7f && r < 0xa0
		if bad {
			if out == nil {
				out = bytes.Clone(b)
			}
			for j := i; j < i+size; j++ {
				out[j] = '?'
			}
		}
		i += size
	}
	if out == nil {
		return f
	}
	c := *f
	c.Bytes = out
	return &c
}

// masked returns f with every secret red knows replaced byte for byte
// (masked), so that diagnostic ranges still point at the same places; f
// itself is left alone.
func masked(f *hcl.File, red *evidence.Redactor) *hcl.File {
	if f == nil {
		return nil
	}
	m := red.Mask(string(f.Bytes))
	if m == string(f.Bytes) {
		return f
	}
	c := *f
	c.Bytes = []byte(m)
	return &c
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

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
