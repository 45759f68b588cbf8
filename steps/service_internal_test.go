package steps

// Internal tests of the service probe's parser, with output captured from
// real hosts, and of the read-back's bound (svcSettle is shortened here).

import (
	"context"
	"fmt"
	"os/exec"
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
