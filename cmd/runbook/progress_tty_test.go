package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: what runbook writes to slave
// arrives, as a terminal would show it, on master.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Fatalf("pseudo-terminal number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatalf("opening the pseudo-terminal's slave: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 200}); err != nil {
		t.Fatalf("setting the terminal size: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// ttyRun is one run of the runbook binary with stderr on a terminal.
type ttyRun struct {
	code         int
	tty, stdout  string
	screenOfTTY  string
	stderrOnPipe string
}

// runOnTerminal runs runbook (this test binary acting as it) with stderr
// on a pseudo-terminal, stdout on a pipe and env added to a clean
// environment (no NO_COLOR, TERM unless given).
func runOnTerminal(t *testing.T, env []string, args ...string) ttyRun {
	t.Helper()
	master, slave := openPTY(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "NO_COLOR" && k != "TERM" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, mainEnv+"=1")
	cmd.Env = append(cmd.Env, env...)
	var stdout bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, &stdout, slave
	var tty bytes.Buffer
	read := make(chan struct{})
	go func() { io.Copy(&tty, master); close(read) }() // ends with EIO once the child has exited
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	err = cmd.Wait()
	<-read
	res := ttyRun{code: exitCode(t, err), tty: tty.String(), stdout: stdout.String()}
	var s screen
	s.write(t, res.tty)
	res.screenOfTTY = s.String()
	return res
}

var (
	sgrRe       = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	resultRe    = regexp.MustCompile(`^✓ localhost (kernel|make_dir|marker|read_marker|marker_ok) \(\d+\.\ds, (ok|changed|unchanged)\) \S.*$`)
	spinnerRune = strings.Join(spinnerFrames, "")
)

// checkFinalScreen: after the run the terminal shows one result line per
// step and nothing of the live region.
func checkFinalScreen(t *testing.T, r ttyRun) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.screenOfTTY, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("the terminal shows %d lines, want 5 result lines:\n%s", len(lines), r.screenOfTTY)
	}
	for _, l := range lines {
		if !resultRe.MatchString(l) {
			t.Errorf("terminal line %q is not a result line", l)
		}
		if strings.ContainsAny(l, spinnerRune) {
			t.Errorf("a spinner is left on the screen: %q", l)
		}
	}
}

func TestTerminalColour(t *testing.T) {
	name := uniqueName(t)
	args := []string{"apply", exampleRunbook, "--state-dir", t.TempDir(), "--var", "name=" + name, "--auto-approve"}

	r := runOnTerminal(t, []string{"TERM=xterm-256color"}, args...)
	if r.code != exitOK {
		t.Fatalf("want exit 0, got %d:\n%s\n%s", r.code, r.tty, r.stdout)
	}
	if !strings.Contains(r.tty, ansiGreen+"✓"+ansiReset) {
		t.Errorf("no colour on a terminal:\n%q", r.tty)
	}
	checkFinalScreen(t, r)
	if strings.ContainsRune(r.stdout, 0x1b) {
		t.Errorf("control codes in stdout, which is a pipe:\n%q", r.stdout)
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"NO_COLOR", []string{"TERM=xterm-256color", "NO_COLOR=1"}, nil},
		{"--no-color", []string{"TERM=xterm-256color"}, []string{"--no-color"}},
		{"-no-color", []string{"TERM=xterm-256color"}, []string{"-no-color"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runOnTerminal(t, tc.env, append(append([]string(nil), args...), tc.args...)...)
			if r.code != exitOK {
				t.Fatalf("want exit 0, got %d:\n%s\n%s", r.code, r.tty, r.stdout)
			}
			if m := sgrRe.FindString(r.tty); m != "" {
				t.Errorf("colour code %q written with %s:\n%q", m, tc.name, r.tty)
			}
			checkFinalScreen(t, r)
		})
	}
}

// TestTerminalDumb: TERM=dumb cannot move the cursor: plain lines.
func TestTerminalDumb(t *testing.T) {
	r := runOnTerminal(t, []string{"TERM=dumb"}, "apply", exampleRunbook, "--state-dir", t.TempDir(), "--var", "name="+uniqueName(t), "--auto-approve")
	if r.code != exitOK {
		t.Fatalf("want exit 0, got %d:\n%s", r.code, r.tty)
	}
	if strings.ContainsRune(r.tty, 0x1b) {
		t.Errorf("control codes with TERM=dumb:\n%q", r.tty)
	}
	if n := strings.Count(r.tty, " localhost ✓ "); n != 5 {
		t.Errorf("%d plain result lines, want 5:\n%s", n, r.tty)
	}
}
