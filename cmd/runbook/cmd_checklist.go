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
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "checklist FILE",
		Short: "Print the blank completion checklist a person would tick by hand",
		Long: `checklist prints the completion checklist of a runbook, unticked, as Markdown
(--json: as JSON, {"runbook", "title", "items"}), for a person running the
guide by hand.`,
		Example: `  runbook checklist runbooks/phase2.hcl
  runbook checklist runbooks/phase2.hcl --lang ko --json`,
		Args: oneArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch f := strings.ToLower(format); {
			case f == "json":
				asJSON = true
			case f != "md" && f != "markdown":
				return exitWith(exitInvalid, "--format is md or json, not %q (--json prints JSON)", format)
			case asJSON && cmd.Flags().Changed("format"):
				return exitWith(exitInvalid, "--json and --format %s disagree: give one", format)
			}
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
			if asJSON {
				b, _ := json.MarshalIndent(map[string]any{"runbook": l.cfg.Runbook.Name, "title": title, "items": items}, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
			} else {
				fmt.Fprint(cmd.OutOrStdout(), report.Blank(title, items))
			}
			return nil
		},
	}
	vf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checklist as JSON")
	// The spelling before --json, as plan, apply and runs spell it: kept
	// working, out of the help.
	cmd.Flags().StringVar(&format, "format", "md", "md or json")
	_ = cmd.Flags().MarkDeprecated("format", "use --json (Markdown is the default)")
	cmd.Flags().StringVar(&lang, "lang", "en", "language of the checklist lines, when the runbook has several (en, ko)")
	return cmd
}
