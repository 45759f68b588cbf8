//go:build e2e

// End-to-end test of the service kind on Debian's real
// prometheus-node-exporter init.d script (issue 18), which the testbed has
// installed: state = "restarted" of the stopped daemon on a /run without
// /run/prometheus (as after a boot: /run is a tmpfs) starts it, and a
// restart of the running daemon is judged by its new pid, read from the
// pid file the script names as PIDFILE=/run/prometheus/$NAME.pid. The
// oracles are the pid file, /proc and the script's own status.
//
// The daemon is stopped at the end, or started again if it ran before;
// /run/prometheus is put back as found.
//
//	flock /tmp/testbed-e2e.flock bash -c 'set -a; . /tmp/runbook-testbed/env; set +a; go test -count=1 -tags e2e -run TestServiceNodeExporterE2E ./runbooks/'
package runbooks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	neScript  = "/etc/init.d/prometheus-node-exporter"
	neRunDir  = "/run/prometheus"
	nePidFile = neRunDir + "/prometheus-node-exporter.pid"
)

// neRunbook is one service step on the node exporter, its state a variable.
const neRunbook = `runbook "node_exporter" {
  title = "node exporter service (e2e)"
  hosts = "ctl1-rbadmin"
}

variable "state" {
  type = string
}

step "service" "node_exporter" {
  checklist = "prometheus-node-exporter is ${var.state}"
  name      = "prometheus-node-exporter"
  state     = var.state
  become    = true
}
`

// neRun runs `runbook VERB` of neRunbook with state; an apply's report is
// loaded, a plan runs with --detailed-exitcode.
func neRun(t *testing.T, verb, state string) pkgE2EResult {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "node_exporter.hcl")
	if err := os.WriteFile(file, []byte(neRunbook), 0o644); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(dir, "state")
	argv := []string{verb, file, "-i", inventory, "--state-dir", stateDir, "--var", "state=" + state}
	if verb == "apply" {
		argv = append(argv, "--auto-approve")
	} else {
		argv = append(argv, "--detailed-exitcode")
	}
	cmd := exec.Command(runbookBin, argv...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := pkgE2EResult{stdout: stdout.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("runbook %s state=%s → exit %d\n%s%s", verb, state, r.code, r.stdout, stderr.String())
	if verb != "apply" {
		return r
	}
	runs, _ := filepath.Glob(filepath.Join(stateDir, "runs", "*", "report.json"))
	if len(runs) != 1 {
		t.Fatalf("want one run record, found %v", runs)
	}
	js, err := os.ReadFile(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &r.report); err != nil {
		t.Fatal(err)
	}
	return r
}

// neProcesses are the pids of the node exporter processes that run.
func neProcesses(t *testing.T) []string {
	t.Helper()
	out, _ := exec.Command("pidof", "/usr/bin/prometheus-node-exporter").Output() // exit 1: none
	return strings.Fields(string(out))
}

// neGone: the process has exited within a few seconds. A zombie counts as
// gone: the testbed's PID 1 reaps orphans when it gets to them.
func neGone(pid int) bool {
	for range 50 {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		// pid (comm) STATE …
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i:]), ") Z") {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func TestServiceNodeExporterE2E(t *testing.T) {
	if os.Getenv("TESTBED_RBADMIN_SUDO_PASSWORD") == "" {
		t.Fatal("TESTBED_RBADMIN_SUDO_PASSWORD is not set: source the testbed's env file (set -a; . /tmp/runbook-testbed/env; set +a)")
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Fatal("this machine runs systemd; the test is written for the testbed's init.d services")
	}
	if _, err := os.Stat(neScript); err != nil {
		t.Fatalf("prometheus-node-exporter is not installed (the monitoring e2e installs it): %v", err)
	}

	// As found: whether the daemon ran, its processes, and /run/prometheus.
	wasRunning := livePid(nePidFile) > 0
	before := neProcesses(t)
	runDir, runDirErr := os.Stat(neRunDir)
	t.Cleanup(func() {
		switch running := livePid(nePidFile) > 0; {
		case running && !wasRunning:
			shellOK(t, neScript+" stop")
		case !running && wasRunning:
			shellOK(t, neScript+" start")
		}
		// A daemon without a pid file (what the script's restart of a
		// stopped one leaves when it fails) is not the script's to stop.
		for _, pid := range neProcesses(t) {
			if !slices.Contains(before, pid) && pid != strconv.Itoa(livePid(nePidFile)) {
				t.Logf("killing node exporter pid %s, started by this test without a pid file", pid)
				exec.Command("kill", pid).Run()
			}
		}
		if runDirErr != nil {
			os.Remove(neRunDir) // only when empty
			return
		}
		if err := os.MkdirAll(neRunDir, runDir.Mode().Perm()); err != nil {
			t.Error(err)
			return
		}
		st := runDir.Sys().(*syscall.Stat_t)
		if err := os.Chown(neRunDir, int(st.Uid), int(st.Gid)); err != nil {
			t.Error(err)
		}
		if err := os.Chmod(neRunDir, runDir.Mode().Perm()); err != nil {
			t.Error(err)
		}
	})

	// A stopped daemon on a /run without /run/prometheus, as after a
	// boot. Prometheus keeps its pid file there too: the directory can
	// go only when it is empty.
	if wasRunning {
		shellOK(t, neScript+" stop")
	}
	if runDirErr == nil {
		entries, err := os.ReadDir(neRunDir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) > 0 {
			t.Fatalf("%s holds %v (does prometheus run?): the test needs it empty to remove it", neRunDir, entries)
		}
		if err := os.Remove(neRunDir); err != nil {
			t.Fatal(err)
		}
	}

	// restarted, stopped: the script's start runs (its restart would not
	// create /run/prometheus and fail "unable to open pidfile").
	r := neRun(t, "plan", "restarted")
	wantLines(t, "plan", r.stdout, "> node_exporter  start prometheus-node-exporter (stopped, so restart starts it)", "state: stopped → running")
	r = neRun(t, "apply", "restarted")
	pid := livePid(nePidFile)
	st := r.step(t, "node_exporter")
	if r.code != 0 || pid == 0 {
		t.Fatalf("restarted on a stopped daemon: exit %d, pid file %s → pid %d (%s %s)", r.code, nePidFile, pid, st.errText, st.commands)
	}
	if len(st.commands) < 3 || st.commands[1] != "sudo service prometheus-node-exporter start" {
		t.Errorf("ran %q, want the probe, the start and the read-back", st.commands)
	}
	if st.summary != fmt.Sprintf("started prometheus-node-exporter (pid %d)", pid) {
		t.Errorf("summary %q, want the pid from %s (%d)", st.summary, nePidFile, pid)
	}
	r.ticked(t)

	// restarted, running: the plan shows the pid the pid file holds, and
	// the apply holds the daemon to a new one.
	r = neRun(t, "plan", "restarted")
	wantLines(t, "plan", r.stdout, fmt.Sprintf("> node_exporter  restart prometheus-node-exporter (running, pid %d)", pid))
	r = neRun(t, "apply", "restarted")
	newPid := livePid(nePidFile)
	st = r.step(t, "node_exporter")
	if r.code != 0 || newPid == 0 || newPid == pid {
		t.Fatalf("restart: exit %d, pid %d → %d (%s)", r.code, pid, newPid, st.errText)
	}
	if !neGone(pid) {
		t.Errorf("the old node exporter (pid %d) still runs", pid)
	}
	if st.commands[1] != "sudo service prometheus-node-exporter restart" || st.summary != fmt.Sprintf("restarted prometheus-node-exporter (pid %d → %d)", pid, newPid) {
		t.Errorf("restart: %q, ran %q", st.summary, st.commands)
	}
	wantLines(t, "notes", strings.Join(st.notes, "\n"), fmt.Sprintf("prometheus-node-exporter: running (pid %d)", pid))
	r.ticked(t)

	// stopped: the pid file goes with the daemon.
	r = neRun(t, "apply", "stopped")
	if st := r.step(t, "node_exporter"); r.code != 0 || livePid(nePidFile) != 0 || st.commands[1] != "sudo service prometheus-node-exporter stop" {
		t.Errorf("stop: exit %d, pid %d, ran %q", r.code, livePid(nePidFile), st.commands)
	}
	if !neGone(newPid) {
		t.Errorf("the node exporter (pid %d) still runs after the stop", newPid)
	}
	if out, err := exec.Command(neScript, "status").CombinedOutput(); err == nil {
		t.Errorf("%s status says it runs: %s", neScript, out)
	}
}
