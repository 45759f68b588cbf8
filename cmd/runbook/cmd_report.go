package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/spf13/cobra"
)

func newReportCmd() *cobra.Command {
	var format, stateDir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "report [RUN]",
		Short: "Print a recorded run as Markdown, HTML, JUnit XML or JSON",
		Long: `report renders the record of a past plan or apply (its report.json) again,
to standard output: --format md is the completion checklist (checklist.md),
html the self-contained page (report.html), junit the CI test report
(junit.xml); --json prints the record itself, as plan, apply, runs and
checklist print JSON with --json.

RUN is a run ID as "runbook runs" lists it, a unique prefix of one, a run
directory or a report.json; without RUN, the latest run under --state-dir.`,
		Example: `  runbook report                                    # the latest run's checklist
  runbook report --format html > phase2.html
  runbook report 20260314T092653.000Z-phase2 --format junit > junit.xml
  runbook report .runbook/runs/20260314T092653.000Z-phase2 --json | jq .result`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !validFormat(format) {
				return exitWith(exitInvalid, "--format is one of md, html, junit (--json prints the record as JSON), not %q", format)
			}
			switch f := strings.ToLower(format); {
			case f == "json":
				// The spelling before --json: it still works.
				fmt.Fprintln(cmd.ErrOrStderr(), "Flag --format json has been deprecated, use --json")
			case asJSON && cmd.Flags().Changed("format"):
				return exitWith(exitInvalid, "--json and --format %s disagree: give one", format)
			}
			if asJSON {
				format = "json"
			}
			ref := ""
			if len(args) == 1 {
				ref = args[0]
			}
			dir, err := report.Resolve(filepath.Join(stateDir, "runs"), ref)
			if errors.Is(err, report.ErrNoRun) {
				return exitWith(exitInvalid, "%v", err)
			}
			if err != nil {
				return exitWith(exitFailed, "%v", err)
			}
			r, err := report.Load(dir)
			if errors.Is(err, fs.ErrNotExist) {
				return exitWith(exitInvalid, "%s holds no run record (report.json)", dir)
			}
			if err != nil {
				return exitWith(exitFailed, "%v", err)
			}
			out, err := report.Render(r, format)
			if err != nil {
				return exitWith(exitFailed, "%v", err)
			}
			if _, err := cmd.OutOrStdout().Write(out); err != nil {
				return exitWith(exitFailed, "%v", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "md", "md, html or junit")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the record (report.json) as JSON")
	cmd.Flags().StringVar(&stateDir, "state-dir", ".runbook", "where run records are kept (runs/<time>-<runbook>/)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{
		"md\tcompletion checklist (Markdown)", "html\tself-contained page", "junit\tJUnit XML for CI",
	}, cobra.ShellCompDirectiveNoFileComp))
	cmd.ValidArgsFunction = completeRunIDs(&stateDir)
	return cmd
}

func validFormat(f string) bool {
	switch strings.ToLower(f) {
	case "md", "markdown", "html", "junit", "xml", "json":
		return true
	}
	return false
}

// completeRunIDs completes RUN with the recorded run IDs, newest first.
func completeRunIDs(stateDir *string) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		runs, _ := report.List(filepath.Join(*stateDir, "runs"))
		var ids []string
		for i := len(runs) - 1; i >= 0; i-- {
			desc := "unreadable"
			if r := runs[i].Run; r != nil {
				desc = r.Mode + " " + r.Result
			}
			ids = append(ids, runs[i].ID+"\t"+desc)
		}
		return ids, cobra.ShellCompDirectiveNoFileComp
	}
}
