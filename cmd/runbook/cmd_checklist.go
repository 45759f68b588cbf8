package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/spf13/cobra"
)

func newChecklistCmd() *cobra.Command {
	var vf varFlags
	var format, lang string
	cmd := &cobra.Command{
		Use:   "checklist FILE",
		Short: "Print the blank completion checklist a person would tick by hand",
		Example: `  runbook checklist runbooks/phase2.hcl
  runbook checklist runbooks/phase2.hcl --lang ko --format json`,
		Args: oneArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := loadRunbook(cmd.ErrOrStderr(), args[0], &vf)
			if err != nil {
				return err
			}
			order, diags := l.cfg.Order()
			if diags.HasErrors() {
				printDiags(cmd.ErrOrStderr(), l.cfg, diags)
				return exitWith(exitInvalid, "")
			}
			// A host with no variables: try(host.vars.x, default) shows the
			// commands a plain host gets; the checklist names no host.
			scope, diags := eval.NewScope(l.cfg, l.vars, eval.Host{Name: "(any host)"})
			if diags.HasErrors() {
				printDiags(cmd.ErrOrStderr(), l.cfg, diags)
				return exitWith(exitInvalid, "")
			}
			redactor := evidence.NewRedactor(sensitiveValues(l)...)
			var items []report.BlankItem
			for _, st := range order {
				byLang, d := scope.Checklist(st)
				if d.HasErrors() {
					printDiags(cmd.ErrOrStderr(), l.cfg, d)
					return exitWith(exitInvalid, "")
				}
				title := st.Kind + " " + st.Name
				if c, _, d := scope.EvalCommon(st); !d.HasErrors() {
					title = c.Title
				}
				lines := eval.PickLanguage(byLang, lang)
				var proof []string
				if len(lines) > 0 {
					proof = proofCommands(scope, st, redactor)
				}
				for _, line := range lines {
					items = append(items, report.BlankItem{Text: redactor.Redact(line), Step: st.Name,
						Proof: redactor.Redact(title), Commands: proof})
				}
			}
			title := l.cfg.Runbook.Title
			if title == "" {
				title = l.cfg.Runbook.Name
			}
			switch strings.ToLower(format) {
			case "md", "markdown":
				fmt.Fprint(cmd.OutOrStdout(), report.Blank(title, items))
			case "json":
				b, _ := json.MarshalIndent(map[string]any{"runbook": l.cfg.Runbook.Name, "title": title, "items": items}, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
			default:
				return exitWith(exitInvalid, "--format is md or json, not %q", format)
			}
			return nil
		},
	}
	vf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "md", "md or json")
	cmd.Flags().StringVar(&lang, "lang", "en", "language of the checklist lines, when the runbook has several (en, ko)")
	return cmd
}

// proofCommands returns the commands a step runs to prove its checklist
// lines, as far as they are known before any host is contacted. The step
// is planned against hosts that run nothing: one refuses every command,
// one answers every command with exit 0 and no output, one with exit 1.
// What the step asks of them (a check's command line, a kind's probe) and
// what it then plans to run (a create's add, a guarded command's command,
// a test job's sbatch) are its commands, in order, without repeats. Steps
// whose attributes depend on other steps' results give none.
func proofCommands(scope *eval.Scope, st *config.Step, red *evidence.Redactor) []string {
	common, known, diags := scope.EvalCommon(st)
	if diags.HasErrors() || !known {
		return nil
	}
	cfgVal, diags := scope.EvalKind(st)
	if diags.HasErrors() || !cfgVal.IsWhollyKnown() {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(c string) {
		if c = red.Redact(c); !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	for _, host := range []offline{{refuse: true}, {exit: 0}, {exit: 1}} {
		step, err := st.KindImpl.Decode(cfgVal)
		if err != nil {
			return nil
		}
		rec := &evidence.Recorder{Transport: host, Redactor: red, BecomeOn: common.Become}
		var planned []string
		func() {
			// A kind is not written to be planned offline; whatever it
			// does with these answers, the checklist is still printed.
			defer func() { _ = recover() }()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if p, err := step.Plan(ctx, rec); err == nil {
				planned = p.Commands
			}
		}()
		for _, c := range rec.Commands() {
			add(c.Command)
		}
		for _, c := range planned {
			add(c)
		}
	}
	return out
}

// offline is a host that runs nothing; proofCommands plans steps against
// it to learn their commands.
type offline struct {
	refuse bool
	exit   int
}

var errOffline = errors.New("not connected: printing the checklist contacts no host")

func (o offline) Run(context.Context, transport.Command) (transport.Result, error) {
	if o.refuse {
		return transport.Result{}, errOffline
	}
	return transport.Result{ExitCode: o.exit}, nil
}
func (offline) Describe() string { return "offline" }
func (offline) Close() error     { return nil }
