//go:build e2e

// End-to-end test of runbooks/monitoring.hcl (issue 18) on the testbed:
// Debian's real prometheus and node exporter, started through their init.d
// scripts (the testbed has no systemd), scraped for real. The oracles are
// outside runbook: dpkg, promtool, the daemons' pid files, Prometheus's
// HTTP API, squeue and sacctmgr.
//
// The packages are installed by the first run on a machine and kept (about
// 25 MB from the Debian archive); every run stops the daemons, puts their
// configuration back to Debian's and empties Prometheus's database first,
// and stops the daemons again at the end. cron is purged at the end when
// the test installed it, so TestServiceE2E still sees a machine without it.
//
//	flock /tmp/testbed-e2e.flock bash -c 'set -a; . /tmp/runbook-testbed/env; set +a; go test -tags e2e -run TestMonitoringE2E ./runbooks/ -count=1'
package runbooks_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	promURL         = "http://127.0.0.1:9090"
	textfileDir     = "/var/lib/prometheus/node-exporter"
	collectorPath   = "/usr/local/sbin/slurm-qos-metrics"
	cronFile        = "/etc/cron.d/slurm-qos-metrics"
	nodeExporterPid = "/run/prometheus/prometheus-node-exporter.pid"
	prometheusPid   = "/run/prometheus/prometheus.pid"
	crondPid        = "/var/run/crond.pid"
)

var monitoringPackages = []string{"prometheus-node-exporter", "prometheus", "cron"}

func shellOK(t *testing.T, line string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", line).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	return string(out)
}

// livePid reads a pid file and returns the pid when that process runs.
func livePid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		return 0
	}
	return pid
}

func installed(t *testing.T, pkg string) bool {
	s, _ := dpkgStatus(t, pkg)
	return s == "ii"
}

// monitoringReset stops the three daemons and puts the host back where a
// site starts from: Debian's /etc/default files, no prometheus.yml of
// ours, no collector, no cron job, no metrics, an empty Prometheus
// database. Packages stay installed.
func monitoringReset(t *testing.T) {
	t.Helper()
	for _, svc := range []struct{ name, pid string }{{"prometheus", prometheusPid}, {"prometheus-node-exporter", nodeExporterPid}, {"cron", crondPid}} {
		if _, err := os.Stat("/etc/init.d/" + svc.name); err == nil && livePid(svc.pid) > 0 {
			shellOK(t, "/etc/init.d/"+svc.name+" stop")
		}
	}
	for _, f := range []string{"/etc/default/prometheus", "/etc/default/prometheus-node-exporter"} {
		if _, err := os.Stat(f); err == nil {
			shellOK(t, `sed -i 's/^ARGS=.*/ARGS=""/' `+f)
		}
	}
	shellOK(t, "rm -f /etc/prometheus/prometheus.yml "+collectorPath+" "+cronFile+" "+textfileDir+"/*.prom")
	shellOK(t, "rm -rf /var/lib/prometheus/metrics2/*")
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s promSample) value(t *testing.T) float64 {
	t.Helper()
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		t.Fatalf("sample %v: %v", s, err)
	}
	return v
}

// promQuery runs an instant query through Prometheus's HTTP API; the error
// is Prometheus's own (a bad expression) or the request's.
func promQuery(expr string) ([]promSample, error) {
	resp, err := http.Get(promURL + "/api/v1/query?" + url.Values{"query": {expr}}.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string       `json:"resultType"`
			Result     []promSample `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("HTTP %d, %v: %s", resp.StatusCode, err, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	if r.Data.ResultType != "vector" && r.Data.ResultType != "scalar" {
		return nil, fmt.Errorf("result type %s", r.Data.ResultType)
	}
	return r.Data.Result, nil
}

// promValue: the single sample of expr (ok false when there is none).
func promValue(t *testing.T, expr string) (float64, bool) {
	t.Helper()
	res, err := promQuery(expr)
	if err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	if len(res) == 0 {
		return 0, false
	}
	if len(res) > 1 {
		t.Fatalf("query %s: %d samples, want one: %v", expr, len(res), res)
	}
	return res[0].value(t), true
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(time.Second)
	}
	return time.Since(start)
}

// stepStatuses maps each step of an apply's report to its status.
func stepStatuses(r result) map[string]string {
	m := map[string]string{}
	for _, h := range r.report.Hosts {
		for _, s := range h.Steps {
			m[s.Name] = s.Status
		}
	}
	return m
}

// slurmDuration reads sacctmgr's [D-]HH:MM:SS as seconds.
func slurmDuration(t *testing.T, s string) float64 {
	t.Helper()
	days := 0
	if d, rest, ok := strings.Cut(s, "-"); ok {
		days, _ = strconv.Atoi(d)
		s = rest
	}
	var h, m, sec int
	if _, err := fmt.Sscanf(s, "%d:%d:%d", &h, &m, &sec); err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return float64(days*86400 + h*3600 + m*60 + sec)
}

func TestMonitoringE2E(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("TestMonitoringE2E took %s", time.Since(start).Round(100*time.Millisecond)) }()
	if os.Getenv("TESTBED_RBADMIN_SUDO_PASSWORD") == "" {
		t.Fatal("TESTBED_RBADMIN_SUDO_PASSWORD is not set: source the testbed's env file (set -a; . /tmp/runbook-testbed/env; set +a)")
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Fatal("this machine runs systemd; the test is written for the testbed's init.d services")
	}
	testbed(t, "up")
	testbed(t, "reset")
	cronWasInstalled := installed(t, "cron")
	monitoringReset(t)
	t.Cleanup(func() {
		exec.Command("scancel", "-u", "koopark").Run()
		monitoringReset(t)
		if !cronWasInstalled {
			shellOK(t, "DEBIAN_FRONTEND=noninteractive apt-get -y -q purge cron cron-daemon-common")
		}
	})

	// validate, fmt, a blank checklist.
	if out, err := exec.Command(runbookBin, "validate", filepath.Join(repoRoot, "runbooks", "monitoring.hcl")).CombinedOutput(); err != nil || strings.Contains(string(out), "Warning") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	if out, err := exec.Command(runbookBin, "fmt", "-check", "-diff", filepath.Join(repoRoot, "runbooks", "monitoring.hcl")).CombinedOutput(); err != nil {
		t.Fatalf("fmt -check: %v\n%s", err, out)
	}
	cl, err := exec.Command(runbookBin, "checklist", filepath.Join(repoRoot, "runbooks", "monitoring.hcl")).Output()
	if err != nil || strings.Count(string(cl), "- [ ] ") != 10 || strings.Contains(string(cl), "[x]") {
		t.Fatalf("checklist: %v, want 10 blank lines:\n%s", err, cl)
	}

	if p := runbookFile(t, "plan", "monitoring.hcl", "--detailed-exitcode"); p.code != 2 {
		t.Fatalf("plan exited %d, want 2 (changes pending)", p.code)
	}

	// First apply: everything is set up and proven.
	a := runbookFile(t, "apply", "monitoring.hcl")
	if a.code != 0 {
		t.Fatalf("apply exited %d", a.code)
	}
	if n, lines := ticked(a); n != 10 || len(a.report.Checklist) != 10 {
		t.Errorf("ticked %d of %d (%q), want 10 of 10:\n%s", n, len(a.report.Checklist), lines, a.md)
	}
	for _, it := range a.report.Checklist {
		if it.Ticked && len(it.Evidence) == 0 {
			t.Errorf("%q ticked without evidence", it.Text)
		}
	}
	st := stepStatuses(a)
	for step, want := range map[string]string{
		"node_exporter_args": "changed", "prometheus_args": "changed", "prometheus_config": "changed",
		"node_exporter_restart": "changed", "prometheus_restart": "changed", "prometheus_reload": "skipped",
		"node_scraped": "ok", "qos_metrics": "ok",
	} {
		if st[step] != want {
			t.Errorf("first apply: step %s is %s, want %s", step, st[step], want)
		}
	}
	// Stopped by monitoringReset; on a host without policy-rc.d a package
	// install starts them itself.
	for _, step := range []string{"node_exporter", "prometheus", "cron"} {
		if st[step] != "changed" && !(st["monitoring_packages"] == "changed" && st[step] == "unchanged") {
			t.Errorf("first apply: step %s is %s, want changed", step, st[step])
		}
	}
	// No systemd here: the daemons start through their init.d scripts.
	for step, svc := range map[string]string{"node_exporter": "prometheus-node-exporter", "prometheus": "prometheus", "cron": "cron"} {
		_, _, _, cmds := a.report.step(t, step)
		if joined := strings.Join(cmds, "\n"); st[step] == "changed" && !strings.Contains(joined, "service "+svc+" start") || strings.Contains(joined, "systemctl start") {
			t.Errorf("step %s did not start %s through service(8): %q", step, svc, cmds)
		}
	}
	for _, p := range monitoringPackages {
		if !installed(t, p) {
			t.Errorf("%s is not installed", p)
		}
	}
	// The node exporter's options in its /etc/default file, as its init
	// script reads them; the running daemon has them.
	def := shellOK(t, `. /etc/default/prometheus-node-exporter; printf %s "$ARGS"`)
	if def != "--collector.textfile.directory="+textfileDir+" --web.listen-address=127.0.0.1:9100" {
		t.Errorf("/etc/default/prometheus-node-exporter sets ARGS=%q", def)
	}
	neCmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", livePid(nodeExporterPid)))
	if !strings.Contains(string(neCmd), "--collector.textfile.directory="+textfileDir) {
		t.Errorf("the running node exporter (pid %d) lacks the textfile directory: %q", livePid(nodeExporterPid), neCmd)
	}
	shellOK(t, "promtool check config /etc/prometheus/prometheus.yml")
	for path, want := range map[string]string{collectorPath: "755 root root", cronFile: "644 root root"} {
		if got := strings.TrimSpace(shellOK(t, "stat -c '%a %U %G' "+path)); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	// The collector's file, checked by Prometheus's own linter.
	shellOK(t, "promtool check metrics < "+textfileDir+"/slurm_qos.prom")
	pids := map[string]int{"prometheus": livePid(prometheusPid), "node exporter": livePid(nodeExporterPid), "cron": livePid(crondPid)}
	for name, pid := range pids {
		if pid == 0 {
			t.Fatalf("%s does not run after apply", name)
		}
	}
	if v, ok := promValue(t, `up{job="node"}`); !ok || v != 1 {
		t.Fatalf(`up{job="node"} = %v (%v), want 1`, v, ok)
	}

	// Second apply: nothing to do, no handler, the same daemons.
	off := sshdLogSize(t)
	if p := runbookFile(t, "plan", "monitoring.hcl", "--detailed-exitcode"); p.code != 0 {
		t.Errorf("second plan exited %d, want 0", p.code)
	}
	again := runbookFile(t, "apply", "monitoring.hcl")
	if again.code != 0 {
		t.Fatalf("second apply exited %d", again.code)
	}
	for step, status := range stepStatuses(again) {
		if status != "unchanged" && status != "ok" && status != "skipped" {
			t.Errorf("second apply: step %s is %s", step, status)
		}
	}
	for _, h := range []string{"node_exporter_restart", "prometheus_restart", "prometheus_reload"} {
		if s := stepStatuses(again)[h]; s != "skipped" {
			t.Errorf("second apply: handler %s is %s, want skipped", h, s)
		}
	}
	for _, c := range commandsSince(t, off) {
		if strings.Contains(c, "apt-get -y") || strings.Contains(c, "service prometheus") && !strings.Contains(c, " status") {
			t.Errorf("second plan/apply ran %q", c)
		}
	}
	for name, pid := range map[string]int{"prometheus": livePid(prometheusPid), "node exporter": livePid(nodeExporterPid), "cron": livePid(crondPid)} {
		if pid != pids[name] {
			t.Errorf("%s: pid %d → %d after an apply with nothing to do", name, pids[name], pid)
		}
	}

	// A changed prometheus.yml reloads Prometheus (same pid, new config)
	// and leaves the node exporter alone.
	r := runbookFile(t, "apply", "monitoring.hcl", "--var", "scrape_interval=10s")
	if r.code != 0 {
		t.Fatalf("apply with scrape_interval=10s exited %d", r.code)
	}
	st = stepStatuses(r)
	for step, want := range map[string]string{"prometheus_config": "changed", "prometheus_reload": "changed", "prometheus_restart": "skipped", "node_exporter_restart": "skipped"} {
		if st[step] != want {
			t.Errorf("after a config change: step %s is %s, want %s", step, st[step], want)
		}
	}
	if p, n := livePid(prometheusPid), livePid(nodeExporterPid); p != pids["prometheus"] || n != pids["node exporter"] {
		t.Errorf("a reload changed pids: prometheus %d → %d, node exporter %d → %d", pids["prometheus"], p, pids["node exporter"], n)
	}
	waitFor(t, "Prometheus reports scrape_interval 10s", 20*time.Second, func() bool {
		resp, err := http.Get(promURL + "/api/v1/status/config")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `scrape_interval: 10s`)
	})

	// Phase 2 with its metrics in the textfile directory, then jobs under
	// the QoS: two run, the third pends (the per-user cap is 2 GPUs).
	phase2 := apply(t, inventory, "--var", "account=hpc-users", "--metrics-file", textfileDir+"/runbook_phase2.prom")
	if phase2.code != 0 {
		t.Fatalf("phase2 apply exited %d", phase2.code)
	}
	phase2Done := time.Now()
	var jobs []string
	for i := 0; i < 3; i++ {
		cmd := exec.Command("runuser", "-u", "koopark", "--", "sbatch", "--parsable", "--job-name=monitoring-e2e",
			"--partition=viz", "--qos=moonlight", "--gres=gpu:1", "--time=00:05:00", "--output=/dev/null", "--wrap=exec sleep 300")
		cmd.Dir = "/tmp"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sbatch: %v\n%s", err, out)
		}
		jobs = append(jobs, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("scancel", jobs...).Run() })
	var queue []string
	waitFor(t, "two jobs running and one pending for a reason", time.Minute, func() bool {
		queue = strings.Split(strings.TrimSpace(slurm(t, "squeue", "-h", "-j", strings.Join(jobs, ","), "-O", "State:|,Reason:|,tres-alloc:|")), "\n")
		run, pend := 0, 0
		for _, l := range queue {
			f := strings.Split(l, "|")
			switch {
			case f[0] == "RUNNING":
				run++
			case f[0] == "PENDING" && f[1] != "None":
				pend++
			}
		}
		return run == 2 && pend == 1
	})
	var reason string
	gpus := 0
	for _, l := range queue {
		f := strings.Split(l, "|")
		if f[0] == "PENDING" {
			reason = f[1]
		}
		if f[0] == "RUNNING" && strings.Contains(f[2], "gres/gpu=1") {
			gpus++
		}
	}
	t.Logf("squeue: %q", queue)

	// Only cron runs the collector now: the metrics follow squeue within
	// a minute and a scrape.
	took := waitFor(t, "Prometheus shows the two running moonlight jobs", 3*time.Minute, func() bool {
		v, ok := promValue(t, `slurm_qos_running_jobs{qos="moonlight",user="koopark"}`)
		return ok && v == 2
	})
	t.Logf("the running jobs reached Prometheus %s after squeue showed them (cron + scrape)", took.Round(time.Second))
	// The pending job's reason as squeue gives it now (the scheduler may
	// have moved it on from the one seen above, e.g. from Resources), as
	// Prometheus has it once the collector has run since.
	waitFor(t, "Prometheus shows the pending job with squeue's reason", 2*time.Minute, func() bool {
		reason = strings.TrimSpace(slurm(t, "squeue", "-h", "-t", "PD", "-j", strings.Join(jobs, ","), "-O", "Reason:|"))
		reason = strings.TrimSuffix(reason, "|")
		v, ok := promValue(t, `slurm_qos_pending_jobs{qos="moonlight",user="koopark",reason="`+reason+`"}`)
		return ok && v == 1
	})
	t.Logf("pending reason: %s", reason)
	if v, ok := promValue(t, `slurm_qos_allocated_gpus{qos="moonlight",user="koopark"}`); !ok || v != float64(gpus) {
		t.Errorf("allocated GPUs: %v (%v), squeue says %d", v, ok, gpus)
	}
	row := strings.Split(strings.TrimSpace(slurm(t, "sacctmgr", "-n", "-P", "show", "qos", "moonlight", "format=MaxTRESPerUser,MaxWall,Priority")), "|")
	capGPUs, _ := strconv.ParseFloat(strings.TrimPrefix(row[0], "gres/gpu="), 64)
	prio, _ := strconv.ParseFloat(row[2], 64)
	for expr, want := range map[string]float64{
		`slurm_qos_max_gpus_per_user{qos="moonlight"}`: capGPUs,
		`slurm_qos_max_wall_seconds{qos="moonlight"}`:  slurmDuration(t, row[1]),
		`slurm_qos_priority{qos="moonlight"}`:          prio,
	} {
		if v, ok := promValue(t, expr); !ok || v != want {
			t.Errorf("%s = %v (%v); sacctmgr says %v", expr, v, ok, want)
		}
	}

	// runbook's own metrics of the Phase 2 run.
	if v, ok := promValue(t, `runbook_run_success{runbook="phase2"}`); !ok || v != 1 {
		t.Errorf(`runbook_run_success{runbook="phase2"} = %v (%v), want 1`, v, ok)
	}
	if v, ok := promValue(t, `runbook_run_timestamp_seconds{runbook="phase2"}`); !ok || v < float64(start.Unix()) || v > float64(phase2Done.Unix()+1) {
		t.Errorf("runbook_run_timestamp_seconds = %v (%v): not this test's Phase 2 run", v, ok)
	}
	if v, ok := promValue(t, `runbook_checklist_items_ticked{runbook="phase2"}`); !ok || v != 8 {
		t.Errorf(`runbook_checklist_items_ticked{runbook="phase2"} = %v (%v), want 8`, v, ok)
	}

	// Every panel of the Grafana dashboard: each query is valid PromQL for
	// this Prometheus and, with the jobs above, has data.
	b, err := os.ReadFile(filepath.Join(repoRoot, "runbooks", "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	queries := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			queries++
			res, err := promQuery(tg.Expr)
			switch {
			case err != nil:
				t.Errorf("panel %q: %s: %v", p.Title, tg.Expr, err)
			case len(res) == 0:
				t.Errorf("panel %q: %s has no data", p.Title, tg.Expr)
			}
		}
	}
	if len(dash.Panels) < 4 || queries < len(dash.Panels) {
		t.Errorf("the dashboard has %d panels and %d queries", len(dash.Panels), queries)
	}
}
