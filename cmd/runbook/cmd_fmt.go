package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/hcllimits"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/spf13/cobra"
)

// stdinName is what fmt - calls standard input, in diagnostics and
// diffs, as terraform fmt - does.
const stdinName = "<stdin>"

func newFmtCmd() *cobra.Command {
	var check, write, diff bool
	cmd := &cobra.Command{
		Use:   "fmt [PATH...|-]",
		Short: "Rewrite runbooks in the canonical HCL style",
		Long: `fmt formats .hcl files (directories are searched recursively). Without
flags it prints the formatted text; -w rewrites files; -check lists files
that need formatting and exits 1 if any do.

-diff prints, instead of the formatted text, a unified diff from old/PATH
to new/PATH of each file that needs formatting (git apply and patch -p1
take it), and exits 0. With -w it also rewrites the files, listing each
before its diff (as terraform fmt -diff does); with -check it lists them
and shows their diffs, and exits 1 if any needs formatting (as terraform
fmt -check -diff does): the form for a pre-commit hook. Only -check makes
"needs formatting" an error: exit 1, where Terraform exits 3, because 3 is
runbook's "invalid input" (a syntax error), so a hook tells the two apart.

"-" formats standard input to standard output, for editors, as terraform
fmt - does: -diff prints the diff (old/<stdin> to new/<stdin>) instead;
-check prints nothing (unless with -diff) and exits 1 if the text is not
formatted; -w cannot be given.`,
		Example: "  runbook fmt -check runbooks/\n  runbook fmt -w runbooks/phase2.hcl\n  runbook fmt -check -diff runbooks/  # in a pre-commit hook: names and diffs, exit 1\n  runbook fmt - < phase2.hcl          # in an editor: formatted text on stdout",
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			for _, a := range args {
				if a == "-" && len(args) > 1 {
					return usageError(cmd, "fmt: - (standard input) cannot be given with other paths")
				}
			}
			if len(args) == 1 && args[0] == "-" {
				return fmtStdin(cmd, check, write, diff)
			}
			if len(args) == 0 {
				args = []string{"."}
			}
			files, err := hclFiles(args)
			if err != nil {
				return exitWith(exitInvalid, "%v", err)
			}
			unformatted := 0
			for _, f := range files {
				src, err := os.ReadFile(f)
				if err != nil {
					return exitWith(exitInvalid, "%v", err)
				}
				formatted, err := formatHCL(cmd.ErrOrStderr(), f, src)
				if err != nil {
					return err
				}
				changed := !bytes.Equal(src, formatted)
				switch {
				case check:
					if changed {
						unformatted++
						fmt.Fprintln(out, f)
						if diff {
							io.WriteString(out, unifiedDiff(f, src, formatted))
						}
					}
				case write:
					if changed {
						if err := os.WriteFile(f, formatted, 0o644); err != nil {
							return exitWith(exitFailed, "%v", err)
						}
						fmt.Fprintln(out, f)
						if diff {
							io.WriteString(out, unifiedDiff(f, src, formatted))
						}
					}
				case diff:
					if changed {
						io.WriteString(out, unifiedDiff(f, src, formatted))
					}
				default:
					out.Write(formatted)
				}
			}
			if unformatted > 0 {
				return exitWith(exitFailed, "%d file(s) need formatting; run runbook fmt -w", unformatted)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&check, "check", "c", false, "list files that are not formatted; exit 1 if any")
	cmd.Flags().BoolVarP(&write, "write", "w", false, "rewrite files in place")
	cmd.Flags().BoolVarP(&diff, "diff", "d", false, "print a unified diff of the changes instead of the formatted text")
	return cmd
}

// fmtStdin is fmt -: standard input formatted to standard output.
func fmtStdin(cmd *cobra.Command, check, write, diff bool) error {
	if write {
		return exitWith(exitInvalid, "fmt -w cannot rewrite standard input (-): leave -w out to print the formatted text")
	}
	src, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), hcllimits.MaxFileBytes+1))
	if err != nil {
		return exitWith(exitInvalid, "reading standard input: %v", err)
	}
	if len(src) > hcllimits.MaxFileBytes {
		return exitWith(exitInvalid, "standard input is larger than %d bytes, the most a runbook file may be", hcllimits.MaxFileBytes)
	}
	formatted, err := formatHCL(cmd.ErrOrStderr(), stdinName, src)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	changed := !bytes.Equal(src, formatted)
	switch {
	case diff:
		if changed {
			io.WriteString(out, unifiedDiff(stdinName, src, formatted))
		}
	case check:
	default:
		out.Write(formatted)
	}
	if changed && check {
		return exitWith(exitFailed, "standard input is not formatted")
	}
	return nil
}

// formatHCL is src in the canonical style, or an exit 3 after printing
// its syntax errors (with snippets: the parser holds the source, so
// standard input gets them too).
func formatHCL(stderr io.Writer, name string, src []byte) ([]byte, error) {
	p := hclparse.NewParser()
	if _, diags := p.ParseHCL(src, name); diags.HasErrors() {
		printDiags(stderr, &config.Config{Parser: p}, diags)
		return nil, exitWith(exitInvalid, "%s has syntax errors; not formatted", name)
	}
	return hclwrite.Format(src), nil
}

// unifiedDiff is the diff from old/NAME to new/NAME, as terraform fmt
// -diff names the sides, so git apply and patch -p1 take it.
func unifiedDiff(name string, old, new []byte) string {
	name = diffName(name)
	return steps.UnifiedDiff("old/"+name, "new/"+name, old, new)
}

// diffName is how a diff names a file: as Terraform names it, relative
// to the working directory when it is under it ("./a.hcl" and
// "$PWD/a.hcl" are "a.hcl"), and never with a leading slash, so patch -p1
// and git apply find it under old/ and new/.
func diffName(name string) string {
	if name == stdinName {
		return name
	}
	if filepath.IsAbs(name) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, name); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
				name = rel
			}
		}
	}
	return strings.TrimLeft(filepath.ToSlash(filepath.Clean(name)), "/")
}

func hclFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(path, ".hcl") {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
