package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/planfile"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/inventory"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"
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
	showReads     bool
	forceHandlers bool
	acceptNewKeys bool
	insecureKeys  bool
	verbose       bool
	forceUnlock   bool
	resume        string
	metricsFile   string
	// remoteUser and privateKey (-u, --private-key) replace every host's
	// login user and key.
	remoteUser string
	privateKey string
}

// register adds the flags plan and apply share; apply also gets the ones
// that only mean something when changes are made.
func (f *runFlags) register(cmd *cobra.Command, apply bool) {
	f.vars.register(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&f.inventory, "inventory", "i", "", "inventory: a file (HCL, Ansible INI or YAML), a directory of Ansible inventory files, or a comma list of hosts (ctl1,ctl2,); default $RUNBOOK_INVENTORY, then inventory.hcl beside the runbook, else the local host")
	fl.StringVarP(&f.remoteUser, "user", "u", "", "log in as this `user` on every host, whatever the inventory and ~/.ssh/config say")
	fl.StringVar(&f.privateKey, "private-key", "", "use this private key `file` on every host, instead of the inventory's and ~/.ssh/config's")
	fl.StringSliceVar(&f.limit, "limit", nil, "run only on these hosts or groups")
	fl.IntVar(&f.forks, "forks", 10, "hosts worked on in parallel")
	fl.StringVar(&f.stateDir, "state-dir", ".runbook", "where run records are written (runs/<time>-<runbook>/)")
	fl.StringVar(&f.lang, "lang", "en", "language of checklist lines")
	fl.BoolVar(&f.keepGoing, "keep-going", false, "after a failure, go on with steps that do not depend on it")
	fl.BoolVar(&f.showCommands, "show-commands", false, "show the exact commands apply would run")
	fl.BoolVar(&f.showReads, "show-reads", false, "show what read-only steps read (their results), as output blocks would")
	fl.BoolVar(&f.acceptNewKeys, "accept-new-host-keys", false, "trust a host key seen for the first time and add it to known_hosts (OpenSSH's accept-new); a changed key is still refused")
	fl.BoolVar(&f.insecureKeys, "insecure-ignore-host-keys", false, "DANGEROUS: do not verify SSH host keys at all")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "show full command output on failure")
	if !apply {
		return
	}
	fl.StringVar(&f.metricsFile, "metrics-file", "", "also write the run's outcome in Prometheus text format to this file, for node_exporter's textfile collector (e.g. /var/lib/node_exporter/textfile/phase2.prom)")
	fl.StringVar(&f.resume, "resume", "", "continue a failed run (its id or directory): steps it completed that would only run again (a test job) are not repeated; everything with a probe is re-checked")
	fl.BoolVar(&f.forceUnlock, "force-unlock", false, "remove a stale run lock left on the hosts by a crashed apply, then take it")
	fl.BoolVar(&f.forceHandlers, "force-handlers", false, "run notified handlers even when a step failed before them (without it they stay pending in the record, and --resume runs them)")
}

func newPlanCmd() *cobra.Command {
	var f runFlags
	var detailed, asJSON bool
	var out string
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "Show what apply would change, reading the live state; changes nothing",
		Long: `plan connects to each host, runs the read-only steps and every step's
probe, and prints what apply would do: + create, ~ modify (field by field),
= unchanged, > will run, ? known after apply.`,
		Example: `  runbook plan runbooks/phase2.hcl -i inventory.hcl --show-commands
  runbook plan runbooks/phase2.hcl -i inventory.hcl --out phase2.plan   # then: runbook apply phase2.plan
  runbook plan runbooks/phase2.hcl --json | jq .summary`,
		Args: oneArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := prepare(cmd, args[0], &f, engine.ModePlan, nil)
			if err != nil {
				return err
			}
			defer s.stopSignals()
			// Live progress only on a terminal: in logs the plan itself is the record.
			var onEvent func(engine.Event)
			done := func() {}
			if f, ok := cmd.ErrOrStderr().(*os.File); ok && isTerminal(f) {
				onEvent, done = s.watch(f, nil)
			}
			s.run = s.eng.Plan(s.ctx, s.targets, engine.PlanOptions{Forks: f.forks, KeepGoing: f.keepGoing, OnEvent: onEvent, Run: s.run})
			s.noteLeft()
			s.finish()
			done()
			pf, err := s.planFile()
			if err != nil {
				return exitWith(exitFailed, "%v", err)
			}
			pf.Limit = f.limit
			if asJSON {
				b, _ := json.MarshalIndent(pf, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
			} else {
				printPlan(cmd.OutOrStdout(), s.run, f.showCommands)
				printLeft(cmd.OutOrStdout(), s.run)
				printReads(cmd.OutOrStdout(), s.run, f.showReads)
				printOutputs(cmd.OutOrStdout(), s.run)
			}
			if err := outputErrors(s.run); err != nil {
				return err
			}
			if code := s.exitCode(); code != exitOK {
				return exitWith(code, "plan failed; the record is in %s", s.dir)
			}
			if out != "" {
				if err := planfile.Write(out, pf); err != nil {
					return exitWith(exitFailed, "writing the plan: %v", err)
				}
				if !asJSON {
					fmt.Fprintf(cmd.OutOrStdout(), "Saved the plan to %s, for %s; `runbook apply %s` applies exactly it there, after checking nothing changed.\n", out, pf.MadeFor(), out)
				}
			}
			if detailed && pf.Summary.Pending() {
				return exitWith(exitChanges, "")
			}
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when nothing would change, 2 when changes are pending, 1 on error")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON (format: docs/plan-format.md)")
	cmd.Flags().StringVar(&out, "out", "", "save the plan to this file, to apply exactly it later with 'runbook apply FILE'")
	return cmd
}

func newApplyCmd() *cobra.Command {
	var f runFlags
	var autoApprove, asJSON bool
	cmd := &cobra.Command{
		Use:   "apply FILE|PLAN",
		Short: "Run the runbook and record a checklist backed by evidence",
		Long: `apply runs the steps on each host in graph order, stops at the first
failure (--keep-going to continue with independent steps), and writes
report.json and checklist.md under --state-dir, also when a step fails or
the run is interrupted.

Given a plan saved with plan --out, apply runs on exactly the hosts and
steps the plan shows (--limit cannot be given with it). It first re-runs
every probe; if any host's state, or any command, differs from what the
plan showed, it prints what changed and applies nothing. Otherwise it
applies exactly the saved actions and commands.`,
		Example: `  runbook apply runbooks/phase2.hcl -i inventory.hcl --auto-approve
  runbook apply phase2.plan
  runbook apply runbooks/phase2.hcl -i inventory.hcl --auto-approve --json | jq -c 'select(.type == "step_finished")'`,
		Args: oneArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			// --json: stdout carries only the events; human text goes to stderr.
			human, events := cmd.OutOrStdout(), io.Writer(nil)
			if asJSON {
				human, events = cmd.ErrOrStderr(), cmd.OutOrStdout()
			}
			var saved *planfile.File
			path := args[0]
			if planfile.IsPlanFile(path) {
				// As Terraform: a saved plan applies with the values it was
				// made with; new values need a new plan.
				if len(f.vars.sources) > 0 {
					return exitWith(exitInvalid, "%s is a saved plan: it applies with the variable values it was made with, so --var and --var-file cannot be given; run plan again with them", path)
				}
				var err error
				if saved, err = loadSavedPlan(path, &f); err != nil {
					return err
				}
				// Its hosts are its target set, as Terraform applies a
				// saved plan's targets: --limit would choose others.
				if f.limit != nil {
					return exitWith(exitInvalid, "%s is a saved plan: it runs on exactly the hosts it was made for, %s, so --limit cannot be given; run plan again with it", path, saved.MadeFor())
				}
				path = saved.RunbookFile
			} else if !autoApprove && !isTerminal(os.Stdin) {
				return exitWith(exitInvalid, "apply needs --auto-approve when not run from a terminal")
			}
			s, err := prepare(cmd, path, &f, engine.ModeApply, saved)
			if err != nil {
				return err
			}
			defer s.stopSignals()
			if saved == nil && !autoApprove {
				s.run = s.eng.Plan(s.ctx, s.targets, engine.PlanOptions{Forks: f.forks, KeepGoing: f.keepGoing, Run: s.run})
				s.noteLeft()
				printPlan(human, s.run, f.showCommands)
				printLeft(human, s.run)
				printReads(human, s.run, f.showReads)
				if s.run.Result == engine.ResultFailed || s.ctx.Err() != nil {
					s.run.Mode = string(engine.ModePlan)
					s.finish()
					return exitWith(s.exitCode(), "the plan failed; nothing was applied")
				}
				if !s.run.PlanCounts().Pending() {
					fmt.Fprintln(human, "Nothing to change; running the read-only steps again to gather evidence.")
				}
				if !confirm(human, os.Stdin) {
					// Recorded as what it was: a plan, nothing applied.
					s.run.Mode = string(engine.ModePlan)
					s.finish()
					return exitWith(exitFailed, "apply cancelled; nothing was changed")
				}
				s.run = s.eng.NewRun(engine.ModeApply)
				s.run.ID = filepath.Base(s.dir)
			}
			onEvent, done := s.watch(cmd.ErrOrStderr(), events)
			run, err := s.eng.Apply(s.ctx, s.targets, engine.ApplyOptions{
				Forks: f.forks, KeepGoing: f.keepGoing, OnEvent: onEvent, Run: s.run,
				Saved: saved, Resume: s.resume,
				Lock: true, ForceUnlock: f.forceUnlock, ForceHandlers: f.forceHandlers,
			})
			s.run = run
			s.finish()
			done()
			var stale *engine.StalePlanError
			switch {
			case errors.As(err, &stale) && stale.Outside():
				fmt.Fprintf(human, "This apply would run on hosts or steps the saved plan did not show; it was made for %s. Nothing was applied.\n\n", saved.MadeFor())
				for _, d := range stale.Drifts {
					fmt.Fprintf(human, "  - %s\n", d)
				}
				fmt.Fprintln(human, "\nRun `runbook plan` again for these hosts and review the new plan.")
				return exitWith(exitFailed, "saved plan refused: outside its hosts and steps")
			case errors.As(err, &stale):
				fmt.Fprintf(human, "The saved plan is stale: the state it was made from has changed. Nothing was applied.\n\n")
				for _, d := range stale.Drifts {
					fmt.Fprintf(human, "  - %s\n", d)
				}
				fmt.Fprintln(human, "\nRun `runbook plan` again and review the new plan.")
				return exitWith(exitFailed, "stale plan refused")
			case errors.Is(err, engine.ErrInvalidResume):
				return exitWith(exitInvalid, "--resume %v", err)
			case err != nil:
				return exitWith(s.exitCode(), "%v", err)
			}
			printReads(human, s.run, f.showReads)
			printOutputs(human, s.run)
			printSummary(human, s.run, s.dir, f.verbose)
			if err := outputErrors(s.run); err != nil && s.exitCode() == exitOK {
				return err
			}
			if code := s.exitCode(); code != exitOK {
				return exitWith(code, "")
			}
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "apply without showing the plan and asking")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write newline-delimited JSON events to stdout (format: docs/events.md); human output goes to stderr")
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
	metricsFile   string
	metricsErr    error // writing metricsFile failed: exit 1
	loaded        *loaded
	runbookPath   string
	inventoryPath string
	ctx           context.Context
	eng           *engine.Engine
	run           *report.Run
	targets       []engine.Target
	// resume is the earlier run --resume continues (schema checked).
	resume      *report.Run
	dir         string
	signal      os.Signal
	stopSignals func()
	mu          sync.Mutex
}

// prepare loads everything, creates the run directory (refusing to start
// when it cannot be written) and installs the signal handler that turns
// SIGINT/SIGTERM into a cancelled context.
func prepare(cmd *cobra.Command, path string, f *runFlags, mode engine.Mode, saved *planfile.File) (*session, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	var fixed map[string]cty.Value
	if saved != nil {
		// A saved plan fixes the variables: its values are used (a
		// required variable needs no --var), and sensitive ones, saved
		// only as digests, must be given again (RUNBOOK_VAR_…), unchanged.
		vals, err := saved.Values()
		if err != nil {
			return nil, exitWith(exitInvalid, "%v", err)
		}
		fixed = vals
	}
	vars := f.vars
	if fixed != nil {
		vars.sources = append([]config.VarSource{{Values: fixed}}, vars.sources...)
	}
	l, err := loadRunbook(cmd.ErrOrStderr(), path, &vars)
	if err != nil {
		return nil, err
	}
	if saved != nil {
		if problems := saved.CheckVariables(l.vars); len(problems) > 0 {
			return nil, exitWith(exitInvalid, "the variables differ from the saved plan's: %s", strings.Join(problems, "; "))
		}
	}
	if diags := engine.Validate(l.cfg, l.vars); diags.HasErrors() {
		l.printDiags(cmd.ErrOrStderr(), diags)
		return nil, exitWith(exitInvalid, "")
	}
	redactor := evidence.NewRedactor(sensitiveValues(l)...)
	targets, secrets, invPath, err := resolveTargets(cmd, l, path, f)
	if err != nil {
		return nil, err
	}
	if saved != nil {
		if targets, err = savedTargets(targets, saved); err != nil {
			return nil, err
		}
	}
	for _, s := range secrets {
		redactor.Add(s)
	}
	eng, diags := engine.New(l.cfg, l.vars, engine.Options{Redactor: redactor, Lang: f.lang, Hint: transport.Hint, Version: version})
	if diags.HasErrors() {
		l.printDiags(cmd.ErrOrStderr(), diags)
		return nil, exitWith(exitInvalid, "")
	}
	// One host's steps run one after the other, each mostly waiting for a
	// round trip; with more Ps, Go's scheduler spins the idle ones at every
	// wake-up. One P cut the CPU of a 1 host × 200 steps apply by ~20 %
	// (docs/performance.md). GOMAXPROCS in the environment wins.
	if len(targets) == 1 && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}

	s := &session{eng: eng, targets: targets, loaded: l, runbookPath: path, inventoryPath: invPath, metricsFile: f.metricsFile}
	s.run = eng.NewRun(mode)
	s.dir = report.RunDir(filepath.Join(f.stateDir, "runs"), s.run.Started, s.run.Runbook)
	s.run.ID = filepath.Base(s.dir)
	if f.resume != "" {
		prev, err := engine.LoadRun(filepath.Join(f.stateDir, "runs"), f.resume)
		if err != nil {
			return nil, exitWith(exitInvalid, "--resume %s: %v", f.resume, err)
		}
		// Refused here, before a plan is shown and a record started.
		if err := eng.CheckResume(prev); err != nil {
			return nil, exitWith(exitInvalid, "--resume %v", err)
		}
		s.resume = prev
	}
	if err := report.Prepare(s.dir); err != nil {
		return nil, exitWith(exitFailed, "refusing to start: the run record cannot be written (%v)", err)
	}
	// A record exists from the first moment, so even a killed run leaves one.
	s.run.Result = engine.ResultRunning
	if err := report.WriteRunning(s.dir, s.run); err != nil {
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
	if s.run.Redactor == nil {
		s.run.Redactor = s.eng.Redactor()
	}
	if err := report.Write(s.dir, s.run); err != nil {
		fmt.Fprintf(os.Stderr, "runbook: could not write the run record: %v\n", err)
	}
	if s.metricsFile != "" && s.run.Mode == string(engine.ModeApply) {
		if err := report.WriteMetrics(s.metricsFile, s.run); err != nil {
			// What watches the file would go on seeing the last run's
			// outcome: the command fails (exit 1), whatever the run did.
			s.metricsErr = err
			fmt.Fprintf(os.Stderr, "runbook: could not write the metrics file: %v\n", err)
		}
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
	case s.run.Result == engine.ResultFailed || s.run.Result == engine.ResultInterrupted:
		return exitFailed
	case s.metricsErr != nil:
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
		if val, ok := l.vars[v.Name]; ok {
			out = append(out, secretStrings(val)...)
		}
	}
	return out
}

// planFile turns the session's plan run into a saved/JSON plan.
func (s *session) planFile() (*planfile.File, error) {
	sensitive := map[string]bool{}
	for _, v := range s.loaded.cfg.Variables {
		sensitive[v.Name] = v.Sensitive
	}
	pf, err := planfile.Build(s.run, s.runbookPath, "", s.loaded.vars, sensitive)
	if err != nil || s.inventoryPath == "" {
		return pf, err
	}
	// An inventory may be a directory, a host list, or a file with
	// group_vars/ beside it: its digest covers all it is read from.
	pf.Inventory, pf.InventorySHA256, err = inventory.SourceDigest(s.inventoryPath)
	return pf, err
}

// loadSavedPlan reads a saved plan and checks that the runbook and the
// inventory are the files the plan was made from.
func loadSavedPlan(path string, f *runFlags) (*planfile.File, error) {
	saved, err := planfile.Read(path)
	if err != nil {
		return nil, exitWith(exitInvalid, "%v", err)
	}
	sum, err := planfile.FileSHA256(saved.RunbookFile)
	if err != nil {
		return nil, exitWith(exitInvalid, "the plan's runbook: %v", err)
	}
	if sum != saved.RunbookSHA256 {
		return nil, exitWith(exitFailed, "refusing to apply %s: %s changed since the plan was made; run plan again", path, saved.RunbookFile)
	}
	if saved.Inventory == "" && f.inventory != "" {
		return nil, exitWith(exitInvalid, "%s was made without an inventory, for the local host; -i cannot be given with it; run plan again with -i", path)
	}
	if f.inventory == "" {
		f.inventory = saved.Inventory
	}
	if saved.Inventory != "" {
		_, sum, err := inventory.SourceDigest(f.inventory)
		if err != nil {
			return nil, exitWith(exitInvalid, "the plan's inventory: %v", err)
		}
		if sum != saved.InventorySHA256 {
			return nil, exitWith(exitFailed, "refusing to apply %s: the inventory %s differs from the plan's; run plan again", path, f.inventory)
		}
	}
	return saved, nil
}

// savedTargets narrows the runbook's hosts to the saved plan's: its hosts
// are exactly what apply runs on. A host of the plan that is not among
// the runbook's hosts in the inventory now refuses the apply.
func savedTargets(targets []engine.Target, saved *planfile.File) ([]engine.Target, error) {
	byName := map[string]engine.Target{}
	for _, t := range targets {
		byName[t.Host.Name] = t
	}
	out := make([]engine.Target, 0, len(saved.Hosts))
	for _, name := range saved.HostNames() {
		t, ok := byName[name]
		if !ok {
			return nil, exitWith(exitFailed, "refusing to apply the saved plan: its host %s is not one of the runbook's hosts in the inventory now; run plan again", name)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, exitWith(exitInvalid, "the saved plan names no host")
	}
	return out, nil
}

// secretStrings is every primitive inside a sensitive value as text (a
// sensitive number or list is as secret as a string).
func secretStrings(v cty.Value) []string {
	if !v.IsWhollyKnown() || v.IsNull() {
		return nil
	}
	switch {
	case v.Type() == cty.String:
		return []string{v.AsString()}
	case v.Type() == cty.Number:
		return []string{v.AsBigFloat().Text('f', -1)}
	case v.Type() == cty.Bool:
		return nil // "true" is no secret worth shredding every report for
	case v.CanIterateElements():
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, secretStrings(e)...)
		}
		return out
	}
	return nil
}
