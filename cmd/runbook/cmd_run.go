package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/spf13/cobra"
)

// runFlags are shared by plan and apply.
type runFlags struct {
	vars          varFlags
	inventory     string
	limit         []string
	forks         int
	stateDir      string
	lang          string
	keepGoing     bool
	showCommands  bool
	acceptNewKeys bool
	insecureKeys  bool
	verbose       bool
}

func (f *runFlags) register(cmd *cobra.Command) {
	f.vars.register(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&f.inventory, "inventory", "i", "", "inventory file (HCL or Ansible INI); default $RUNBOOK_INVENTORY, then inventory.hcl beside the runbook, else the local host")
	fl.StringSliceVar(&f.limit, "limit", nil, "run only on these hosts or groups")
	fl.IntVar(&f.forks, "forks", 10, "hosts worked on in parallel")
	fl.StringVar(&f.stateDir, "state-dir", ".runbook", "where run records are written (runs/<time>-<runbook>/)")
	fl.StringVar(&f.lang, "lang", "en", "language of checklist lines")
	fl.BoolVar(&f.keepGoing, "keep-going", false, "after a failure, go on with steps that do not depend on it")
	fl.BoolVar(&f.showCommands, "show-commands", false, "show the exact commands apply would run")
	fl.BoolVar(&f.acceptNewKeys, "accept-new-host-keys", false, "trust a host key seen for the first time and add it to known_hosts (OpenSSH's accept-new); a changed key is still refused")
	fl.BoolVar(&f.insecureKeys, "insecure-ignore-host-keys", false, "DANGEROUS: do not verify SSH host keys at all")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "show full command output on failure")
}

func newPlanCmd() *cobra.Command {
	var f runFlags
	var detailed bool
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "Show what apply would change, reading the live state; changes nothing",
		Long: `plan connects to each host, runs the read-only steps and every step's
probe, and prints what apply would do: + create, ~ modify (field by field),
= unchanged, > will run, ? known after apply.`,
		Example: "  runbook plan runbooks/phase2.hcl -i inventory.hcl --show-commands",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := prepare(cmd, args[0], &f, "plan")
			if err != nil {
				return err
			}
			defer s.stopSignals()
			s.eng.Plan(s.ctx, s.run, s.targets)
			s.finish()
			printPlan(cmd.OutOrStdout(), s.run, f.showCommands)
			if code := s.exitCode(); code != exitOK {
				return exitWith(code, "plan failed; the record is in %s", s.dir)
			}
			if detailed && pendingChanges(s.run) {
				return exitWith(exitChanges, "")
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when nothing would change, 2 when changes are pending, 1 on error")
	return cmd
}

func newApplyCmd() *cobra.Command {
	var f runFlags
	var autoApprove bool
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Run the runbook and record a checklist backed by evidence",
		Long: `apply runs the steps on each host in graph order, stops at the first
failure (--keep-going to continue with independent steps), and writes
report.json and checklist.md under --state-dir, also when a step fails or
the run is interrupted.`,
		Example: "  runbook apply runbooks/phase2.hcl -i inventory.hcl --auto-approve",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !autoApprove && !isTerminal(os.Stdin) {
				return exitWith(exitInvalid, "apply needs --auto-approve when not run from a terminal")
			}
			s, err := prepare(cmd, args[0], &f, "apply")
			if err != nil {
				return err
			}
			defer s.stopSignals()
			if !autoApprove {
				s.eng.Plan(s.ctx, s.run, s.targets)
				printPlan(cmd.OutOrStdout(), s.run, f.showCommands)
				if s.run.Result == "failed" || s.ctx.Err() != nil {
					s.run.Mode = "plan"
					s.finish()
					return exitWith(s.exitCode(), "the plan failed; nothing was applied")
				}
				if !pendingChanges(s.run) {
					fmt.Fprintln(cmd.OutOrStdout(), "Nothing to change; running the read-only steps again to gather evidence.")
				}
				if !confirm(cmd.OutOrStdout(), os.Stdin) {
					return exitWith(exitFailed, "apply cancelled; nothing was changed")
				}
				s.run = s.eng.NewRun("apply")
				s.run.ID = filepath.Base(s.dir)
			}
			s.watch(cmd.ErrOrStderr())
			s.eng.Apply(s.ctx, s.run, s.targets)
			s.finish()
			printSummary(cmd.OutOrStdout(), s.run, s.dir, f.verbose)
			if code := s.exitCode(); code != exitOK {
				return exitWith(code, "")
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "apply without showing the plan and asking")
	return cmd
}

func confirm(w io.Writer, r io.Reader) bool {
	fmt.Fprint(w, "\nApply these changes? [y/N] ")
	line, _ := bufio.NewReader(r).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

// session is one plan or apply invocation.
type session struct {
	ctx         context.Context
	eng         *engine.Engine
	run         *report.Run
	targets     []engine.Target
	dir         string
	signal      os.Signal
	stopSignals func()
	mu          sync.Mutex
}

// prepare loads everything, creates the run directory (refusing to start
// when it cannot be written) and installs the signal handler that turns
// SIGINT/SIGTERM into a cancelled context.
func prepare(cmd *cobra.Command, path string, f *runFlags, mode string) (*session, error) {
	l, err := loadRunbook(cmd.ErrOrStderr(), path, &f.vars)
	if err != nil {
		return nil, err
	}
	if diags := engine.Validate(l.cfg, l.vars); diags.HasErrors() {
		printDiags(cmd.ErrOrStderr(), l.cfg, diags)
		return nil, exitWith(exitInvalid, "")
	}
	eng, diags := engine.New(l.cfg, l.vars)
	if diags.HasErrors() {
		printDiags(cmd.ErrOrStderr(), l.cfg, diags)
		return nil, exitWith(exitInvalid, "")
	}
	redactor := evidence.NewRedactor(sensitiveValues(l)...)
	targets, secrets, err := resolveTargets(cmd, l, path, f)
	if err != nil {
		return nil, err
	}
	for _, s := range secrets {
		redactor.Add(s)
	}
	eng.Redactor = redactor
	eng.Lang = f.lang
	eng.Forks = f.forks
	eng.KeepGoing = f.keepGoing
	eng.Hint = transport.Hint

	s := &session{eng: eng, targets: targets}
	s.run = eng.NewRun(mode)
	s.dir = report.RunDir(filepath.Join(f.stateDir, "runs"), s.run.Started, s.run.Runbook)
	s.run.ID = filepath.Base(s.dir)
	if err := report.Prepare(s.dir); err != nil {
		return nil, exitWith(exitFailed, "refusing to start: the run record cannot be written (%v)", err)
	}
	// A record exists from the first moment, so even a killed run leaves one.
	s.run.Result = "running"
	if err := report.Write(s.dir, s.run); err != nil {
		return nil, exitWith(exitFailed, "refusing to start: the run record cannot be written (%v)", err)
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			s.mu.Lock()
			s.signal = sig
			s.mu.Unlock()
			fmt.Fprintf(os.Stderr, "\nrunbook: %s received: ending the running command, cleaning up and writing the report…\n", sig)
			cancel()
		case <-done:
		}
	}()
	s.ctx = ctx
	s.stopSignals = func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
	return s, nil
}

func (s *session) finish() {
	if s.run.Ended.IsZero() {
		s.run.Ended = time.Now().UTC()
	}
	if err := report.Write(s.dir, s.run); err != nil {
		fmt.Fprintf(os.Stderr, "runbook: could not write the run record: %v\n", err)
	}
}

func (s *session) exitCode() int {
	s.mu.Lock()
	sig := s.signal
	s.mu.Unlock()
	switch {
	case sig == syscall.SIGTERM:
		return exitSIGTERM
	case sig != nil:
		return exitSIGINT
	case s.run.Result == "failed" || s.run.Result == "interrupted":
		return exitFailed
	}
	return exitOK
}

func sensitiveValues(l *loaded) []string {
	var out []string
	for _, v := range l.cfg.Variables {
		if !v.Sensitive {
			continue
		}
		if val, ok := l.vars[v.Name]; ok && val.IsKnown() && !val.IsNull() && val.Type().FriendlyName() == "string" {
			out = append(out, val.AsString())
		}
	}
	return out
}
