package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newGraphCmd() *cobra.Command {
	var vf varFlags
	var dot bool
	cmd := &cobra.Command{
		Use:     "graph FILE",
		Short:   "Print the step graph (text, or DOT for Graphviz)",
		Example: "  runbook graph runbooks/phase2.hcl\n  runbook graph --dot runbooks/phase2.hcl | dot -Tsvg > phase2.svg",
		Args:    oneArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := loadRunbook(cmd.ErrOrStderr(), args[0], &vf)
			if err != nil {
				return err
			}
			order, diags := l.cfg.Order()
			if diags.HasErrors() {
				l.printDiags(cmd.ErrOrStderr(), diags)
				return exitWith(exitInvalid, "")
			}
			g := l.cfg.Graph()
			out := cmd.OutOrStdout()
			if dot {
				fmt.Fprintf(out, "digraph %q {\n  rankdir=TB;\n", l.cfg.Runbook.Name)
				for _, st := range order {
					fmt.Fprintf(out, "  %q [label=%q];\n", st.Name, st.Kind+"\\n"+st.Name)
					for _, d := range g.Dependencies(st.Name) {
						fmt.Fprintf(out, "  %q -> %q;\n", d, st.Name)
					}
				}
				fmt.Fprintln(out, "}")
				return nil
			}
			for i, st := range order {
				deps := g.Dependencies(st.Name)
				after := ""
				if len(deps) > 0 {
					after = "  ← " + strings.Join(deps, ", ")
				}
				fmt.Fprintf(out, "%2d. %s %s%s\n", i+1, st.Kind, st.Name, after)
			}
			return nil
		},
	}
	vf.register(cmd)
	cmd.Flags().BoolVar(&dot, "dot", false, "print Graphviz DOT")
	return cmd
}
