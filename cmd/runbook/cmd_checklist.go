package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/runbook-hpc/runbook/engine/eval"
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
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := loadRunbook(cmd.ErrOrStderr(), args[0], &vf)
			if err != nil {
				return err
			}
			order, diags := l.cfg.Order()
			if diags.HasErrors() {
				printDiags(cmd.ErrOrStderr(), l.cfg, diags)
				return exitWith(exitInvalid, "")
			}
			scope, diags := eval.StaticScope(l.cfg, l.vars)
			if diags.HasErrors() {
				printDiags(cmd.ErrOrStderr(), l.cfg, diags)
				return exitWith(exitInvalid, "")
			}
			var items []report.BlankItem
			for _, st := range order {
				byLang, d := scope.Checklist(st)
				if d.HasErrors() {
					printDiags(cmd.ErrOrStderr(), l.cfg, d)
					return exitWith(exitInvalid, "")
				}
				title := st.Kind + " " + st.Name
				if c, _, d := scope.EvalCommon(st); !d.HasErrors() {
					title = c.Title
				}
				for _, line := range eval.PickLanguage(byLang, lang) {
					items = append(items, report.BlankItem{Text: line, Step: st.Name, Proof: title})
				}
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
