package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"
)

func newFmtCmd() *cobra.Command {
	var check, write bool
	cmd := &cobra.Command{
		Use:   "fmt [PATH...]",
		Short: "Rewrite runbooks in the canonical HCL style",
		Long: `fmt formats .hcl files (directories are searched recursively). Without
flags it prints the formatted text; -w rewrites files; -check lists files
that need formatting and exits 1 if any do.`,
		Example: "  runbook fmt -check runbooks/\n  runbook fmt -w runbooks/phase2.hcl",
		RunE: func(cmd *cobra.Command, args []string) error {
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
				if _, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos); diags.HasErrors() {
					printDiags(cmd.ErrOrStderr(), nil, diags)
					return exitWith(exitInvalid, "%s has syntax errors; not formatted", f)
				}
				out := hclwrite.Format(src)
				changed := !bytes.Equal(src, out)
				switch {
				case check:
					if changed {
						unformatted++
						fmt.Fprintln(cmd.OutOrStdout(), f)
					}
				case write:
					if changed {
						if err := os.WriteFile(f, out, 0o644); err != nil {
							return exitWith(exitFailed, "%v", err)
						}
						fmt.Fprintln(cmd.OutOrStdout(), f)
					}
				default:
					cmd.OutOrStdout().Write(out)
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
	return cmd
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
