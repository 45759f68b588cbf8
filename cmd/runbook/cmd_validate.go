package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine"
	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	var vf varFlags
	var inventoryPath string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a runbook (and its inventory) without contacting any host",
		Long: `validate parses the runbook, resolves variables, checks references, the
step graph and each step's attributes, and prints diagnostics with file:line.
It also loads the inventory plan would use (-i, else $RUNBOOK_INVENTORY, else
inventory.hcl beside the runbook) and checks that the runbook's hosts are in it.

--json prints the diagnostics to stdout in the shape of terraform validate
-json (valid, error_count, warning_count, diagnostics with range and
snippet), for editors and CI; nothing goes to stderr. The exit code is the
same: 0 valid, 3 invalid.`,
		Example: "  runbook validate runbooks/phase2.hcl --var account=hpc-users\n  runbook validate runbooks/phase2.hcl -i inventory.hcl\n  runbook validate runbooks/phase2.hcl --json | jq '.diagnostics[].range'",
		Args:    oneArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				return validateJSON(cmd.OutOrStdout(), args[0], &vf, inventoryPath)
			}
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
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the diagnostics as JSON, in the shape of terraform validate -json")
	return cmd
}

// validateJSON is validate --json: the same checks, in the same order,
// each stage only when the one before found no error, with every
// diagnostic (warnings too) and every other error reported in the JSON
// and nothing on stderr.
func validateJSON(w io.Writer, path string, vf *varFlags, inventoryPath string) error {
	l, cfg, diags, secrets := readRunbook(path, vf)
	out := jsonDiags(cfg, diags, secrets...)
	if l != nil {
		diags := engine.Validate(l.cfg, l.vars)
		out = append(out, jsonDiags(l.cfg, diags, l.secrets...)...)
		if !diags.HasErrors() {
			// The inventory's diagnostics are hidden from the runbook's
			// secrets too (the text output has no need: it prints them
			// without any value of the runbook's).
			inv, idiags, err := readInventory(inventoryPath, path)
			if err == nil && !idiags.HasErrors() {
				_, err = selectHosts(inv, l, nil)
			}
			if err != nil {
				idiags = append(idiags, errorDiagnostic(err))
			}
			out = append(out, jsonDiags(l.cfg, idiags, l.secrets...)...)
		}
	}
	doc := newValidateOutput(out)
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return exitWith(exitFailed, "%v", err)
	}
	if _, err := fmt.Fprintln(w, string(b)); err != nil {
		return exitWith(exitFailed, "%v", err)
	}
	if !doc.Valid {
		return exitWith(exitInvalid, "")
	}
	return nil
}

// errorDiagnostic is an error that is no diagnostic (no inventory where
// -i points, runbook hosts the inventory lacks) as a diagnostic without a
// range, as Terraform's JSON reports such errors: its first line the
// summary, the rest the detail.
func errorDiagnostic(err error) *hcl.Diagnostic {
	msg := err.Error()
	var ee *exitError
	if errors.As(err, &ee) {
		msg = ee.msg
	}
	summary, detail, _ := strings.Cut(msg, "\n")
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail}
}
