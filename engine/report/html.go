package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"sync"
	"time"
)

//go:embed html.tmpl
var htmlSource string

//go:embed html.css
var htmlCSS string

// htmlTemplate is parsed on first use, not at init: every runbook
// command (validate, fmt, ...) would pay for it, and apply only needs it
// when it writes the report.
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Parse(htmlSource))
})

// HTML renders the run as one self-contained page (report.html): a result
// banner, the tally, one step table per host with the evidence of each
// step under <details>, the ticked checklist and the variables. It loads
// nothing from anywhere and needs no JavaScript; html/template escapes
// every value, so a command output holding markup shows as text.
func HTML(r *Run) ([]byte, error) {
	var b bytes.Buffer
	if err := htmlTemplate().Execute(&b, newHTMLView(r)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type htmlView struct {
	Title, Runbook, ID, Mode, File  string
	CSS                             template.CSS
	Result, ResultLabel, ResultIcon string
	ResultClass                     string
	Headline                        []htmlPart
	Started, Ended, Duration        string
	Ticked, Total, Percent          int
	TickedSummary                   string
	Counts                          []htmlCount
	Hosts                           []htmlHost
	Checklist                       []htmlItem
	MultiHost                       bool
	Variables                       []htmlVar
	SchemaVersion                   int
}

type htmlCount struct {
	Label, Class string
	N            int
}

type htmlHost struct {
	Name, Transport string
	Error, Hint     []htmlPart
	Class, Label    string
	Steps           []htmlStep
}

type htmlStep struct {
	N                    int
	Name, Title, Kind    string
	Status, Label, Class string
	Duration             string
	Summary, Error, Hint []htmlPart
	Changes              []htmlChange
	Planned              []string
	Commands             []htmlCommand
	Notes                []string
	EvidenceLabel        string
	HasDetails           bool
	ResumedFrom          string
	Open                 bool // the evidence of a failed step is shown unfolded
}

type htmlChange struct{ Field, Current, Desired string }

type htmlCommand struct {
	Command, Stdout, Stderr, Error string
	Become                         bool
	ExitCode                       int
	OK                             bool
	Duration                       string
}

type htmlItem struct {
	Text       []htmlPart
	Host, Step string
	Reason     []htmlPart
	Ticked     bool
	Class      string
	Evidence   [][]htmlPart
	// CarriedFrom: ticked on an earlier run's evidence (--resume).
	CarriedFrom string
}

type htmlVar struct{ Name, Value string }

// statusClass maps a step status to the CSS class of its colour.
func statusClass(status string) string {
	switch status {
	case StatusOK, StatusChanged, StatusUnchanged:
		return "st-" + status
	case StatusFailed:
		return "st-failed"
	case StatusInterrupted:
		return "st-interrupted"
	case StatusSkipped:
		return "st-skipped"
	case StatusPlanned:
		return "st-planned"
	case StatusUnknown:
		return "st-unknown"
	}
	return "st-notrun"
}

func statusLabel(status string) string {
	switch status {
	case StatusNotRun:
		return "not run"
	case StatusUnknown:
		return "after apply"
	case "":
		return "—"
	}
	return status
}

func resultStyle(result string) (class, label, icon string) {
	switch result {
	case "success":
		return "res-success", "Success", "✓"
	case "failed":
		return "res-failed", "Failed", "✗"
	case "interrupted":
		return "res-interrupted", "Interrupted", "■"
	case "planned":
		return "res-planned", "Planned", "◇"
	case "running":
		return "res-running", "Running or cut off", "…"
	}
	return "res-running", result, "?"
}

// HumanDuration keeps a duration short: 0.4s, 12s, 3m05s, 1h02m (the
// HTML report and the live progress lines both show it). It rounds to
// the unit it shows first, so 9.96s is 10s, not 10.0s, and 59.7s is 1m00s.
func HumanDuration(d time.Duration) string {
	d = max(d, 0)
	if r := d.Round(100 * time.Millisecond); r < 10*time.Second {
		return fmt.Sprintf("%.1fs", r.Seconds())
	}
	if r := d.Round(time.Second); r < time.Minute {
		return fmt.Sprintf("%ds", int(r/time.Second))
	} else if r < time.Hour {
		return fmt.Sprintf("%dm%02ds", int(r/time.Minute), int(r%time.Minute/time.Second))
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

func span(from, to time.Time) string {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return ""
	}
	return HumanDuration(to.Sub(from))
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// Tally counts the checklist items ticked and in all.
func (r *Run) Tally() (ticked, total int) {
	for _, it := range r.Checklist {
		if it.Ticked {
			ticked++
		}
	}
	return ticked, len(r.Checklist)
}

func newHTMLView(r *Run) htmlView {
	v := htmlView{
		Title: r.Title, Runbook: r.Runbook, ID: r.ID, Mode: r.Mode, File: r.File,
		CSS: template.CSS(htmlCSS), Result: r.Result, SchemaVersion: r.SchemaVersion,
		Started: stamp(r.Started), Ended: stamp(r.Ended), Duration: span(r.Started, r.Ended),
		MultiHost: len(r.Hosts) > 1,
	}
	if v.Title == "" {
		v.Title = r.Runbook
	}
	if v.Duration == "" {
		v.Duration = "—"
	}
	v.ResultClass, v.ResultLabel, v.ResultIcon = resultStyle(r.Result)
	v.Ticked, v.Total = r.Tally()
	v.TickedSummary = r.TickedSummary()
	if v.Total > 0 {
		v.Percent = v.Ticked * 100 / v.Total
	}

	counts := map[string]int{}
	stepsTotal := 0
	var firstFailure string
	for _, h := range r.Hosts {
		hv := htmlHost{Name: h.Name, Transport: h.Transport, Error: codeSpans(h.Error), Hint: codeSpans(h.Hint)}
		worst := ""
		if h.Error != "" {
			worst = StatusFailed
			if firstFailure == "" {
				firstFailure = fmt.Sprintf("Host %s could not be reached: %s", h.Name, h.Error)
			}
		}
		for i, s := range h.Steps {
			stepsTotal++
			counts[s.Status]++
			sv := htmlStep{
				N: i + 1, Name: s.Name, Title: s.Title, Kind: s.Kind,
				Status: s.Status, Label: statusLabel(s.Status), Class: statusClass(s.Status),
				Duration: span(s.Started, s.Ended), Summary: codeSpans(s.Summary), Error: codeSpans(s.Error), Hint: codeSpans(s.Hint),
				Planned: s.Planned, Notes: s.Notes, ResumedFrom: s.ResumedFrom,
			}
			if sv.Title == "" || sv.Title == s.Kind+" "+s.Name {
				sv.Title = ""
			}
			for _, c := range s.Changes {
				sv.Changes = append(sv.Changes, htmlChange{c.Field, c.Current, c.Desired})
			}
			for _, c := range s.Commands {
				sv.Commands = append(sv.Commands, htmlCommand{
					Command: c.Command, Stdout: c.Stdout, Stderr: c.Stderr, Error: c.Error,
					Become: c.Become, ExitCode: c.ExitCode, OK: c.ExitCode == 0 && c.Error == "",
					Duration: span(c.Started, c.Ended),
				})
			}
			var parts []string
			if n := len(s.Commands); n > 0 {
				parts = append(parts, plural(n, "command"))
			}
			if n := len(s.Notes); n > 0 {
				parts = append(parts, plural(n, "note"))
			}
			if n := len(s.Planned); n > 0 {
				parts = append(parts, plural(n, "planned command"))
			}
			sv.EvidenceLabel = strings.Join(parts, ", ")
			sv.HasDetails = len(sv.Commands)+len(sv.Notes)+len(sv.Planned) > 0
			sv.Open = s.Status == StatusFailed || s.Status == StatusInterrupted
			if (s.Status == StatusFailed || s.Status == StatusInterrupted) && firstFailure == "" {
				firstFailure = fmt.Sprintf("Step %s failed on %s: %s", s.Name, h.Name, s.Error)
				if s.Status == StatusInterrupted {
					firstFailure = fmt.Sprintf("Step %s was interrupted on %s", s.Name, h.Name)
				}
			}
			worst = worse(worst, s.Status)
			hv.Steps = append(hv.Steps, sv)
		}
		hv.Class, hv.Label = hostBadge(worst)
		v.Hosts = append(v.Hosts, hv)
	}
	for _, st := range []string{StatusOK, StatusChanged, StatusUnchanged, StatusPlanned, StatusUnknown,
		StatusSkipped, StatusFailed, StatusInterrupted, StatusNotRun} {
		if counts[st] > 0 {
			v.Counts = append(v.Counts, htmlCount{Label: statusLabel(st), Class: statusClass(st), N: counts[st]})
		}
	}

	hosts := plural(len(r.Hosts), "host")
	headline := ""
	switch r.Result {
	case "success":
		headline = fmt.Sprintf("%s on %s finished without a failure.", plural(stepsTotal, "step"), hosts)
	case "planned":
		n := counts[StatusPlanned]
		headline = fmt.Sprintf("Plan only: %s would change or run on %s; nothing was applied.", plural(n, "step"), hosts)
	case "running":
		headline = "This record was written while the run was going on; if the run has ended, it was cut off before it could write its final record."
	default:
		headline = firstFailure
		if headline == "" && r.Result == "interrupted" {
			headline = "The run was interrupted."
		}
	}
	v.Headline = codeSpans(headline)

	idx := newStepIndex(r)
	for _, it := range r.Checklist {
		iv := htmlItem{Text: codeSpans(it.Text), Host: it.Host, Step: it.Step, Reason: codeSpans(it.Reason), Ticked: it.Ticked, CarriedFrom: it.CarriedFrom}
		for _, e := range it.Evidence {
			iv.Evidence = append(iv.Evidence, codeSpans(e))
		}
		switch {
		case it.Ticked:
			iv.Class = "item-ok"
		case itemFailed(r, idx, it):
			iv.Class = "item-fail"
		default:
			iv.Class = "item-open"
		}
		v.Checklist = append(v.Checklist, iv)
	}
	names := make([]string, 0, len(r.Variables))
	for k := range r.Variables {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v.Variables = append(v.Variables, htmlVar{k, r.Variables[k]})
	}
	return v
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// statusRank orders step statuses by how much they matter for a host's
// badge (built once: worse runs for every step of every host).
var statusRank = map[string]int{
	"": 0, StatusSkipped: 1, StatusUnchanged: 2, StatusOK: 3, StatusChanged: 4,
	StatusUnknown: 5, StatusPlanned: 6, StatusNotRun: 7, StatusInterrupted: 8, StatusFailed: 9,
}

// worse keeps the status that matters most for a host's badge.
func worse(a, b string) string {
	if statusRank[b] > statusRank[a] {
		return b
	}
	return a
}

// hostBadge sums a host up from its worst step status.
func hostBadge(worst string) (class, label string) {
	switch worst {
	case StatusFailed:
		return "st-failed", "failed"
	case StatusInterrupted:
		return "st-interrupted", "interrupted"
	case StatusNotRun:
		return "st-notrun", "incomplete"
	case StatusPlanned, StatusUnknown:
		return "st-planned", "planned"
	case "":
		return "st-notrun", "no steps"
	}
	return "st-ok", "ok"
}

// htmlPart is a piece of text that is either plain or `code`.
type htmlPart struct {
	Text string
	Code bool
}

// codeSpans splits Markdown-style `code` spans out of a line so the page
// shows them as code; an unpaired backtick stays text.
func codeSpans(s string) []htmlPart {
	var parts []htmlPart
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+1:], '`')
		if j < 0 {
			break
		}
		if i > 0 {
			parts = append(parts, htmlPart{Text: s[:i]})
		}
		parts = append(parts, htmlPart{Text: s[i+1 : i+1+j], Code: true})
		s = s[i+2+j:]
	}
	if s != "" {
		parts = append(parts, htmlPart{Text: s})
	}
	return parts
}

// itemFailed reports whether an unticked item is unticked because its step
// (or its host) failed, rather than because it was skipped, not reached or
// only planned.
func itemFailed(r *Run, idx stepIndex, it ChecklistItem) bool {
	h, s := idx.find(it.Host, it.Step)
	switch {
	case it.Ticked || h == nil:
		return false
	case s != nil && (s.Status == StatusFailed || s.Status == StatusInterrupted):
		return true
	case s != nil && s.Succeeded():
		return r.Mode == "apply" // succeeded but left no evidence
	}
	return h.Error != ""
}

// stepIndex finds the host and step a checklist item belongs to without
// scanning every host's steps per item (quadratic at hundreds of hosts).
// The first host and step of a name win, as in a scan.
type stepIndex struct {
	hosts map[string]*Host
	steps map[[2]string]*Step
}

func newStepIndex(r *Run) stepIndex {
	idx := stepIndex{hosts: map[string]*Host{}, steps: map[[2]string]*Step{}}
	if len(r.Checklist) == 0 {
		return idx
	}
	for _, h := range r.Hosts {
		if _, dup := idx.hosts[h.Name]; dup {
			continue
		}
		idx.hosts[h.Name] = h
		for _, s := range h.Steps {
			if _, dup := idx.steps[[2]string{h.Name, s.Name}]; !dup {
				idx.steps[[2]string{h.Name, s.Name}] = s
			}
		}
	}
	return idx
}

// find returns the host and step an item belongs to.
func (idx stepIndex) find(host, step string) (*Host, *Step) {
	h := idx.hosts[host]
	if h == nil {
		return nil, nil
	}
	return h, idx.steps[[2]string{host, step}]
}
