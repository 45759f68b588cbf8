package main

import (
	"fmt"

	"github.com/runbook-hpc/runbook/engine"
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
			if diags := engine.Validate(l.cfg, l.vars); diags.HasErrors() {
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
