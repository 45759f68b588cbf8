package engine

import (
	"fmt"
	"strings"

	"github.com/runbook-hpc/runbook/engine/report"
)

// NoteLeft records in run the steps prev (the last apply of this runbook)
// ran on the run's hosts that this runbook no longer has: an instance
// whose key left its for_each, a step or module taken out. Runbook has no
// state of what it made and no kind deletes, so it removes nothing; the
// plan says what is left instead of falling silent about it (Terraform
// would plan a destroy; an admin must at least be told).
func (e *Engine) NoteLeft(run, prev *report.Run) {
	if prev == nil || prev.Runbook != run.Runbook || prev.Mode != string(ModeApply) {
		return
	}
	now := map[string]bool{}
	for _, st := range e.order {
		now[st.Name] = true
	}
	targeted := map[string]bool{}
	for _, h := range run.Hosts {
		targeted[h.Name] = true
	}
	run.Left = nil
	for _, h := range prev.Hosts {
		if !targeted[h.Name] {
			continue
		}
		for _, s := range h.Steps {
			if now[s.Name] || !s.Succeeded() || !s.Changed && s.Status != report.StatusUnchanged {
				continue
			}
			run.Left = append(run.Left, report.LeftStep{Host: h.Name, Step: s.Name, Kind: s.Kind, Run: prev.ID, Reason: e.leftReason(s.Name)})
		}
	}
}

// leftReason says why an address is gone: its key left the step's
// for_each, or the step (or its module) is not in the runbook.
func (e *Engine) leftReason(addr string) string {
	base, _, keyed := strings.Cut(addr, "[")
	if _, forEach := e.cfg.Instances(base); keyed && forEach {
		return fmt.Sprintf("its key is no longer in step.%s's for_each", base)
	}
	return "the step is no longer in the runbook"
}
