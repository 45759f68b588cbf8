//go:build e2e

// The sudo password against a real sudo (issue 15): a slow prompt does
// not get the command's stdin, the prompt marker is on no command line of
// the host, and a NOPASSWD command that prints anything is never sent the
// password. The testbed host is this machine, so the test (root, like
// testbed/up) looks at /proc and holds sudo's time stamp lock.
package transport_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/inventory"
)

// runbookMarker is a random marker of the transport: whoever can read one
// could answer for sudo, so none may be on a command line.
var runbookMarker = regexp.MustCompile(`runbook-[a-z]+-[0-9a-f]{16}`)

type hostProcess struct {
	pid     int
	comm    string
	cmdline string // NULs as spaces, as ps shows it
	ppid    int
}

// hostProcesses lists the processes of this machine; ones that end while
// it reads are left out.
func hostProcesses() []hostProcess {
	paths, _ := filepath.Glob("/proc/[0-9]*")
	var out []hostProcess
	for _, p := range paths {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		cmdline, err1 := os.ReadFile(p + "/cmdline")
		comm, err2 := os.ReadFile(p + "/comm")
		stat, err3 := os.ReadFile(p + "/stat")
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		// stat: "PID (COMM) STATE PPID …"; COMM may hold spaces and ')'.
		after := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		var state string
		var ppid int
		fmt.Sscan(after, &state, &ppid)
		out = append(out, hostProcess{
			pid:     pid,
			comm:    strings.TrimSpace(string(comm)),
			cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")),
			ppid:    ppid,
		})
	}
	return out
}

func waitForProcess(t *testing.T, what string, match func(p hostProcess, all map[int]hostProcess) bool) hostProcess {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		procs := hostProcesses()
		byPID := make(map[int]hostProcess, len(procs))
		for _, p := range procs {
			byPID[p.pid] = p
		}
		for _, p := range procs {
			if match(p, byPID) {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s appeared on the host", what)
	return hostProcess{}
}

type ranCommand struct {
	res transport.Result
	err error
}

func runAsync(c transport.Transport, t *testing.T, cmd transport.Command) <-chan ranCommand {
	done := make(chan ranCommand, 1)
	go func() {
		res, err := c.Run(t.Context(), cmd)
		done <- ranCommand{res, err}
	}()
	return done
}

func waitRan(t *testing.T, done <-chan ranCommand) ranCommand {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(60 * time.Second):
		t.Fatal("the command did not return")
		return ranCommand{}
	}
}

// TestE2ESudoSlowPromptGetsNoStdin delays rbadmin's real sudo prompt by
// holding the lock sudo takes on its time stamp file before it asks.
func TestE2ESudoSlowPromptGetsNoStdin(t *testing.T) {
	tb := openTestbed(t)
	c := tb.connect(t, "ctl1-rbadmin")
	password, _ := tb.lookupEnv("TESTBED_RBADMIN_SUDO_PASSWORD")
	if password == "" {
		t.Fatal("TESTBED_RBADMIN_SUDO_PASSWORD is not set (see /tmp/runbook-testbed/env)")
	}
	// A first sudo makes sure the time stamp file exists.
	if res, err := c.Run(t.Context(), transport.Command{Argv: []string{"true"}, Become: true}); err != nil {
		t.Fatalf("rbadmin sudo true: %v (stderr %q)", err, res.Stderr)
	}
	ts, err := os.OpenFile("/run/sudo/ts/rbadmin", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("this test delays sudo's prompt by locking its time stamp file, which needs root: %v", err)
	}
	defer ts.Close()
	lock := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(ts.Fd(), syscall.F_SETLKW, &lock); err != nil {
		t.Fatal(err)
	}
	unlock := func() {
		lock.Type = syscall.F_UNLCK
		_ = syscall.FcntlFlock(ts.Fd(), syscall.F_SETLK, &lock)
	}
	defer unlock()

	tag := fmt.Sprintf("e2e-slow-prompt-%d", time.Now().UnixNano())
	input := "first line, not a password\nsecond\n"
	start := time.Now()
	done := runAsync(c, t, transport.Command{Argv: []string{"sh", "-c", "cat; : " + tag}, Become: true, Stdin: strings.NewReader(input)})
	waitForProcess(t, "sudo waiting for its time stamp lock", func(p hostProcess, _ map[int]hostProcess) bool {
		return p.comm == "sudo" && strings.Contains(p.cmdline, tag)
	})
	// sudo is running and has not prompted yet: what ps shows now is what
	// any user of the host can read.
	for _, p := range hostProcesses() {
		if runbookMarker.MatchString(p.cmdline) {
			t.Errorf("a marker of the transport is on the command line of pid %d (%s): %q", p.pid, p.comm, p.cmdline)
		}
		if strings.Contains(p.cmdline, password) {
			t.Errorf("the sudo password is on the command line of pid %d (%s)", p.pid, p.comm)
		}
	}
	// Longer than the grace period the transport used to give a prompt.
	time.Sleep(time.Until(start.Add(3500 * time.Millisecond)))
	unlock()

	r := waitRan(t, done)
	if r.err != nil || string(r.res.Stdout) != input || len(r.res.Stderr) != 0 {
		t.Fatalf("after a prompt %v late: stdout %q stderr %q err %v (want the input back, intact)",
			3500*time.Millisecond, r.res.Stdout, r.res.Stderr, r.err)
	}
}

// TestE2ESudoNopasswdCommandGetsNoPassword gives koopark, who may run
// sacctmgr with no password, a (decoy) password anyway. While
// `sacctmgr load file=/dev/stdin` waits for its input (it prints nothing
// first, and would complain about a password line, quoting it), the test
// writes on its stderr everything the command could print: every command
// line of the host, as in ps, and its own environment.
func TestE2ESudoNopasswdCommandGetsNoPassword(t *testing.T) {
	tb := openTestbed(t)
	h := *tb.host(t, "ctl1")
	decoy := fmt.Sprintf("Decoy%dpw", time.Now().UnixNano())
	h.BecomePasswordEnv = "RUNBOOK_E2E_DECOY_PW"
	opts := tb.opts()
	opts.LookupEnv = func(k string) (string, bool) {
		if k == h.BecomePasswordEnv {
			return decoy, true
		}
		return tb.lookupEnv(k)
	}
	c, err := inventory.Connect(t.Context(), &h, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	done := runAsync(c, t, transport.Command{Argv: []string{"sacctmgr", "load", "file=/dev/stdin"}, Become: true, Timeout: 5 * time.Second})
	cmd := waitForProcess(t, "sacctmgr under sudo", func(p hostProcess, all map[int]hostProcess) bool {
		return p.comm == "sacctmgr" && strings.Contains(p.cmdline, "file=/dev/stdin") && all[p.ppid].comm == "sudo"
	})
	var printed strings.Builder
	for _, p := range hostProcesses() {
		printed.WriteString(p.cmdline + "\n")
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.pid))
	if err != nil {
		t.Fatal(err)
	}
	printed.WriteString(strings.ReplaceAll(string(env), "\x00", "\n"))
	stderr, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/2", cmd.pid), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.WriteString(stderr, printed.String())
	stderr.Close()
	if err != nil {
		t.Fatal(err)
	}

	r := waitRan(t, done)
	if out := string(r.res.Stdout) + string(r.res.Stderr); strings.Contains(out, decoy) {
		t.Fatalf("the NOPASSWD command was sent the password: %q", tailOf(out, 300))
	}
	if !errors.Is(r.err, transport.ErrTimeout) {
		t.Fatalf("want sacctmgr still waiting for its input when the timeout ends it, got %v (stderr ends %q)", r.err, tailOf(string(r.res.Stderr), 300))
	}
}

func tailOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
