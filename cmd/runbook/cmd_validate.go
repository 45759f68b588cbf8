package main

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	var vf varFlags
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a runbook without contacting any host",
		Long: `validate parses the runbook, resolves variables, checks references, the
step graph and each step's attributes, and prints diagnostics with file:line.`,
		Example: "  runbook validate runbooks/phase2.hcl --var account=hpc-users",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := loadRunbook(cmd.ErrOrStderr(), args[0], &vf)
			if err != nil {
				return err
			}
			if diags := validateSteps(l); diags.HasErrors() {
				printDiags(cmd.ErrOrStderr(), l.cfg, diags)
				return exitWith(exitInvalid, "")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: runbook %q is valid (%d steps).\n", args[0], l.cfg.Runbook.Name, len(l.cfg.Steps))
			return nil
		},
	}
	vf.register(cmd)
	return cmd
}

// validateSteps checks what can be checked before any host is contacted:
// the graph, checklists, common attributes and each kind's attributes with
// step results unknown.
func validateSteps(l *loaded) hcl.Diagnostics {
	_, diags := l.cfg.Order()
	if diags.HasErrors() {
		return diags
	}
	scope, d := eval.StaticScope(l.cfg, l.vars)
	diags = append(diags, d...)
	if d.HasErrors() {
		return diags
	}
	for _, st := range l.cfg.Steps {
		_, d := scope.Checklist(st)
		diags = append(diags, d...)
		_, _, d = scope.EvalCommon(st)
		diags = append(diags, d...)
		val, d := scope.EvalKind(st)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if v, ok := st.KindImpl.(steps.Validator); ok {
			if err := v.Validate(val); err != nil {
				diags = append(diags, eval.KindError(st, err))
			}
		} else if val.IsWhollyKnown() {
			if _, err := st.KindImpl.Decode(val); err != nil {
				diags = append(diags, eval.KindError(st, err))
			}
		}
	}
	return diags
}
