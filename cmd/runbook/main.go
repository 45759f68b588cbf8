// Command runbook turns a hand-run HPC guide into code: validate, plan and
// apply HCL runbooks on hosts reached locally or over SSH, and keep a
// completion checklist backed by evidence.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, also documented in README.md.
const (
	exitOK      = 0
	exitFailed  = 1 // a step failed or a host could not be reached
	exitChanges = 2 // plan --detailed-exitcode: changes pending
	exitInvalid = 3 // invalid runbook, variables, inventory or flags
	exitSIGINT  = 130
	exitSIGTERM = 143
)

// exitError carries an exit code up to main; its message (if any) has
// already been printed or is printed once there.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitWith(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

var version = "0.1.0-dev"

func main() {
	// A run's live heap is small (a few MB at 50 hosts); the default GOGC
	// lets the heap double it between collections. 50 keeps peak RSS ~5 MB
	// lower for ~0.02 ms of CPU per host-task. GOGC in the environment wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) (code int) {
	// No stack trace ever reaches a user: a bug becomes one line and exit 1.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "runbook: internal error: %v (please report this)\n", r)
			code = exitFailed
		}
	}()
	root := newRootCmd()
	root.SetArgs(goStyleFlags(args))
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, "runbook: "+ee.msg)
		}
		return ee.code
	}
	// cobra's own errors: unknown flags, wrong argument counts.
	fmt.Fprintln(os.Stderr, "runbook: "+err.Error())
	return exitInvalid
}

// goStyleFlags accepts Go/Terraform-style single-dash long flags
// (`fmt -check`, `-auto-approve`) by doubling the dash; runbook defines no
// combinable one-letter flags, so nothing is lost.
func goStyleFlags(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		name, _, _ := strings.Cut(a, "=")
		if len(name) > 2 && name[0] == '-' && name[1] != '-' && isFlagName(name[1:]) {
			out[i] = "-" + a
		}
	}
	return out
}

func isFlagName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '-') {
			return false
		}
	}
	return true
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "runbook",
		Short: "Provision HPC clusters from HCL runbooks, with an evidence-backed checklist",
		Long: `runbook runs HCL runbooks on the local host or over SSH: plan shows what
would change, apply makes it so and records a completion checklist ticked
only on evidence gathered in that run.`,
		Example: `  runbook validate runbooks/phase2.hcl
  runbook plan runbooks/phase2.hcl -i inventory.hcl
  runbook apply runbooks/phase2.hcl -i inventory.hcl --auto-approve
  runbook checklist runbooks/phase2.hcl`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newValidateCmd(), newFmtCmd(), newChecklistCmd(), newPlanCmd(), newApplyCmd(),
		newInventoryCmd(), newGraphCmd(), newVersionCmd(), newCompletionCmd(), newReportCmd(), newRunsCmd())
	root.PersistentFlags().BoolVar(&noColor, "no-color", false, "never colour the output (as does setting NO_COLOR)")
	registerCompletions(root)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print runbook's version",
		Example: "  runbook version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "runbook "+version)
			return nil
		},
	}
}
