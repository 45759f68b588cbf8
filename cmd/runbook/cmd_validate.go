package main

import (
	"fmt"
	"strings"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	var vf varFlags
	var inventoryPath string
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a runbook (and its inventory) without contacting any host",
		Long: `validate parses the runbook, resolves variables, checks references, the
step graph and each step's attributes, and prints diagnostics with file:line.
It also loads the inventory plan would use (-i, else $RUNBOOK_INVENTORY, else
inventory.hcl beside the runbook) and checks that the runbook's hosts are in it.`,
		Example: "  runbook validate runbooks/phase2.hcl --var account=hpc-users\n  runbook validate runbooks/phase2.hcl -i inventory.hcl",
		Args:    oneArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := loadRunbook(cmd.ErrOrStderr(), args[0], &vf)
			if err != nil {
				return err
			}
			if diags := engine.Validate(l.cfg, l.vars); diags.HasErrors() {
				l.printDiags(cmd.ErrOrStderr(), diags)
				return exitWith(exitInvalid, "")
			}
			inv, err := loadInventory(cmd.ErrOrStderr(), inventoryPath, args[0])
			if err != nil {
				return err
			}
			hosts, err := selectHosts(inv, l, nil)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: runbook %q is valid (%d steps).\n", args[0], l.cfg.Runbook.Name, len(l.cfg.Steps))
			if inv.Path != "" {
				names := make([]string, len(hosts))
				for i, h := range hosts {
					names[i] = h.Name
				}
				fmt.Fprintf(out, "%s: inventory is valid; the runbook runs on %d host(s): %s.\n", inv.Path, len(hosts), strings.Join(names, ", "))
			}
			return nil
		},
	}
	vf.register(cmd)
	cmd.Flags().StringVarP(&inventoryPath, "inventory", "i", "", "inventory file to check with the runbook (HCL or Ansible INI); default $RUNBOOK_INVENTORY, then inventory.hcl beside the runbook")
	return cmd
}
