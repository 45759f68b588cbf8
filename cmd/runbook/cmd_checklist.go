package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/spf13/cobra"
)

func newChecklistCmd() *cobra.Command {
	var vf varFlags
	var format, lang string
	cmd := &cobra.Command{
		Use:   "checklist FILE",
		Short: "Print the blank completion checklist a person would tick by hand",
		Example: `  runbook checklist runbooks/phase2.hcl
  runbook checklist runbooks/phase2.hcl --lang ko --format json`,
		Args: oneArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := loadRunbook(cmd.ErrOrStderr(), args[0], &vf)
			if err != nil {
				return err
			}
			eng, diags := engine.New(l.cfg, l.vars, engine.Options{Redactor: evidence.NewRedactor(sensitiveValues(l)...), Lang: lang})
			if diags.HasErrors() {
				l.printDiags(cmd.ErrOrStderr(), diags)
				return exitWith(exitInvalid, "")
			}
			items, diags := eng.Blank()
			if diags.HasErrors() {
				l.printDiags(cmd.ErrOrStderr(), diags)
				return exitWith(exitInvalid, "")
			}
			title := l.cfg.Runbook.Title
			if title == "" {
				title = l.cfg.Runbook.Name
			}
			switch strings.ToLower(format) {
			case "md", "markdown":
				fmt.Fprint(cmd.OutOrStdout(), report.Blank(title, items))
			case "json":
				b, _ := json.MarshalIndent(map[string]any{"runbook": l.cfg.Runbook.Name, "title": title, "items": items}, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
			default:
				return exitWith(exitInvalid, "--format is md or json, not %q", format)
			}
			return nil
		},
	}
	vf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "md", "md or json")
	cmd.Flags().StringVar(&lang, "lang", "en", "language of the checklist lines, when the runbook has several (en, ko)")
	return cmd
}
