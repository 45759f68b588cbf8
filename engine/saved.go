package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/runbook-hpc/runbook/engine/planfile"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
)

// A saved plan is applied exactly as it was shown, as Terraform applies
// one: on exactly its hosts and steps (its target set; a host or step it
// does not show is refused, and so is a host of it that is not targeted
// now), every probe run again first, and any difference from what the plan
// saw, or from the commands it showed, refuses the apply before anything
// changes. Then each step's fresh proposal is held to the saved action,
// field changes and commands as it runs.

// StalePlanError: the apply would not do exactly what the saved plan
// showed: the hosts no longer look as they did when it was made, or the
// apply targets hosts or steps outside it. Nothing was applied.
type StalePlanError struct {
	Drifts []planfile.Drift
}

func (e *StalePlanError) Error() string {
	if e.Outside() {
		return fmt.Sprintf("the saved plan does not cover this apply: %d host(s) or step(s) outside it", len(e.Drifts))
	}
	return fmt.Sprintf("the saved plan is stale: %d difference(s) from the state it was made from", len(e.Drifts))
}

// Outside reports whether every difference is a host or step outside the
// saved plan's target set (none is a change of state).
func (e *StalePlanError) Outside() bool {
	for _, d := range e.Drifts {
		if !d.Outside {
			return false
		}
	}
	return len(e.Drifts) > 0
}

// expectation is what a saved plan showed for one step on one host.
type expectation struct {
	status   string
	action   string
	changes  []steps.Change
	commands []string
}

// checkSaved holds the targets to the saved plan's, re-plans and compares
// with the saved plan. On refusal run holds the fresh plan's hosts (the
// record shows what was found; none when the targets alone refused it)
// with mode plan; on success it is left for the apply walk.
func (e *Engine) checkSaved(ctx context.Context, targets []Target, opts ApplyOptions, run *report.Run) (map[stepKey]expectation, error) {
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Host.Name
	}
	// Before any host is contacted: a host the plan never showed is not
	// even probed.
	if drifts := planfile.CompareHosts(opts.Saved, names); len(drifts) > 0 {
		run.Mode, run.Result, run.Ended = string(ModePlan), ResultFailed, time.Now().UTC()
		return nil, &StalePlanError{Drifts: drifts}
	}
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
	// Every step instance of the saved plan; the walk refuses any other.
	expected := map[stepKey]expectation{}
	for _, h := range opts.Saved.Hosts {
		for _, st := range h.Steps {
			expected[stepKey{h.Name, st.Name}] = expectation{st.Status, st.Action, st.Changes, st.Commands}
		}
	}
	run.Hosts = nil
	return expected, nil
}

// checkExpected refuses, before the step changes anything, a proposal that
// is not what the saved plan showed: a step it does not show, one it
// showed as not running, or another action, field changes or commands.
// A step the plan showed as known only after apply runs as proposed.
func (r *stepRun) checkExpected(p steps.Proposal) error {
	if r.expected == nil {
		return nil // not a saved plan
	}
	host := r.hostWalk.rec.Name
	want, ok := r.expected[stepKey{host, r.st.Name}]
	if !ok {
		return &steps.Failure{
			Msg:  fmt.Sprintf("step %s on host %s is not in the saved plan; it was not run", r.st.Name, host),
			Hint: "a saved plan runs only the hosts and steps it showed; run plan again and review the new plan",
		}
	}
	switch want.status {
	case report.StatusUnknown:
		return nil
	case report.StatusPlanned, report.StatusUnchanged, report.StatusOK:
	default:
		return &steps.Failure{
			Msg:  fmt.Sprintf("the saved plan showed step %s on host %s as %s, and it would run now; it was not run", r.st.Name, host, want.status),
			Hint: "someone changed the cluster since the plan; run plan again",
		}
	}
	red := r.e.opts.Redactor
	cmds := make([]string, len(p.Commands))
	for i, c := range p.Commands {
		cmds[i] = red.Redact(c)
	}
	var changes []steps.Change
	for _, c := range p.Changes {
		changes = append(changes, steps.Change{Field: c.Field, Current: red.Redact(c.Current), Desired: red.Redact(c.Desired)})
	}
	switch {
	case want.action != p.Action.String() || !slices.Equal(want.changes, changes):
		return &steps.Failure{
			Msg:  fmt.Sprintf("the state changed since the saved plan: it planned %s %v, now %s %v; it was not run", want.action, want.changes, p.Action, changes),
			Hint: "someone changed the cluster during the apply; run plan again",
		}
	case !slices.Equal(want.commands, cmds):
		return &steps.Failure{
			Msg: fmt.Sprintf("the commands differ from the ones the saved plan showed; it was not run\n  plan: %s\n  now:  %s",
				planfile.DescribeCommands(want.commands), planfile.DescribeCommands(cmds)),
			Hint: "something the commands are made from changed since the plan; run plan again",
		}
	}
	return nil
}
