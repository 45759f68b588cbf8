package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Metric names written by WriteMetrics (documented in docs/report-schema.md).
const (
	metricStepSuccess     = "runbook_step_success"
	metricStepDuration    = "runbook_step_duration_seconds"
	metricStepChanged     = "runbook_step_changed"
	metricStepStatus      = "runbook_step_status"
	metricRunSuccess      = "runbook_run_success"
	metricRunTimestamp    = "runbook_run_timestamp_seconds"
	metricRunDuration     = "runbook_run_duration_seconds"
	metricTicked          = "runbook_checklist_items_ticked"
	metricItems           = "runbook_checklist_items_total"
	metricLastSuccessTime = "runbook_last_success_timestamp_seconds"
)

// WriteMetrics writes the run's outcome to path in the Prometheus text
// format (0.0.4), for node_exporter's textfile collector: point
// --collector.textfile.directory at the file's directory and give each
// runbook a file of its own (phase2.prom). The file is replaced atomically
// (a temp file in the same directory, then rename) with mode 0644, since
// node_exporter reads it; it holds names, statuses, times and counts only,
// redacted like every other rendering.
//
// runbook_last_success_timestamp_seconds is the end of this run when it
// succeeded; otherwise the value already in the file is carried over, so an
// alert on "no success for N days" keeps working across failed runs.
func WriteMetrics(path string, r *Run) error {
	if path == "" {
		return errors.New("no metrics file given")
	}
	r.BuildChecklist()
	out := r.Redacted()
	prev, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading the previous metrics file: %w", err)
	}
	data := Metrics(out, PreviousLastSuccess(prev, out.Runbook))
	return writeAtomicMode(path, data, 0o644)
}

// Metrics renders the metrics of a run; lastSuccess is the previous
// runbook_last_success_timestamp_seconds (NaN or 0: none known), used when
// this run did not succeed.
func Metrics(r *Run, lastSuccess float64) []byte {
	var b bytes.Buffer
	rb := label("runbook", r.Runbook)
	header := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	type stepRow struct {
		host *Host
		step *Step
	}
	var rows []stepRow
	for _, h := range r.Hosts {
		for _, s := range h.Steps {
			rows = append(rows, stepRow{h, s})
		}
	}
	stepLabels := func(x stepRow) string {
		return rb + "," + label("host", x.host.Name) + "," + label("step", x.step.Name) + "," + label("kind", x.step.Kind)
	}

	header(metricStepSuccess, "gauge", "Whether the step did its part in the last run: 1 ok, changed, unchanged or skipped (when = false); 0 failed, interrupted or not run.")
	for _, x := range rows {
		fmt.Fprintf(&b, "%s{%s} %s\n", metricStepSuccess, stepLabels(x), boolValue(stepSucceeded(r, x.step)))
	}
	header(metricStepDuration, "gauge", "How long the step ran in the last run, in seconds (0 when it did not run).")
	for _, x := range rows {
		d := 0.0
		if !x.step.Started.IsZero() && x.step.Ended.After(x.step.Started) {
			d = x.step.Ended.Sub(x.step.Started).Seconds()
		}
		fmt.Fprintf(&b, "%s{%s} %s\n", metricStepDuration, stepLabels(x), formatFloat(d))
	}
	header(metricStepChanged, "gauge", "Whether the step changed its host in the last run (1) or not (0).")
	for _, x := range rows {
		fmt.Fprintf(&b, "%s{%s} %s\n", metricStepChanged, stepLabels(x), boolValue(x.step.Changed))
	}
	header(metricStepStatus, "gauge", "The step's status in the last run, as a label; the value is always 1.")
	for _, x := range rows {
		fmt.Fprintf(&b, "%s{%s,%s} 1\n", metricStepStatus, stepLabels(x), label("status", x.step.Status))
	}

	header(metricRunSuccess, "gauge", "Whether the last run succeeded (an apply with result success, or a plan that did not fail).")
	fmt.Fprintf(&b, "%s{%s} %s\n", metricRunSuccess, rb, boolValue(runSucceeded(r)))
	header(metricRunTimestamp, "gauge", "When the last run ended, in seconds since the Unix epoch.")
	fmt.Fprintf(&b, "%s{%s} %s\n", metricRunTimestamp, rb, formatFloat(unixSeconds(r.Ended)))
	header(metricRunDuration, "gauge", "How long the last run took, in seconds.")
	d := 0.0
	if !r.Started.IsZero() && r.Ended.After(r.Started) {
		d = r.Ended.Sub(r.Started).Seconds()
	}
	fmt.Fprintf(&b, "%s{%s} %s\n", metricRunDuration, rb, formatFloat(d))
	ticked, total := r.Tally()
	header(metricTicked, "gauge", "Completion checklist items ticked on evidence in the last run.")
	fmt.Fprintf(&b, "%s{%s} %d\n", metricTicked, rb, ticked)
	header(metricItems, "gauge", "Completion checklist items in the last run.")
	fmt.Fprintf(&b, "%s{%s} %d\n", metricItems, rb, total)

	last := lastSuccess
	if r.Mode == "apply" && r.Result == "success" {
		last = unixSeconds(r.Ended)
	}
	if last > 0 && !math.IsNaN(last) && !math.IsInf(last, 0) {
		header(metricLastSuccessTime, "gauge", "When an apply of this runbook last succeeded, in seconds since the Unix epoch (kept across failed runs).")
		fmt.Fprintf(&b, "%s{%s} %s\n", metricLastSuccessTime, rb, formatFloat(last))
	}
	return b.Bytes()
}

// PreviousLastSuccess finds runbook_last_success_timestamp_seconds for
// runbook in a metrics file written by WriteMetrics; NaN when absent.
func PreviousLastSuccess(file []byte, runbook string) float64 {
	prefix := metricLastSuccessTime + "{" + label("runbook", runbook) + "}"
	sc := bufio.NewScanner(bytes.NewReader(file))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			return v
		}
	}
	return math.NaN()
}

// stepSucceeded: a step skipped on purpose (when = false) did its part;
// in a plan, a step that would run did too.
func stepSucceeded(r *Run, s *Step) bool {
	switch s.Status {
	case StatusOK, StatusChanged, StatusUnchanged, StatusSkipped:
		return true
	case StatusPlanned, StatusUnknown:
		return r.Mode != "apply"
	}
	return false
}

func runSucceeded(r *Run) bool {
	if r.Mode == "apply" {
		return r.Result == "success"
	}
	return r.Result == "planned"
}

// unixSeconds is t in seconds since the epoch, to the millisecond; 0 for
// the zero time.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() || t.Unix() <= 0 {
		return 0
	}
	return float64(t.UnixMilli()) / 1e3
}

func boolValue(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// label renders name="value" with the text format's escapes: backslash,
// double quote and line feed.
func label(name, value string) string {
	value = strings.ToValidUTF8(value, "\uFFFD")
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return name + `="` + r.Replace(value) + `"`
}
