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
		Version:       version,
	}
	// --version prints what `runbook version` prints. It is declared here so
	// that cobra adds no -v shorthand (plan and apply use -v for --verbose).
	root.Flags().Bool("version", false, "print runbook's version (as runbook version does)")
	root.SetVersionTemplate("runbook {{.Version}}\n")
	root.AddCommand(newValidateCmd(), newFmtCmd(), newChecklistCmd(), newPlanCmd(), newApplyCmd(),
		newInventoryCmd(), newGraphCmd(), newVersionCmd(), newCompletionCmd(), newReportCmd(), newRunsCmd(), newManCmd())
	root.PersistentFlags().BoolVar(&noColor, "no-color", false, "never colour the output (as does setting NO_COLOR)")
	for _, c := range root.Commands() {
		// A command whose use line names one required argument ("plan
		// FILE") takes exactly that one; every other argument check shows
		// the usage line too, not cobra's "accepts 1 arg(s), received 0".
		if use := strings.Fields(c.Use); len(use) == 2 && !strings.HasPrefix(use[1], "[") {
			c.Args = oneArg
		} else if c.Args != nil {
			c.Args = withUsage(c.Args)
		}
	}
	registerCompletions(root)
	return root
}

// oneArg is the argument check of every command that takes one FILE (or
// one PLAN, one shell): a missing or extra argument is refused with the
// command's usage line.
func oneArg(cmd *cobra.Command, args []string) error {
	what := "an argument"
	if use := strings.Fields(cmd.Use); len(use) > 1 {
		what = use[1]
	}
	switch {
	case len(args) == 0:
		return usageError(cmd, "%s: missing the %s argument", cmd.Name(), what)
	case len(args) > 1:
		return usageError(cmd, "%s takes one %s argument, not %d (%s)", cmd.Name(), what, len(args), strings.Join(args, " "))
	}
	return nil
}

// withUsage adds the usage line to the errors of a cobra argument check.
func withUsage(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		err := check(cmd, args)
		var ee *exitError
		if err == nil || errors.As(err, &ee) {
			return err
		}
		return usageError(cmd, "%s: %v", cmd.Name(), err)
	}
}

func usageError(cmd *cobra.Command, format string, args ...any) error {
	return exitWith(exitInvalid, "%s\nUsage: %s\nRun '%s --help' for the flags and examples.",
		fmt.Sprintf(format, args...), cmd.UseLine(), cmd.CommandPath())
}
