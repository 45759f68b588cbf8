package report_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/runbook-hpc/runbook/engine/report"
)

// parseMetrics parses a metrics file with Prometheus' own text parser, as
// node_exporter's textfile collector does, after promlint found nothing
// to say about it.
func parseMetrics(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	lint(t, b)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the Prometheus text parser refuses the metrics: %v\n%s", err, b)
	}
	for name, f := range fams {
		if f.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
		if f.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s is %s, want gauge", name, f.GetType())
		}
	}
	return fams
}

// metrics is report.Metrics, which must not fail.
func metrics(t *testing.T, r *report.Run, lastSuccess float64) []byte {
	t.Helper()
	b, err := report.Metrics(r, lastSuccess)
	if err != nil {
		t.Fatalf("Metrics: %v", err)
	}
	return b
}

// lint fails the test on every problem promlint (Prometheus' own rules
// for metric names, units, types and help) finds.
func lint(t *testing.T, b []byte) {
	t.Helper()
	problems, err := promlint.New(bytes.NewReader(b)).Lint()
	if err != nil {
		t.Fatalf("promlint cannot read the metrics: %v\n%s", err, b)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// value returns the gauge of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		got := labelsOf(m)
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no %s%v", name, want)
	return 0
}

func TestMetricsParse(t *testing.T) {
	r := phase2Run()
	r.BuildChecklist()
	fams := parseMetrics(t, metrics(t, r, math.NaN()))

	step := func(name string) map[string]string {
		return map[string]string{"runbook": "phase2", "host": "moonlight-ctl", "step": name}
	}
	for name, want := range map[string]float64{"cluster": 1, "qos": 1, "qos_limits": 0, "qos_settings": 0, "gpu_cap": 1} {
		if got := value(t, fams, "runbook_step_success", step(name)); got != want {
			t.Errorf("runbook_step_success{step=%s} = %v, want %v", name, got, want)
		}
	}
	if got := value(t, fams, "runbook_step_success", map[string]string{"step": "qos_limits", "kind": "modify"}); got != 0 {
		t.Errorf("kind label missing or wrong: %v", got)
	}
	if got := value(t, fams, "runbook_step_duration_seconds", step("qos_limits")); got != 2.3 {
		t.Errorf("qos_limits duration %v, want 2.3", got)
	}
	if got := value(t, fams, "runbook_step_duration_seconds", step("gpu_test")); got != 0 {
		t.Errorf("a step that did not run has duration %v", got)
	}
	if got := value(t, fams, "runbook_step_changed", step("qos")); got != 1 {
		t.Errorf("qos changed = %v", got)
	}
	if got := value(t, fams, "runbook_step_changed", step("qos_list")); got != 0 {
		t.Errorf("qos_list changed = %v", got)
	}
	if got := value(t, fams, "runbook_step_status", map[string]string{"step": "qos_limits", "status": "failed"}); got != 1 {
		t.Errorf("status info = %v", got)
	}
	if n := len(fams["runbook_step_success"].GetMetric()); n != 10 {
		t.Errorf("%d step series, want 10", n)
	}
	rb := map[string]string{"runbook": "phase2"}
	for name, want := range map[string]float64{
		"runbook_run_success": 0, "runbook_checklist_items_ticked": 2, "runbook_checklist_items": 8,
		"runbook_run_duration_seconds": 5.6, "runbook_run_timestamp_seconds": float64(t0.Unix()) + 5.6,
	} {
		if got := value(t, fams, name, rb); math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// A failed run with no earlier success has no last-success line.
	if _, ok := fams["runbook_last_success_timestamp_seconds"]; ok {
		t.Error("a failed first run wrote runbook_last_success_timestamp_seconds")
	}
}

func TestMetricsLabelEscaping(t *testing.T) {
	r := phase2Run()
	r.Runbook = `odd "name"\ with` + "\nnewline"
	r.Hosts[0].Name = `host"\` + "\n"
	r.Hosts[0].Steps[0].Name = "ünïcode-스텝"
	r.Result = "success"
	r.BuildChecklist()
	fams := parseMetrics(t, metrics(t, r, math.NaN()))
	got := labelsOf(fams["runbook_step_success"].GetMetric()[0])
	if got["runbook"] != r.Runbook || got["host"] != r.Hosts[0].Name || got["step"] != "ünïcode-스텝" {
		t.Errorf("labels did not survive escaping: %q", got)
	}
	// The previous last-success value is found under the escaped label.
	b := metrics(t, r, math.NaN())
	if v := report.PreviousLastSuccess(b, r.Runbook); v != float64(r.Ended.UnixMilli())/1e3 {
		t.Errorf("PreviousLastSuccess = %v", v)
	}
	if v := report.PreviousLastSuccess(b, "other"); !math.IsNaN(v) {
		t.Errorf("another runbook's last success = %v", v)
	}
}

// TestWriteMetricsKeepsLastSuccess: a success stamps the time, a later
// failure keeps it (node_exporter only knows what is in the file), and a
// later success moves it.
func TestWriteMetricsKeepsLastSuccess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "phase2.prom")
	last := func() float64 {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fams := parseMetrics(t, b)
		if _, ok := fams["runbook_last_success_timestamp_seconds"]; !ok {
			return 0
		}
		return value(t, fams, "runbook_last_success_timestamp_seconds", map[string]string{"runbook": "phase2"})
	}

	// A failure before any success: no line.
	failed := phase2Run()
	if err := report.WriteMetrics(path, failed); err != nil {
		t.Fatal(err)
	}
	if got := last(); got != 0 {
		t.Fatalf("last success after a first failure = %v", got)
	}

	ok := phase2Run()
	ok.Result = "success"
	ok.Ended = t0.Add(time.Hour + 250*time.Millisecond)
	if err := report.WriteMetrics(path, ok); err != nil {
		t.Fatal(err)
	}
	want := float64(t0.Add(time.Hour).Unix()) + 0.25
	if got := last(); got != want {
		t.Fatalf("last success = %v, want %v", got, want)
	}

	failed = phase2Run()
	failed.Ended = t0.Add(2 * time.Hour)
	if err := report.WriteMetrics(path, failed); err != nil {
		t.Fatal(err)
	}
	if got := last(); got != want {
		t.Errorf("a failed run changed the last success to %v, want %v kept", got, want)
	}
	b, _ := os.ReadFile(path)
	if fams := parseMetrics(t, b); value(t, fams, "runbook_run_success", map[string]string{"runbook": "phase2"}) != 0 {
		t.Error("run_success is not 0 after the failed run")
	}

	// A plan never moves it either.
	plan := phase2Run()
	plan.Mode, plan.Result, plan.Ended = "plan", "planned", t0.Add(3*time.Hour)
	if err := report.WriteMetrics(path, plan); err != nil {
		t.Fatal(err)
	}
	if got := last(); got != want {
		t.Errorf("a plan changed the last success to %v", got)
	}

	ok.Ended = t0.Add(4 * time.Hour)
	if err := report.WriteMetrics(path, ok); err != nil {
		t.Fatal(err)
	}
	if got := last(); got != float64(t0.Add(4*time.Hour).Unix()) {
		t.Errorf("a new success did not move the last success: %v", got)
	}

	// Written atomically, readable by node_exporter, nothing left behind.
	if m := mode(t, path); m != 0o644 {
		t.Errorf("metrics file mode %o, want 644", m)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the metrics directory holds %d files, want 1 (no temp files)", len(entries))
	}
	if err := report.WriteMetrics(filepath.Join(dir, "missing", "x.prom"), ok); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func TestMetricsHoldNoSecret(t *testing.T) {
	const secret = "hunter2-metrics"
	r := phase2Run()
	r.Hosts[0].Name = "node-" + secret
	r.Hosts[0].Steps[0].Name = "step-" + secret
	r.Redactor = fakeRedactor{secret}
	path := filepath.Join(t.TempDir(), "m.prom")
	if err := report.WriteMetrics(path, r); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), secret) {
		t.Errorf("the metrics hold the secret:\n%s", b)
	}
	parseMetrics(t, b)
}

type fakeRedactor struct{ secret string }

func (f fakeRedactor) Redact(s string) string { return strings.ReplaceAll(s, f.secret, "(sensitive)") }

// TestMetricsLint: promlint finds nothing in any metrics runbook writes: a
// failed apply, a successful one carrying a last success, a plan, and a
// run with no hosts (whose step families have no series and are left
// out). The checklist count is a gauge, so it has no _total suffix.
func TestMetricsLint(t *testing.T) {
	ok := phase2Run()
	ok.Result = "success"
	plan := phase2Run()
	plan.Mode, plan.Result = "plan", "planned"
	empty := phase2Run()
	empty.Hosts = nil
	for name, r := range map[string]*report.Run{"failed": phase2Run(), "success": ok, "plan": plan, "no hosts": empty} {
		t.Run(name, func(t *testing.T) {
			r.BuildChecklist()
			b := metrics(t, r, float64(t0.Unix()))
			fams := parseMetrics(t, b)
			if strings.Contains(string(b), "runbook_checklist_items_total") {
				t.Error("the gauge runbook_checklist_items_total is still written")
			}
			if _, ok := fams["runbook_checklist_items"]; !ok {
				t.Error("no runbook_checklist_items")
			}
			if name == "no hosts" {
				if _, ok := fams["runbook_step_success"]; ok || strings.Contains(string(b), "runbook_step_success") {
					t.Errorf("a run without steps wrote runbook_step_success:\n%s", b)
				}
			}
		})
	}
}

// TestPreviousLastSuccessReadsBack: the value is read back with
// Prometheus' parser from what this version writes (floats in %g form)
// and from what earlier versions wrote by hand (fixed-point floats, the
// gauge runbook_checklist_items_total), so an upgrade keeps it. A file
// that is not in the text format gives NaN, and WriteMetrics replaces it.
func TestPreviousLastSuccessReadsBack(t *testing.T) {
	old := `# HELP runbook_checklist_items_total Completion checklist items in the last run.
# TYPE runbook_checklist_items_total gauge
runbook_checklist_items_total{runbook="phase2"} 8
# HELP runbook_last_success_timestamp_seconds When an apply of this runbook last succeeded.
# TYPE runbook_last_success_timestamp_seconds gauge
runbook_last_success_timestamp_seconds{runbook="other"} 5
runbook_last_success_timestamp_seconds{runbook="phase2"} 1773480413.25
`
	if v := report.PreviousLastSuccess([]byte(old), "phase2"); v != 1773480413.25 {
		t.Errorf("from an earlier version's file: %v", v)
	}
	r := phase2Run()
	r.Result = "success"
	r.Ended = time.Date(2026, 3, 14, 9, 26, 53, 125e6, time.UTC)
	b := metrics(t, r, math.NaN())
	if v := report.PreviousLastSuccess(b, "phase2"); v != float64(r.Ended.UnixMilli())/1e3 {
		t.Errorf("read back %v, want %v:\n%s", v, float64(r.Ended.UnixMilli())/1e3, b)
	}
	for _, bad := range []string{"not metrics {{{\n", "runbook_last_success_timestamp_seconds{runbook=\"phase2\"} x\n"} {
		if v := report.PreviousLastSuccess([]byte(bad), "phase2"); !math.IsNaN(v) {
			t.Errorf("%q: %v, want NaN", bad, v)
		}
	}
	path := filepath.Join(t.TempDir(), "phase2.prom")
	if err := os.WriteFile(path, []byte("garbage {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteMetrics(path, phase2Run()); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	parseMetrics(t, got)
}

// TestMetricsInvalidUTF8: a label value that is not UTF-8 is written as
// valid UTF-8, which the parser reads back.
func TestMetricsInvalidUTF8(t *testing.T) {
	r := phase2Run()
	r.Hosts[0].Name = "bad\xff\xfehost"
	r.BuildChecklist()
	fams := parseMetrics(t, metrics(t, r, math.NaN()))
	if got := labelsOf(fams["runbook_step_success"].GetMetric()[0])["host"]; got != "bad\uFFFDhost" {
		t.Errorf("host label %q", got)
	}
}
