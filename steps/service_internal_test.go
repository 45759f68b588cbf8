package steps

// Internal tests of the service probe's parser, with output captured from
// real hosts, and of the read-back's bound (svcSettle is shortened here).

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// Real probe output on Debian 12 without systemd (cron 3.0pl1-162).
const (
	sysvCronRunning = "cron is running.\n@@sysv 0 0 /usr/sbin/service /usr/sbin/update-rc.d\n@@pid 3716\n@@links 4 0\n"
	sysvSSHStopped  = "sshd is not running ... failed!\n@@sysv 3 1001 /usr/sbin/service /usr/sbin/update-rc.d\n@@pid 0\n@@links 4 0\n"
	sysvMissing     = "@@missing 0 0\n"
	// systemctl show prints the properties in its own order.
	systemdActive = "ActiveState=active\nSubState=running\nLoadState=loaded\nUnitFileState=enabled\nMainPID=812\nCanReload=yes\n@@systemd 0 0\n"
	systemdGone   = "ActiveState=inactive\nSubState=dead\nLoadState=not-found\nUnitFileState=\nMainPID=0\nCanReload=no\n@@systemd 0 1000\n"
)

func TestSvcParse(t *testing.T) {
	tests := []struct {
		out  string
		want svcState
	}{
		{sysvCronRunning, svcState{init: "sysv", running: true, pid: 3716, enabled: true, statusText: "cron is running.",
			serviceCmd: "/usr/sbin/service", rcTool: "/usr/sbin/update-rc.d", sLinks: 4}},
		{sysvSSHStopped, svcState{init: "sysv", uid: 1001, enabled: true, statusCode: 3, statusText: "sshd is not running ... failed!",
			serviceCmd: "/usr/sbin/service", rcTool: "/usr/sbin/update-rc.d", sLinks: 4}},
		{sysvMissing, svcState{init: "sysv", missing: true}},
		{systemdActive, svcState{init: "systemd", running: true, pid: 812, enabled: true, unitFileState: "enabled", canReload: true,
			activeState: "active", statusText: "ActiveState=active"}},
		{systemdGone, svcState{init: "systemd", uid: 1000, missing: true, activeState: "inactive", statusText: "ActiveState=inactive"}},
		// A status action the script lacks (usage, exit 2) with a live
		// pid: not running by LSB's codes 1-3.
		{"Usage: /etc/init.d/x {start|stop}\n@@sysv 2 0 - -\n@@pid 77\n@@links 0 4\n", svcState{init: "sysv", statusCode: 2,
			statusText: "Usage: /etc/init.d/x {start|stop}", kLinks: 4}},
		// Exit 4 (status unknown): the live pid decides.
		{"@@sysv 4 0 - -\n@@pid 77\n@@links 0 0\n", svcState{init: "sysv", statusCode: 4, running: true, pid: 77}},
	}
	for i, tt := range tests {
		got, err := svcParse(tt.out)
		if err != nil {
			t.Errorf("%d: %v", i, err)
			continue
		}
		if *got != tt.want {
			t.Errorf("%d: got\n %+v\nwant\n %+v", i, *got, tt.want)
		}
	}
	for _, bad := range []string{"", "sh: syntax error\n", "@@sysv\n", "Failed to connect to bus\n@@systemd 1 0\n"} {
		if _, err := svcParse(bad); err == nil {
			t.Errorf("svcParse(%q) accepted it", bad)
		}
	}
}

// The probe line runs in a real /bin/sh: for a service no host has, it
// reports it missing whether or not the machine runs systemd.
func TestSvcProbeLineRuns(t *testing.T) {
	out, err := exec.Command("sh", "-c", (&serviceStep{name: "runbook-no-such-service"}).probeLine()).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	st, err := svcParse(string(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !st.missing {
		t.Errorf("a service no host has is not missing: %+v\n%s", st, out)
	}
}

// tinyExec is just enough of Exec for Apply, without the evidence
// package (an import cycle here).
type tinyExec struct {
	run   func(cmd transport.Command) string
	lines []string
	notes []string
}

func (e *tinyExec) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	e.lines = append(e.lines, transport.Display(cmd))
	return transport.Result{Stdout: []byte(e.run(cmd))}, nil
}
func (e *tinyExec) Files() transport.FileTransport { return nil }
func (e *tinyExec) Become() bool                   { return true }
func (e *tinyExec) Note(format string, args ...any) {
	e.notes = append(e.notes, fmt.Sprintf(format, args...))
}
func (e *tinyExec) NoteFor(line int, format string, args ...any) { e.Note(format, args...) }
func (e *tinyExec) Progress(format string, args ...any)          {}
func (e *tinyExec) DryRun() bool                                 { return false }
func (e *tinyExec) Ahead(string) bool                            { return false }
func (e *tinyExec) SourceDir() string                            { return "" }

// A restart after which the same process still runs (an init script
// whose stop failed quietly) is not a restart: Apply fails once the
// settle time is over, naming the pid.
func TestServiceRestartSamePidFails(t *testing.T) {
	defer func(d time.Duration) { svcSettle = d }(svcSettle)
	svcSettle = 300 * time.Millisecond
	ex := &tinyExec{run: func(cmd transport.Command) string {
		if cmd.Line != "" {
			return sysvCronRunning
		}
		return "Restarting periodic command scheduler: cron.\n"
	}}
	st := &serviceStep{name: "cron", state: "restarted"}
	p, err := st.Plan(context.Background(), ex)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Apply(context.Background(), ex, p)
	f, ok := err.(*Failure)
	if !ok || f.Msg != "cron: still the same process (pid 3716) after 300ms (status: cron is running.)" {
		t.Fatalf("err = %v", err)
	}
	if ex.lines[1] != "sudo service cron restart" || len(ex.lines) < 4 {
		t.Errorf("ran %q: want the restart and repeated read-backs", ex.lines)
	}
	if !strings.HasPrefix(ex.notes[len(ex.notes)-1], "cron: running (pid 3716), enabled at boot → running (pid 3716)") {
		t.Errorf("notes %q", ex.notes)
	}
}

// awks are the awk implementations on this machine, each behind a
// directory holding only an `awk` for PATH: the probe must read init
// scripts alike with Debian's mawk, busybox's and gawk.
func awks(t *testing.T) map[string]string {
	t.Helper()
	dirs := map[string]string{}
	for _, impl := range [][]string{{"gawk"}, {"mawk"}, {"original-awk"}, {"busybox", "awk"}} {
		path, err := exec.LookPath(impl[0])
		if err != nil {
			continue
		}
		if len(impl) == 2 {
			if out, err := exec.Command(path, "awk", "BEGIN { print 1 }").Output(); err != nil || string(out) != "1\n" {
				continue
			}
		}
		dir := t.TempDir()
		wrapper := "#!/bin/sh\nexec " + path + " " + strings.Join(impl[1:], " ") + " \"$@\"\n"
		if err := os.WriteFile(filepath.Join(dir, "awk"), []byte(wrapper), 0o755); err != nil {
			t.Fatal(err)
		}
		dirs[strings.Join(impl, " ")] = dir
	}
	if len(dirs) == 0 {
		t.Fatal("no awk on this machine")
	}
	return dirs
}

// scriptVars runs the probe's svcScriptVarsLine on script with only the
// given directory on PATH and returns $f (PIDFILE) and $d (DAEMON).
func scriptVars(t *testing.T, pathDir, script string) (pidfile, daemon string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", svcScriptVarsLine(transport.ShellQuote(script))+`printf '%s\n%s\n' "$f" "$d"`)
	cmd.Env = []string{"PATH=" + pathDir, "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) != 3 || lines[2] != "" {
		t.Fatalf("printed %q", out)
	}
	return lines[0], lines[1]
}

// shellVars is the oracle for a script the awk reading must understand:
// /bin/sh itself sources it (the test's scripts only assign) and prints
// PIDFILE and DAEMON.
func shellVars(t *testing.T, script string) (pidfile, daemon string) {
	t.Helper()
	out, err := exec.Command("/bin/sh", "-c", `. "$1"; printf '%s\n%s\n' "$PIDFILE" "$DAEMON"`, "sh", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(out), "\n")
	return lines[0], lines[1]
}

// Debian's /etc/init.d/prometheus-node-exporter (1.5.0-1+b6, in
// testdata) names its pid file and daemon through $NAME; the probe reads
// them as the shell would, which is what dash says of the script's
// assignment lines (the script itself cannot be sourced here: it sources
// /lib/init/init-d-script, which acts).
func TestSvcScriptVarsNodeExporter(t *testing.T) {
	fixture, err := filepath.Abs("testdata/prometheus-node-exporter.init")
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var assigns []string
	for line := range strings.Lines(string(text)) {
		if regexp.MustCompile(`^[A-Z_]+=`).MatchString(line) {
			assigns = append(assigns, line)
		}
	}
	oracle := filepath.Join(t.TempDir(), "assignments")
	if err := os.WriteFile(oracle, []byte(strings.Join(assigns, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	wantPid, wantDaemon := shellVars(t, oracle)
	if wantPid != "/run/prometheus/prometheus-node-exporter.pid" || wantDaemon != "/usr/bin/prometheus-node-exporter" {
		t.Fatalf("the shell reads the fixture's assignments as PIDFILE=%q DAEMON=%q: not Debian's script", wantPid, wantDaemon)
	}
	for impl, dir := range awks(t) {
		if pid, daemon := scriptVars(t, dir, fixture); pid != wantPid || daemon != wantDaemon {
			t.Errorf("%s: PIDFILE=%q DAEMON=%q, want %q %q", impl, pid, daemon, wantPid, wantDaemon)
		}
	}
}

// Plain assignments are expanded as the shell does; anything only a
// shell could work out reads as unknown, and nothing of the script runs.
func TestSvcScriptVars(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	known := []string{
		"NAME=foo\nPIDFILE=/run/${NAME}/$NAME.pid\nDAEMON=\"/usr/sbin/$NAME\"\n",
		"export NAME=foo\n  PIDFILE='/run/x.pid'  # literal\nDAEMON=/usr/sbin/$NAME; export DAEMON\n",
		"PIDFILE=/run/a.pid\nPIDFILE=/run/b.pid\nD=/usr/bin\nDAEMON=$D/x\n",
		"RUN=/run\nN=a\nN=\"$N-b\"\nPIDFILE=$RUN/$N.pid\n",
		"PIDFILE=\n",
		"PIDFILE=/run/top.pid\nstop_it() {\n\tPIDFILE=/run/other.pid\n}\n",
		"if true; then\n  PIDFILE=/run/x.pid\nfi\n",
	}
	unknown := []string{
		"PIDFILE=/run/$NAME.pid\nNAME=foo\n",                        // used before it is assigned
		"NAME=$(touch " + marker + ")\nPIDFILE=/run/$NAME.pid\n",    // command substitution
		"NAME=`touch " + marker + "`\nPIDFILE=\"/run/$NAME.pid\"\n", // backquotes
		"PIDFILE=${PIDFILE:-/run/x.pid}\n",
		"PIDFILE=$PIDDIR/x.pid\n", // from /etc/default
		"NAME=a\nNAME=$(touch " + marker + ")\nPIDFILE=/run/$NAME.pid\n",
		"PIDFILE=/run/x.pid touch " + marker + "\n",
		"PIDFILE=\"/run/$(touch " + marker + ").pid\"\n",
		"PIDFILE=\"/run/x\\\".pid\"\n",
		"PIDFILE=/run/*.pid\n",
		"PIDFILE=$1\n",
	}
	write := func(i int, text string) string {
		p := filepath.Join(dir, fmt.Sprintf("script%d", i))
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for impl, awkDir := range awks(t) {
		for i, text := range known {
			script := write(i, text)
			wantPid, wantDaemon := shellVars(t, script)
			if pid, daemon := scriptVars(t, awkDir, script); pid != wantPid || daemon != wantDaemon {
				t.Errorf("%s on %q: PIDFILE=%q DAEMON=%q, want what sh says: %q %q", impl, text, pid, daemon, wantPid, wantDaemon)
			}
		}
		for i, text := range unknown {
			if pid, _ := scriptVars(t, awkDir, write(100+i, text)); pid != "" {
				t.Errorf("%s on %q: PIDFILE=%q, want unknown", impl, text, pid)
			}
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("reading the scripts ran a command of theirs")
	}
	// Without awk the values are unknown, and the probe goes on.
	if pid, daemon := scriptVars(t, t.TempDir(), write(0, known[0])); pid != "" || daemon != "" {
		t.Errorf("without awk: %q %q", pid, daemon)
	}
}
