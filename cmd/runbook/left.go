package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/runbook-hpc/runbook/engine/report"
)

// noteLeft tells the run which steps the last apply of this runbook (in
// the same state directory) ran that the runbook no longer has: they are
// left as they are, and the plan says so.
func (s *session) noteLeft() {
	runs, err := report.List(filepath.Dir(s.dir))
	if err != nil {
		return
	}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i].Run
		if r == nil || runs[i].Dir == s.dir || r.Runbook != s.run.Runbook || r.Mode != "apply" {
			continue
		}
		s.eng.NoteLeft(s.run, r)
		return
	}
}

// printLeft lists what the runbook no longer manages but an earlier
// apply made: nothing removes it.
func printLeft(w io.Writer, r *report.Run) {
	if len(r.Left) == 0 {
		return
	}
	r = r.Redacted()
	fmt.Fprintln(w, "\nLeft as they are (runbook deletes nothing):")
	for _, l := range r.Left {
		fmt.Fprintf(w, "  - %s on %s (%s, last applied in run %s): %s; what it made stays until you remove it\n", l.Step, l.Host, l.Kind, l.Run, l.Reason)
	}
}
