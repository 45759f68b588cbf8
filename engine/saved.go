package engine

import (
	"context"
	"fmt"

	"github.com/runbook-hpc/runbook/engine/planfile"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
)

// A saved plan is applied exactly as it was shown: every probe runs again
// first, and any difference from what the plan saw refuses the apply
// before anything changes. Then each step's fresh proposal is held to the
// saved action and field changes.

// StalePlanError: the hosts no longer look as they did when the plan was
// made. Nothing was applied.
type StalePlanError struct {
	Drifts []planfile.Drift
}

func (e *StalePlanError) Error() string {
	return fmt.Sprintf("the saved plan is stale: %d difference(s) from the state it was made from", len(e.Drifts))
}

// expectation is what a saved plan promised for one step.
type expectation struct {
	action  string
	changes []steps.Change
}

// checkSaved re-plans and compares with the saved plan. On refusal run
// holds the fresh plan's hosts (the record shows what was found) with mode
// plan; on success it is left for the apply walk.
func (e *Engine) checkSaved(ctx context.Context, targets []Target, opts ApplyOptions, run *report.Run) (map[stepKey]expectation, error) {
	fresh := e.Plan(ctx, targets, PlanOptions{Forks: opts.Forks, KeepGoing: opts.KeepGoing})
	run.Hosts = fresh.Hosts
	if err := ctx.Err(); err != nil {
		run.Mode, run.Result, run.Ended = string(ModePlan), ResultInterrupted, fresh.Ended
		return nil, fmt.Errorf("interrupted while checking the saved plan: %w", err)
	}
	if drifts := planfile.Compare(opts.Saved, &planfile.File{Hosts: planfile.HostsOf(fresh)}); len(drifts) > 0 {
		run.Mode, run.Result, run.Ended = string(ModePlan), ResultFailed, fresh.Ended
		return nil, &StalePlanError{Drifts: drifts}
	}
	expected := map[stepKey]expectation{}
	for _, h := range opts.Saved.Hosts {
		for _, st := range h.Steps {
			if st.Status == report.StatusPlanned || st.Status == report.StatusUnchanged {
				expected[stepKey{h.Name, st.Name}] = expectation{st.Action, st.Changes}
			}
		}
	}
	run.Hosts = nil
	return expected, nil
}

// checkExpected refuses a proposal that is not what the saved plan showed.
func (r *stepRun) checkExpected(p steps.Proposal) error {
	want, ok := r.expected[stepKey{r.hostWalk.rec.Name, r.st.Name}]
	if !ok {
		return nil
	}
	same := want.action == p.Action.String() && len(want.changes) == len(p.Changes)
	for i := 0; same && i < len(want.changes); i++ {
		same = want.changes[i] == p.Changes[i]
	}
	if same {
		return nil
	}
	return &steps.Failure{
		Msg:  fmt.Sprintf("the state changed since the saved plan: it planned %s %v, now %s %v", want.action, want.changes, p.Action, p.Changes),
		Hint: "someone changed the cluster during the apply; run plan again",
	}
}
