package report

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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
	metricItems           = "runbook_checklist_items"
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
	data, err := Metrics(out, PreviousLastSuccess(prev, out.Runbook))
	if err != nil {
		return err
	}
	return writeAtomicMode(path, data, 0o644)
}

// Metrics renders the metrics of a run; lastSuccess is the previous
// runbook_last_success_timestamp_seconds (NaN or 0: none known), used when
// this run did not succeed. The families are built as client_model
// messages and written by Prometheus' own encoder (expfmt), so the text is
// what every Prometheus parser reads; a family with no series (a run with
// no steps) is left out, as the format has no place for it.
func Metrics(r *Run, lastSuccess float64) ([]byte, error) {
	rb := []*dto.LabelPair{labelPair("runbook", r.Runbook)}
	var fams []*dto.MetricFamily
	family := func(name, help string) *dto.MetricFamily {
		f := &dto.MetricFamily{Name: proto(name), Help: proto(help), Type: dto.MetricType_GAUGE.Enum()}
		fams = append(fams, f)
		return f
	}
	add := func(f *dto.MetricFamily, labels []*dto.LabelPair, v float64) {
		f.Metric = append(f.Metric, &dto.Metric{Label: labels, Gauge: &dto.Gauge{Value: &v}})
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
	stepLabels := func(x stepRow, extra ...*dto.LabelPair) []*dto.LabelPair {
		return append([]*dto.LabelPair{labelPair("runbook", r.Runbook), labelPair("host", x.host.Name),
			labelPair("step", x.step.Name), labelPair("kind", x.step.Kind)}, extra...)
	}

	f := family(metricStepSuccess, "Whether the step did its part in the last run: 1 ok, changed, unchanged or skipped (when = false); 0 failed, interrupted or not run.")
	for _, x := range rows {
		add(f, stepLabels(x), boolValue(stepSucceeded(r, x.step)))
	}
	f = family(metricStepDuration, "How long the step ran in the last run, in seconds (0 when it did not run).")
	for _, x := range rows {
		d := 0.0
		if !x.step.Started.IsZero() && x.step.Ended.After(x.step.Started) {
			d = x.step.Ended.Sub(x.step.Started).Seconds()
		}
		add(f, stepLabels(x), d)
	}
	f = family(metricStepChanged, "Whether the step changed its host in the last run (1) or not (0).")
	for _, x := range rows {
		add(f, stepLabels(x), boolValue(x.step.Changed))
	}
	f = family(metricStepStatus, "The step's status in the last run, as a label; the value is always 1.")
	for _, x := range rows {
		add(f, stepLabels(x, labelPair("status", x.step.Status)), 1)
	}

	add(family(metricRunSuccess, "Whether the last run succeeded (an apply with result success, or a plan that did not fail)."),
		rb, boolValue(runSucceeded(r)))
	add(family(metricRunTimestamp, "When the last run ended, in seconds since the Unix epoch."), rb, unixSeconds(r.Ended))
	d := 0.0
	if !r.Started.IsZero() && r.Ended.After(r.Started) {
		d = r.Ended.Sub(r.Started).Seconds()
	}
	add(family(metricRunDuration, "How long the last run took, in seconds."), rb, d)
	ticked, total := r.Tally()
	add(family(metricTicked, "Completion checklist items ticked on evidence in the last run."), rb, float64(ticked))
	add(family(metricItems, "Completion checklist items in the last run."), rb, float64(total))

	last := lastSuccess
	if r.Mode == "apply" && r.Result == "success" {
		last = unixSeconds(r.Ended)
	}
	if last > 0 && !math.IsNaN(last) && !math.IsInf(last, 0) {
		add(family(metricLastSuccessTime, "When an apply of this runbook last succeeded, in seconds since the Unix epoch (kept across failed runs)."), rb, last)
	}

	var b bytes.Buffer
	for _, f := range fams {
		if len(f.Metric) == 0 {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			return nil, fmt.Errorf("encoding the metrics: %w", err)
		}
	}
	return b.Bytes(), nil
}

// PreviousLastSuccess reads runbook_last_success_timestamp_seconds for
// runbook back from a metrics file written by WriteMetrics, with
// Prometheus' text parser; NaN when absent, or when the file is not in the
// text format (then nothing in it can be trusted).
func PreviousLastSuccess(file []byte, runbook string) float64 {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(file))
	if err != nil {
		return math.NaN()
	}
	want := validLabel(runbook)
	for _, m := range fams[metricLastSuccessTime].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "runbook" && l.GetValue() == want {
				switch {
				case m.Gauge != nil:
					return m.GetGauge().GetValue()
				case m.Untyped != nil:
					return m.GetUntyped().GetValue()
				}
			}
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

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func proto(s string) *string { return &s }

// labelPair is a label whose value is valid UTF-8 (the text format's
// encoder writes bytes as they are, and its parsers refuse invalid UTF-8).
func labelPair(name, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: proto(name), Value: proto(validLabel(value))}
}

func validLabel(value string) string { return strings.ToValidUTF8(value, "\uFFFD") }
