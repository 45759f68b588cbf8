package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/report"
)

var planSymbols = map[string]string{
	"create": "+", "modify": "~", "run": ">", "no-op": "=", "read": "<",
}

func stepSymbol(s *report.Step) string {
	switch s.Status {
	case report.StatusUnknown:
		return "?"
	case report.StatusSkipped:
		return "-"
	case report.StatusFailed, report.StatusInterrupted:
		return "!"
	case report.StatusNotRun:
		return " "
	}
	if sym, ok := planSymbols[s.Action]; ok {
		return sym
	}
	return " "
}

// printPlan prints per host, per step what apply would do.
func printPlan(w io.Writer, r *report.Run, showCommands bool) {
	counts := map[string]int{}
	for _, h := range r.Hosts {
		fmt.Fprintf(w, "\n%s (%s)\n", h.Name, h.Transport)
		if h.Error != "" {
			fmt.Fprintf(w, "  ! host unreachable: %s\n", h.Error)
			if h.Hint != "" {
				fmt.Fprintf(w, "    hint: %s\n", h.Hint)
			}
			counts["error"]++
			continue
		}
		width := 0
		for _, s := range h.Steps {
			width = max(width, len(s.Name))
		}
		for _, s := range h.Steps {
			summary := s.Summary
			if s.Status == report.StatusFailed {
				summary = "error: " + s.Error
				counts["error"]++
			}
			fmt.Fprintf(w, "  %s %-*s  %s\n", stepSymbol(s), width, s.Name, summary)
			for _, c := range s.Changes {
				fmt.Fprintf(w, "  %*s      %s: %s → %s\n", width, "", c.Field, c.Current, c.Desired)
			}
			if s.Hint != "" {
				fmt.Fprintf(w, "  %*s      hint: %s\n", width, "", s.Hint)
			}
			if showCommands {
				for _, c := range s.Planned {
					fmt.Fprintf(w, "  %*s      $ %s\n", width, "", c)
				}
			}
			switch {
			case s.Status == report.StatusUnknown:
				counts["unknown"]++
			case s.Status == report.StatusPlanned:
				counts[s.Action]++
			case s.Status == report.StatusUnchanged:
				counts["unchanged"]++
			}
		}
	}
	fmt.Fprintf(w, "\nPlan: %d to create, %d to modify, %d to run, %d known after apply, %d unchanged",
		counts["create"], counts["modify"], counts["run"], counts["unknown"], counts["unchanged"])
	if counts["error"] > 0 {
		fmt.Fprintf(w, ", %d errors", counts["error"])
	}
	fmt.Fprintln(w, ".")
}

func pendingChanges(r *report.Run) bool {
	for _, h := range r.Hosts {
		for _, s := range h.Steps {
			if s.Status == report.StatusPlanned || s.Status == report.StatusUnknown {
				return true
			}
		}
	}
	return false
}

// watch prints one line per finished step (and waits that take a while);
// plain timestamped lines, no control codes, so logs and CI read well.
func (s *session) watch(w io.Writer) {
	var mu sync.Mutex
	s.eng.OnEvent = func(ev engine.Event) {
		mu.Lock()
		defer mu.Unlock()
		ts := time.Now().Format("15:04:05")
		switch ev.Kind {
		case "host_error":
			fmt.Fprintf(w, "%s %s ✗ cannot reach host: %s\n", ts, ev.Host, ev.Message)
		case "progress":
			fmt.Fprintf(w, "%s %s … %s: %s\n", ts, ev.Host, ev.Step.Name, ev.Message)
		case "step_finished":
			st := ev.Step
			mark := map[string]string{report.StatusFailed: "✗", report.StatusInterrupted: "✗"}[st.Status]
			if mark == "" {
				mark = "✓"
			}
			dur := st.Ended.Sub(st.Started).Round(100 * time.Millisecond)
			if st.Ended.IsZero() {
				dur = time.Since(st.Started).Round(100 * time.Millisecond)
			}
			what := st.Summary
			if st.Error != "" {
				what = st.Error
			}
			fmt.Fprintf(w, "%s %s %s %s (%s, %s) %s\n", ts, ev.Host, mark, st.Name, dur, st.Status, what)
		}
	}
}

// printSummary ends an apply: failures with cause and hint, the checklist
// tally and where the record is.
func printSummary(w io.Writer, r *report.Run, dir string, verbose bool) {
	for _, h := range r.Hosts {
		if h.Error != "" {
			fmt.Fprintf(w, "\n✗ host %s: %s\n", h.Name, h.Error)
			if h.Hint != "" {
				fmt.Fprintf(w, "  hint: %s\n", h.Hint)
			}
		}
		for _, s := range h.Steps {
			if s.Status != report.StatusFailed && s.Status != report.StatusInterrupted {
				continue
			}
			fmt.Fprintf(w, "\n✗ step %q on host %s %s: %s\n", s.Name, h.Name, s.Status, s.Error)
			if n := len(s.Commands); n > 0 {
				c := s.Commands[n-1]
				fmt.Fprintf(w, "  command: %s (exit %d)\n", c.Command, c.ExitCode)
				stderr := c.Stderr
				if !verbose {
					stderr = lastLines(stderr, 5)
				}
				if strings.TrimSpace(stderr) != "" {
					fmt.Fprintf(w, "  stderr:\n%s\n", indent(stderr, "    "))
				}
				if verbose && strings.TrimSpace(c.Stdout) != "" {
					fmt.Fprintf(w, "  stdout:\n%s\n", indent(c.Stdout, "    "))
				}
			}
			if s.Hint != "" {
				fmt.Fprintf(w, "  hint: %s\n", s.Hint)
			}
		}
	}
	r.BuildChecklist()
	ticked := 0
	for _, it := range r.Checklist {
		if it.Ticked {
			ticked++
		}
	}
	fmt.Fprintf(w, "\nResult: %s. Checklist: %d of %d ticked. Record: %s\n", r.Result, ticked, len(r.Checklist), dir)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}

var _ = os.Stdout
