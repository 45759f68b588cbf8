package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
)

// assert checks a condition on values already known (variables, results
// of earlier steps) and fails with the author's message when it is false.
type assertKind struct{}

func init() { register("assert", assertKind{}) }

func (assertKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"condition":     &hcldec.AttrSpec{Name: "condition", Type: cty.Bool, Required: true},
		"error_message": &hcldec.AttrSpec{Name: "error_message", Type: cty.String, Required: true},
	}
}

func (assertKind) ReadOnly() bool { return true }

func (assertKind) Decode(cfg cty.Value) (Step, error) {
	c := cfg.GetAttr("condition")
	if c.IsNull() {
		return nil, &AttrError{Attr: "condition", Err: fmt.Errorf("condition is null")}
	}
	return &assertStep{holds: c.True(), message: cfg.GetAttr("error_message").AsString()}, nil
}

type assertStep struct {
	holds   bool
	message string
}

func (s *assertStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	if !s.holds {
		return Proposal{}, &Failure{Msg: "assertion failed: " + s.message}
	}
	// The note is read in a checklist's evidence: the author's message
	// describes the failure, so it is what the assertion ruled out.
	ex.Note("assertion held (it would have failed with: %s)", strings.Join(strings.Fields(s.message), " "))
	return Proposal{Action: Read, Summary: "assertion holds", Outputs: map[string]cty.Value{"holds": cty.True}}, nil
}

func (s *assertStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	return Outcome{Outputs: p.Outputs}, nil
}
