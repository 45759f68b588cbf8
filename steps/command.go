package steps

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// command runs a command that changes something. `creates` (a path) and
// `unless` (a read-only command) make it idempotent: when the path exists
// or unless succeeds, the step is already satisfied and nothing runs.
type commandKind struct{}

func init() { register("command", commandKind{}) }

func (commandKind) Spec() hcldec.ObjectSpec {
	s := shellSpec()
	s["creates"] = &hcldec.AttrSpec{Name: "creates", Type: cty.String}
	s["unless"] = &hcldec.AttrSpec{Name: "unless", Type: cty.String}
	return s
}

func (commandKind) ReadOnly() bool { return false }

func (commandKind) Decode(cfg cty.Value) (Step, error) {
	sc, err := decodeShell(cfg)
	if err != nil {
		return nil, err
	}
	s := &commandStep{sc: sc}
	for name, dst := range map[string]*string{"creates": &s.creates, "unless": &s.unless} {
		if v := cfg.GetAttr(name); !v.IsNull() {
			if err := gocty.FromCtyValue(v, dst); err != nil {
				return nil, &AttrError{Attr: name, Err: err}
			}
		}
	}
	return s, nil
}

type commandStep struct {
	sc      shellCommand
	creates string
	unless  string
}

func (s *commandStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	if s.creates != "" {
		res, err := ex.Run(ctx, transport.Command{Argv: []string{"test", "-e", s.creates}, Become: ex.Become()})
		if err != nil {
			return Proposal{}, err
		}
		if res.ExitCode == 0 {
			return s.satisfied(fmt.Sprintf("already satisfied (creates: %s exists)", s.creates)), nil
		}
	}
	if s.unless != "" {
		res, err := ex.Run(ctx, transport.Command{Line: s.unless, Become: ex.Become()})
		if err != nil {
			return Proposal{}, err
		}
		if res.ExitCode == 0 {
			return s.satisfied(fmt.Sprintf("already satisfied (unless: `%s` succeeded)", s.unless)), nil
		}
	}
	return Proposal{Action: Run, Summary: "will run: " + s.sc.display(), Commands: []string{transport.Display(s.sc.command(ex.Become()))}}, nil
}

func (s *commandStep) satisfied(why string) Proposal {
	return Proposal{Action: NoOp, Summary: why, Outputs: map[string]cty.Value{
		"stdout": cty.StringVal(""), "stderr": cty.StringVal(""), "exit_code": cty.NumberIntVal(0),
		"lines": cty.ListValEmpty(cty.String),
	}}
}

func (s *commandStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	res, err := ex.Run(ctx, s.sc.command(ex.Become()))
	if err != nil {
		return Outcome{}, err
	}
	out, perr := s.sc.outputs(res)
	if !s.sc.exitOK(res.ExitCode) {
		return Outcome{Outputs: out}, exitFailure(s.sc.display(), res)
	}
	if perr != nil {
		return Outcome{Changed: true, Outputs: out}, &Failure{Msg: fmt.Sprintf("`%s`: %v", s.sc.display(), perr)}
	}
	return Outcome{Changed: true, Summary: "ran: " + s.sc.display(), Outputs: out}, nil
}
