package steps

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
)

// check runs a read-only command and exposes its parsed output. It runs
// in plan too, so later steps can be planned on real values.
type checkKind struct{}

func init() { register("check", checkKind{}) }

func (checkKind) Spec() hcldec.ObjectSpec { return shellSpec() }
func (checkKind) ReadOnly() bool          { return true }

func (checkKind) Decode(cfg cty.Value) (Step, error) {
	sc, err := decodeShell(cfg)
	if err != nil {
		return nil, err
	}
	return &checkStep{sc: sc}, nil
}

type checkStep struct{ sc shellCommand }

func (s *checkStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	res, err := ex.Run(ctx, s.sc.command(ex.Become()))
	if err != nil {
		return Proposal{}, err
	}
	if !s.sc.exitOK(res.ExitCode) {
		return Proposal{}, exitFailure(s.sc.display(), res)
	}
	out, err := s.sc.outputs(res)
	if err != nil {
		return Proposal{}, &Failure{Msg: fmt.Sprintf("`%s`: %v", s.sc.display(), err)}
	}
	return Proposal{Action: Read, Summary: fmt.Sprintf("read: `%s` (exit %d)", s.sc.display(), res.ExitCode), Outputs: out}, nil
}

func (s *checkStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	return Outcome{Outputs: p.Outputs}, nil
}
