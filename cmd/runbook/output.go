package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
)

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
	if a, ok := steps.ParseAction(s.Action); ok {
		return a.Symbol()
	}
	return " "
}

// printPlan prints per host, per step what apply would do, redacted as
// the record is (a value recorded unredacted must not reach a CI log).
func printPlan(w io.Writer, r *report.Run, showCommands bool) {
	r = r.Redacted()
	for _, h := range r.Hosts {
		fmt.Fprintf(w, "\n%s (%s)\n", h.Name, h.Transport)
		if h.Error != "" {
			fmt.Fprintf(w, "  ! host unreachable: %s\n", h.Error)
			if h.Hint != "" {
				fmt.Fprintf(w, "    hint: %s\n", h.Hint)
			}
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
			}
			if len(s.NotifiedBy) > 0 && !s.HandlerPending {
				summary += " (handler, notified by " + strings.Join(s.NotifiedBy, ", ") + ")"
			}
			fmt.Fprintf(w, "  %s %-*s  %s\n", stepSymbol(s), width, s.Name, summary)
			for _, c := range s.Changes {
				printChange(w, width, c)
			}
			if s.Hint != "" {
				fmt.Fprintf(w, "  %*s      hint: %s\n", width, "", s.Hint)
			}
			if showCommands {
				for _, c := range s.Planned {
					fmt.Fprintf(w, "  %*s      $ %s\n", width, "", c)
				}
			}
		}
	}
	c := r.PlanCounts()
	fmt.Fprintf(w, "\nPlan: %d to create, %d to modify, %d to run, %d known after apply, %d unchanged",
		c.Create, c.Modify, c.Run, c.Unknown, c.Unchanged)
	if c.Errors > 0 {
		fmt.Fprintf(w, ", %d errors", c.Errors)
	}
	fmt.Fprintln(w, ".")
}

// printChange prints one field change. A multi-line value (the unified
// diff of a file kind's "diff" change) is printed as an indented block
// under the field's name, so the plan stays readable.
func printChange(w io.Writer, width int, c steps.Change) {
	if !strings.Contains(c.Current+c.Desired, "\n") {
		fmt.Fprintf(w, "  %*s      %s: %s → %s\n", width, "", c.Field, c.Current, c.Desired)
		return
	}
	fmt.Fprintf(w, "  %*s      %s:\n", width, "", c.Field)
	block := func(v string) {
		for _, line := range strings.Split(v, "\n") {
			fmt.Fprintf(w, "  %*s        %s\n", width, "", line)
		}
	}
	if c.Current != "" {
		block(c.Current)
		fmt.Fprintf(w, "  %*s      →\n", width, "")
	}
	block(c.Desired)
}

// watch shows the apply's progress on stderr (a live region on a
// terminal, plain timestamped lines otherwise) and, when events is not
// nil, writes the JSON event stream (docs/events.md) to it, starting with
// run_started. Call the returned function once the run has ended and its
// record is written: it clears the live region and ends the stream with
// the checklist and run_finished.
func (s *session) watch(stderr, events io.Writer) (onEvent func(engine.Event), done func()) {
	redact := s.eng.Redactor().Redact
	hosts := make([]string, len(s.targets))
	evHosts := make([]eventHost, len(s.targets))
	for i, t := range s.targets {
		hosts[i] = t.Host.Name
		evHosts[i] = eventHost{Name: t.Host.Name, Transport: t.Describe}
	}
	opt := terminalOptions(stderr)
	opt.hosts, opt.redact = hosts, redact
	p := newProgress(stderr, opt)
	var stream *eventStream
	if events != nil {
		stream = newEventStream(events, s.run.ID, nil, redact)
		stream.hostHint = func(host string) string {
			// Called from the host's goroutine right after it recorded
			// the error, so reading its record is safe.
			for _, h := range s.run.Hosts {
				if h.Name == host {
					return h.Hint
				}
			}
			return ""
		}
		names := make([]string, len(s.eng.Order()))
		for i, st := range s.eng.Order() {
			names[i] = st.Name
		}
		stream.runStarted(s.run, s.dir, evHosts, names)
	}
	onEvent = func(ev engine.Event) {
		if stream != nil {
			stream.event(ev)
		}
		p.event(ev)
	}
	p.start()
	return onEvent, func() {
		p.close()
		if stream != nil {
			stream.runFinished(s.run, s.dir, s.exitCode())
		}
	}
}

// Lines of a failed command's output shown without -v.
const failureTail = 5

// printSummary ends an apply: each failure with its host, step, command,
// exit code, the last lines of its output and the hint for a known error
// (-v: every command of the step with its full output), then the
// checklist tally and where the record is. Like printPlan, it prints the
// run redacted.
func printSummary(w io.Writer, r *report.Run, dir string, verbose bool) {
	r = r.Redacted()
	color := colorFor(w)
	paint := func(code, s string) string {
		if color {
			return code + s + ansiReset
		}
		return s
	}
	cross := paint(ansiRed, "✗")
	for _, h := range r.Hosts {
		if h.Error != "" {
			fmt.Fprintf(w, "\n%s host %s: %s\n", cross, h.Name, h.Error)
			if h.Hint != "" {
				fmt.Fprintf(w, "  hint: %s\n", h.Hint)
			}
		}
		failed := false
		var notRun []string
		for _, s := range h.Steps {
			if s.Status == report.StatusNotRun && h.Error == "" {
				notRun = append(notRun, s.Name)
			}
			if s.Status != report.StatusFailed && s.Status != report.StatusInterrupted {
				continue
			}
			failed = true
			printFailure(w, cross, h.Name, s, verbose)
		}
		if failed && len(notRun) > 0 {
			fmt.Fprintf(w, "  not run on %s: %s\n", h.Name, strings.Join(notRun, ", "))
		}
		for _, s := range h.Steps {
			if s.HandlerPending {
				fmt.Fprintf(w, "  handler %s on %s is pending: %s\n", s.Name, h.Name, s.Summary)
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
	// What the apply changed, in one line: an admin re-running a runbook
	// wants "nothing changed" said, not inferred from every step's status.
	changed, ran := 0, 0
	for _, h := range r.Hosts {
		for _, s := range h.Steps {
			if s.Started.IsZero() {
				continue
			}
			ran++
			if s.Changed {
				changed++
			}
		}
	}
	if changed == 0 {
		fmt.Fprintf(w, "\nNothing changed (%d steps ran).", ran)
	} else {
		fmt.Fprintf(w, "\nChanged: %d of %d steps that ran.", changed, ran)
	}
	result := r.Result
	switch result {
	case "success":
		result = paint(ansiGreen, result)
	case "failed", "interrupted":
		result = paint(ansiRed, result)
	}
	checklist := fmt.Sprintf("%d of %d ticked", ticked, len(r.Checklist))
	if n, from := r.Carried(); n > 0 {
		checklist += fmt.Sprintf(", %d of them on evidence carried over by --resume from run %s", n, strings.Join(from, ", "))
	}
	fmt.Fprintf(w, "\nResult: %s. Checklist: %s. Record: %s\n", result, checklist, dir)
}

func printFailure(w io.Writer, cross, host string, s *report.Step, verbose bool) {
	c := failingCommand(s)
	first, rest, _ := strings.Cut(strings.TrimSpace(s.Error), "\n")
	fmt.Fprintf(w, "\n%s step %q on host %s %s: %s\n", cross, s.Name, host, s.Status, first)
	// The error's further lines are the failing command's stderr when it
	// exited non-zero (shown below); otherwise they are the message.
	if rest != "" && (verbose || c == nil || c.ExitCode == 0) {
		fmt.Fprintln(w, indent(rest, "    "))
	}
	if s.Title != "" && s.Title != s.Kind+" "+s.Name {
		fmt.Fprintf(w, "  step: %s (%s)\n", s.Title, s.Kind)
	}
	switch {
	case verbose:
		for _, cmd := range s.Commands {
			printCommand(w, cmd, true)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
	case c != nil:
		printCommand(w, *c, false)
	}
	if s.Hint != "" {
		fmt.Fprintf(w, "  hint: %s\n", s.Hint)
	}
}

// printCommand shows one command with its exit code and output: in full
// with -v, else the last lines of stderr (of stdout when stderr is empty:
// sacctmgr prints some errors there).
func printCommand(w io.Writer, c report.CommandRecord, full bool) {
	fmt.Fprintf(w, "  command: %s (exit %d)\n", c.Command, c.ExitCode)
	if c.Error != "" && c.Error != "interrupted" {
		fmt.Fprintf(w, "  error: %s\n", c.Error)
	}
	streams := []struct{ name, text string }{{"stderr", c.Stderr}, {"stdout", c.Stdout}}
	if full {
		for _, st := range streams {
			if strings.TrimSpace(st.text) != "" {
				fmt.Fprintf(w, "  %s:\n%s\n", st.name, indent(st.text, "    "))
			}
		}
		return
	}
	for _, st := range streams {
		if strings.TrimSpace(st.text) == "" {
			continue
		}
		n := len(strings.Split(strings.TrimRight(st.text, "\n"), "\n"))
		label := st.name + ":"
		if n > failureTail {
			label = fmt.Sprintf("%s (last %d of %d lines; -v shows all):", st.name, failureTail, n)
		}
		fmt.Fprintf(w, "  %s\n%s\n", label, indent(lastLines(st.text, failureTail), "    "))
		return
	}
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
