package steps_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

// fakeInit is a host's init system as the service kind sees it: answers
// the probe in the formats `service NAME status`, the pid lookup and
// `systemctl show` print (real ones are in service_internal_test.go) and
// carries out service/systemctl/update-rc.d commands on its model.
type fakeInit struct {
	mu      sync.Mutex
	systemd bool
	uid     int
	missing bool
	running bool
	pid     int
	nextPid int
	// sysv boot links in rc2.d–rc5.d.
	sLinks, kLinks int
	// systemd
	unitFileState string
	canReload     bool
	// lagProbes: after a start, this many probes still see the daemon
	// stopped (its pid file is written after it forked).
	lagProbes int
	lag       int
	cmds      []transport.Command
}

func (h *fakeInit) Describe() string { return "fake init" }
func (h *fakeInit) Close() error     { return nil }

func (h *fakeInit) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cmds = append(h.cmds, cmd)
	out, code := h.answer(cmd)
	return transport.Result{Stdout: []byte(out), ExitCode: code}, nil
}

func (h *fakeInit) answer(cmd transport.Command) (string, int) {
	if strings.HasPrefix(cmd.Line, "export LC_ALL=C; if [ -d /run/systemd/system ]") {
		return h.probe(), 0
	}
	a := cmd.Argv
	switch {
	case len(a) == 3 && a[0] == "service" && !h.systemd:
		return h.act(a[2]), 0
	case len(a) == 3 && a[0] == "systemctl" && h.systemd:
		switch a[1] {
		case "enable":
			h.unitFileState = "enabled"
			return "", 0
		case "disable":
			h.unitFileState = "disabled"
			return "", 0
		}
		return h.act(a[1]), 0
	case len(a) == 3 && a[0] == "update-rc.d" && !h.systemd:
		switch a[2] {
		case "defaults":
			if h.sLinks+h.kLinks == 0 {
				h.sLinks = 4
			}
		case "enable", "disable":
			if h.sLinks+h.kLinks == 0 {
				return "update-rc.d: error: no runlevel symlinks to modify, aborting!\n", 1
			}
			if a[2] == "enable" {
				h.sLinks, h.kLinks = 4, 0
			} else {
				h.sLinks, h.kLinks = 0, 4
			}
		}
		return "", 0
	}
	return "unexpected command " + transport.Display(cmd), 127
}

func (h *fakeInit) act(verb string) string {
	switch verb {
	case "start":
		if !h.running {
			h.running, h.pid, h.lag = true, h.nextPid, h.lagProbes
			h.nextPid++
		}
		return "Starting periodic command scheduler: cron.\n"
	case "stop":
		h.running, h.pid = false, 0
		return "Stopping periodic command scheduler: cron.\n"
	case "restart":
		h.running, h.pid = true, h.nextPid
		h.nextPid++
		return "Restarting periodic command scheduler: cron.\n"
	}
	return ""
}

func (h *fakeInit) probe() string {
	running := h.running
	if h.lag > 0 {
		h.lag--
		running = false
	}
	if h.systemd {
		if h.missing {
			return fmt.Sprintf("ActiveState=inactive\nSubState=dead\nLoadState=not-found\nUnitFileState=\nMainPID=0\nCanReload=no\n@@systemd 0 %d\n", h.uid)
		}
		active, sub, pid := "inactive", "dead", 0
		if running {
			active, sub, pid = "active", "running", h.pid
		}
		return fmt.Sprintf("ActiveState=%s\nSubState=%s\nLoadState=loaded\nUnitFileState=%s\nMainPID=%d\nCanReload=%s\n@@systemd 0 %d\n",
			active, sub, h.unitFileState, pid, map[bool]string{true: "yes", false: "no"}[h.canReload], h.uid)
	}
	if h.missing {
		return fmt.Sprintf("@@missing 0 %d\n", h.uid)
	}
	status, code, pid := "cron is not running ... failed!", 3, 0
	if running {
		status, code, pid = "cron is running.", 0, h.pid
	}
	return fmt.Sprintf("%s\n@@sysv %d %d /usr/sbin/service /usr/sbin/update-rc.d\n@@pid %d\n@@links %d %d\n", status, code, h.uid, pid, h.sLinks, h.kLinks)
}

func newSysv() *fakeInit { return &fakeInit{uid: 1000, nextPid: 3512, sLinks: 4} }

func TestServiceSysvStartStop(t *testing.T) {
	h := newSysv()
	st := mustDecode(t, "service", `name = "cron"
state = "started"`)

	p, _, rec, err := pkgRun(t, st, h, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != steps.Modify || p.Summary != "start cron" ||
		!reflect.DeepEqual(p.Changes, []steps.Change{{Field: "state", Current: "stopped", Desired: "running"}}) ||
		!reflect.DeepEqual(p.Commands, []string{"sudo service cron start"}) {
		t.Errorf("plan: %v %q %v %q", p.Action, p.Summary, p.Changes, p.Commands)
	}
	if cmds := rec.Commands(); len(cmds) != 1 || !cmds[0].Become {
		t.Errorf("plan ran %+v, want the one probe through sudo", cmds)
	}
	if h.running {
		t.Fatal("the plan started the daemon")
	}

	_, out, rec, err := pkgRun(t, st, h, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if lines := commandLines(rec); len(lines) != 3 || lines[1] != "sudo service cron start" || lines[0] != lines[2] {
		t.Errorf("apply ran %q", lines)
	}
	if out.Summary != "started cron (pid 3512)" || !out.Changed || !out.Outputs["pid"].RawEquals(cty.NumberIntVal(3512)) || !out.Outputs["running"].RawEquals(cty.True) {
		t.Errorf("outcome %+v", out)
	}
	if c := h.cmds[len(h.cmds)-2]; !c.NoStdin || !c.Become {
		t.Errorf("the start ran with stdin or without sudo: %+v", c)
	}
	wantNotes := []string{"cron: stopped, enabled at boot (init.d, no systemd)", "cron: stopped, enabled at boot → running (pid 3512), enabled at boot"}
	if notes := rec.Notes(); !reflect.DeepEqual(notes, wantNotes) {
		t.Errorf("notes = %q", notes)
	}

	p, _, rec, err = pkgRun(t, st, h, true, true)
	if err != nil || p.Action != steps.NoOp || len(rec.Commands()) != 1 || p.Summary != "already satisfied: cron running (pid 3512), enabled at boot" {
		t.Errorf("second run: %v %v %q %q", err, p.Action, p.Summary, commandLines(rec))
	}
	if !p.Outputs["init"].RawEquals(cty.StringVal("sysv")) || !p.Outputs["enabled"].RawEquals(cty.True) {
		t.Errorf("outputs %#v", p.Outputs)
	}

	stop := mustDecode(t, "service", "name = \"cron\"\nstate = \"stopped\"")
	p, out, rec, err = pkgRun(t, stop, h, true, true)
	if err != nil || p.Summary != "stop cron (running, pid 3512)" || out.Summary != "stopped cron" || h.running {
		t.Errorf("stop: %v %q %q running %v", err, p.Summary, out.Summary, h.running)
	}
	if p, _, rec, err = pkgRun(t, stop, h, true, true); err != nil || p.Action != steps.NoOp || len(rec.Commands()) != 1 {
		t.Errorf("stopped again: %v %v %q", err, p.Action, commandLines(rec))
	}
}

func TestServiceWaitsForThePidFile(t *testing.T) {
	h := newSysv()
	h.lagProbes = 2
	_, out, rec, err := pkgRun(t, mustDecode(t, "service", "name = \"cron\"\nstate = \"started\""), h, true, true)
	if err != nil {
		t.Fatal(err)
	}
	// probe, start, then the read-back until the daemon shows: 3 probes.
	if lines := commandLines(rec); len(lines) != 5 || lines[1] != "sudo service cron start" {
		t.Errorf("apply ran %q", lines)
	}
	if out.Summary != "started cron (pid 3512)" {
		t.Errorf("summary %q", out.Summary)
	}
}

func TestServiceRestartAlwaysActsAndChangesPid(t *testing.T) {
	h := newSysv()
	h.running, h.pid, h.nextPid = true, 3512, 3716
	st := mustDecode(t, "service", "name = \"cron\"\nstate = \"restarted\"")
	for i, want := range []string{"restarted cron (pid 3512 → 3716)", "restarted cron (pid 3716 → 3717)"} {
		p, out, rec, err := pkgRun(t, st, h, true, true)
		if err != nil {
			t.Fatal(err)
		}
		if p.Action != steps.Run || len(p.Changes) != 0 || !strings.HasPrefix(p.Summary, "restart cron (running, pid ") {
			t.Errorf("run %d plan: %v %q %v", i, p.Action, p.Summary, p.Changes)
		}
		if out.Summary != want || len(rec.Commands()) != 3 {
			t.Errorf("run %d: %q, ran %q", i, out.Summary, commandLines(rec))
		}
	}
	// A stopped service is started by a restart, and the plan says so.
	h.running, h.pid = false, 0
	p, out, rec, err := pkgRun(t, st, h, true, true)
	if err != nil || p.Summary != "start cron (stopped, so restart starts it)" ||
		!reflect.DeepEqual(p.Changes, []steps.Change{{Field: "state", Current: "stopped", Desired: "running"}}) || !h.running || out.Summary != "started cron (pid 3718)" {
		t.Errorf("restart of a stopped service: %v %q %v %q", err, p.Summary, p.Changes, out.Summary)
	}
	if lines := commandLines(rec); !reflect.DeepEqual(p.Commands, []string{"sudo service cron start"}) || len(lines) != 3 || lines[1] != "sudo service cron start" {
		t.Errorf("restart of a stopped service planned %q, ran %q", p.Commands, lines)
	}
}

// restarted on a stopped service runs the init system's start, not its
// restart, with and without systemd: Debian's init-d-script makes the pid
// file's directory in start only, so `service prometheus-node-exporter
// restart` of a stopped daemon failed ("unable to open pidfile", issue 18).
func TestServiceRestartOfStoppedServiceStarts(t *testing.T) {
	for _, tt := range []struct {
		name            string
		h               *fakeInit
		cmd, runningCmd string
	}{
		{"sysv", newSysv(), "sudo service cron start", "sudo service cron restart"},
		{"systemd", &fakeInit{systemd: true, nextPid: 900, unitFileState: "enabled"}, "sudo systemctl start cron.service", "sudo systemctl restart cron.service"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := mustDecode(t, "service", "name = \"cron\"\nstate = \"restarted\"")
			p, _, rec, err := pkgRun(t, st, tt.h, true, false)
			if err != nil {
				t.Fatal(err)
			}
			if p.Action != steps.Run || !reflect.DeepEqual(p.Commands, []string{tt.cmd}) || len(rec.Commands()) != 1 {
				t.Errorf("plan %v %q, ran %q", p.Action, p.Commands, commandLines(rec))
			}
			// Once it runs, restarted restarts.
			tt.h.running, tt.h.pid = true, 800
			if p, _, _, err := pkgRun(t, st, tt.h, true, false); err != nil || !reflect.DeepEqual(p.Commands, []string{tt.runningCmd}) {
				t.Errorf("running: %v %q", err, p.Commands)
			}
		})
	}
}

func TestServiceReloaded(t *testing.T) {
	h := newSysv()
	st := mustDecode(t, "service", "name = \"cron\"\nstate = \"reloaded\"")
	p, _, _, err := pkgRun(t, st, h, true, true)
	if err != nil || p.Action != steps.Run || !reflect.DeepEqual(p.Commands, []string{"sudo service cron start"}) || !h.running {
		t.Errorf("reload of a stopped service starts it: %v %v %q", err, p.Action, p.Commands)
	}
	p, out, _, err := pkgRun(t, st, h, true, true)
	if err != nil || p.Action != steps.Run || !reflect.DeepEqual(p.Commands, []string{"sudo service cron reload"}) || out.Summary != "reloaded cron (pid 3512)" {
		t.Errorf("reload: %v %v %q %q", err, p.Action, p.Commands, out.Summary)
	}
}

func TestServiceEnabledSysv(t *testing.T) {
	tests := []struct {
		name   string
		s, k   int
		enable bool
		cmd    string
		after  [2]int
	}{
		{"no links yet: defaults makes them", 0, 0, true, "sudo update-rc.d cron defaults", [2]int{4, 0}},
		{"disabled links: enable flips them", 0, 4, true, "sudo update-rc.d cron enable", [2]int{4, 0}},
		{"disable", 4, 0, false, "sudo update-rc.d cron disable", [2]int{0, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newSysv()
			h.sLinks, h.kLinks = tt.s, tt.k
			st := mustDecode(t, "service", fmt.Sprintf("name = \"cron\"\nenabled = %v", tt.enable))
			p, out, rec, err := pkgRun(t, st, h, true, true)
			if err != nil {
				t.Fatal(err)
			}
			if p.Action != steps.Modify || !reflect.DeepEqual(p.Commands, []string{tt.cmd}) ||
				!reflect.DeepEqual(p.Changes, []steps.Change{{Field: "enabled", Current: fmt.Sprint(!tt.enable), Desired: fmt.Sprint(tt.enable)}}) {
				t.Errorf("plan %v %q %v", p.Action, p.Commands, p.Changes)
			}
			if [2]int{h.sLinks, h.kLinks} != tt.after || !out.Outputs["enabled"].RawEquals(cty.BoolVal(tt.enable)) || len(rec.Commands()) != 3 {
				t.Errorf("links %d/%d, outputs %#v, ran %q", h.sLinks, h.kLinks, out.Outputs, commandLines(rec))
			}
			if p, _, rec, err := pkgRun(t, st, h, true, true); err != nil || p.Action != steps.NoOp || len(rec.Commands()) != 1 {
				t.Errorf("again: %v %v", err, p.Action)
			}
		})
	}
}

func TestServiceSystemd(t *testing.T) {
	h := &fakeInit{systemd: true, uid: 0, nextPid: 900, unitFileState: "disabled"}
	st := mustDecode(t, "service", "name = \"cron.service\"\nstate = \"started\"\nenabled = true")
	p, out, rec, err := pkgRun(t, st, h, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Commands, []string{"systemctl start cron.service", "systemctl enable cron.service"}) || len(p.Changes) != 2 || p.Summary != "start cron, enable cron at boot" {
		t.Errorf("plan %q %v %q", p.Commands, p.Changes, p.Summary)
	}
	if out.Summary != "started cron (pid 900), enabled cron at boot" || !out.Outputs["init"].RawEquals(cty.StringVal("systemd")) || len(rec.Commands()) != 4 {
		t.Errorf("apply %q %#v, ran %q", out.Summary, out.Outputs, commandLines(rec))
	}
	if p, _, rec, err := pkgRun(t, st, h, false, true); err != nil || p.Action != steps.NoOp || len(rec.Commands()) != 1 {
		t.Errorf("again: %v %v", err, p.Action)
	}

	fails := []struct {
		name string
		set  func(h *fakeInit)
		body string
		msg  string
	}{
		{"cannot reload", func(h *fakeInit) {}, "name = \"cron\"\nstate = \"reloaded\"", "cron.service cannot reload"},
		{"static cannot be disabled", func(h *fakeInit) { h.unitFileState = "static" }, "name = \"cron\"\nenabled = false", "is static"},
		{"masked", func(h *fakeInit) { h.unitFileState = "masked"; h.running = false }, "name = \"cron\"\nstate = \"started\"", "is masked"},
		{"missing", func(h *fakeInit) { h.missing = true }, "name = \"nosuch\"\nstate = \"started\"", "systemd has no unit nosuch.service"},
	}
	for _, f := range fails {
		t.Run(f.name, func(t *testing.T) {
			h := &fakeInit{systemd: true, running: true, pid: 900, unitFileState: "enabled"}
			f.set(h)
			_, _, rec, err := pkgRun(t, mustDecode(t, "service", f.body), h, true, false)
			if fl := failure(t, err); !strings.Contains(fl.Msg, f.msg) || fl.Hint == "" {
				t.Errorf("failure %q hint %q", fl.Msg, fl.Hint)
			}
			if len(rec.Commands()) != 1 {
				t.Errorf("ran %q", commandLines(rec))
			}
		})
	}
	// Static counts as enabled: enabled = true has nothing to do.
	h = &fakeInit{systemd: true, unitFileState: "static"}
	if p, _, _, err := pkgRun(t, mustDecode(t, "service", "name = \"cron\"\nenabled = true"), h, true, false); err != nil || p.Action != steps.NoOp {
		t.Errorf("static, enabled = true: %v %v", err, p.Action)
	}
}

func TestServiceMissingAndRoot(t *testing.T) {
	h := newSysv()
	h.missing = true
	_, _, _, err := pkgRun(t, mustDecode(t, "service", "name = \"cron\"\nstate = \"started\""), h, true, false)
	f := failure(t, err)
	if f.Msg != "no service cron on the host: there is no /etc/init.d/cron (PID 1 is not systemd)" || !strings.Contains(f.Hint, "package step") {
		t.Errorf("failure %q hint %q", f.Msg, f.Hint)
	}

	h = newSysv()
	_, _, _, err = pkgRun(t, mustDecode(t, "service", "name = \"cron\"\nstate = \"started\""), h, false, false)
	if f := failure(t, err); !strings.Contains(f.Msg, "uid 1000 without become") || !strings.Contains(f.Hint, "become = true") {
		t.Errorf("failure %q hint %q", f.Msg, f.Hint)
	}
	if p, _, _, err := pkgRun(t, mustDecode(t, "service", "name = \"cron\"\nstate = \"stopped\""), h, false, false); err != nil || p.Action != steps.NoOp {
		t.Errorf("a satisfied step needs no root: %v %v", err, p.Action)
	}
}

func TestServiceDecodeErrors(t *testing.T) {
	tests := []struct{ body, attr, msg string }{
		{`name = "cron"`, "state", "set state"},
		{"name = \"cron\"\nstate = \"running\"", "state", `(write "started")`},
		{"name = \"cron\"\nstate = \"stop\"", "state", `(write "stopped")`},
		{"name = \"cron\"\nstate = \"bounced\"", "state", `not "bounced"`},
		{"name = \"\"\nstate = \"started\"", "name", "name is empty"},
		{"name = \"cron; reboot\"\nstate = \"started\"", "name", "is not a service name"},
		{"name = \"../cron\"\nstate = \"started\"", "name", "is not a service name"},
		{"name = \"cr*n\"\nstate = \"started\"", "name", "is not a service name"},
		{"name = \"-cron\"\nstate = \"started\"", "name", "is not a service name"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, err := decode(t, "service", tt.body)
			var ae *steps.AttrError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an AttrError", err)
			}
			if ae.Attr != tt.attr || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("AttrError{%s} %q, want attribute %s and %q", ae.Attr, err, tt.attr, tt.msg)
			}
		})
	}
	k := steps.Builtin()["service"].(steps.Validator)
	unknown := cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("cron"), "state": cty.UnknownVal(cty.String), "enabled": cty.NullVal(cty.Bool)})
	if err := k.Validate(unknown); err != nil {
		t.Errorf("unknown state at validate: %v", err)
	}
}

func TestServiceResources(t *testing.T) {
	st := mustDecode(t, "service", "name = \"cron.service\"\nstate = \"started\"")
	reads, writes := st.(steps.Resourcer).Resources()
	if !reflect.DeepEqual(reads, []string{"service/cron", "packages"}) || !reflect.DeepEqual(writes, []string{"service/cron"}) {
		t.Errorf("reads %q writes %q", reads, writes)
	}
}
