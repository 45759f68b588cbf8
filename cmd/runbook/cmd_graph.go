package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/config"

	"github.com/spf13/cobra"
)

// graphDeps are the instances a step instance waits for: what it reads
// and its depends_on.
func graphDeps(st *config.Step) []string {
	deps := append(slices.Clone(st.Refs), st.DependsOn...)
	sort.Strings(deps)
	return slices.Compact(deps)
}

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
			// The graph as it runs: for_each steps as their instances.
			x, diags := engine.Expand(l.cfg, l.vars)
			if diags.HasErrors() {
				l.printDiags(cmd.ErrOrStderr(), diags)
				return exitWith(exitInvalid, "")
			}
			order, _ := x.Order()
			out := cmd.OutOrStdout()
			if dot {
				fmt.Fprintf(out, "digraph %q {\n  rankdir=TB;\n", l.cfg.Runbook.Name)
				for _, st := range order {
					label := st.Kind + "\\n" + st.Name
					shape := ""
					if st.Handler {
						label += "\\n(handler)"
						shape = ", shape=box, style=dashed"
					}
					fmt.Fprintf(out, "  %q [label=%q%s];\n", st.Name, label, shape)
					for _, d := range graphDeps(st) {
						fmt.Fprintf(out, "  %q -> %q;\n", d, st.Name)
					}
					for _, n := range st.NotifiedBy {
						fmt.Fprintf(out, "  %q -> %q [style=dashed, label=\"notify\"];\n", n, st.Name)
					}
				}
				fmt.Fprintln(out, "}")
				return nil
			}
			for i, st := range order {
				after := ""
				if deps := graphDeps(st); len(deps) > 0 {
					after = "  ← " + strings.Join(deps, ", ")
				}
				if st.Handler {
					after += "  (handler, notified by " + strings.Join(st.NotifiedBy, ", ") + ")"
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
