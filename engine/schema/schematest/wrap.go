package schematest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// The test binary acting as a wrapper finds the runbook binary in
// wrapEnv and appends what failed to the file in findingsEnv.
const (
	wrapEnv     = "RUNBOOK_SCHEMATEST_WRAP"
	findingsEnv = "RUNBOOK_SCHEMATEST_FINDINGS"
)

// Wrap puts Run.Check behind every run of the runbook binary bin by a
// test suite that runs it as a program: it returns the program to run in
// its place (this test binary, which WrapMain, called first in TestMain,
// turns into a wrapper that runs bin and checks what it wrote), and a
// function that returns, after the tests, every artefact that did not
// match its schema.
//
//	func TestMain(m *testing.M) {
//		schematest.WrapMain()
//		… build runbookBin …
//		var findings func() error
//		runbookBin, findings = schematest.Wrap(runbookBin) // the package's variable
//		code := m.Run()
//		if err := findings(); err != nil { fmt.Fprintln(os.Stderr, err); code = 1 }
//		os.Exit(code)
//	}
//
// The wrapper passes stdin, stdout, stderr, signals and the exit status
// through; it dies with bin (and bin with it). It writes to stderr only
// when an artefact does not match.
func Wrap(bin string) (exe string, findings func() error) {
	self, err := os.Executable()
	if err == nil {
		var f *os.File
		if f, err = os.CreateTemp("", "schematest-findings-*"); err == nil {
			f.Close()
			path := f.Name()
			os.Setenv(wrapEnv, bin)
			os.Setenv(findingsEnv, path)
			return self, func() error {
				defer os.Remove(path)
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				if len(b) > 0 {
					return fmt.Errorf("artefacts of runbook that do not match docs/schemas/:\n%s", b)
				}
				return nil
			}
		}
	}
	return bin, func() error { return fmt.Errorf("schematest.Wrap: %w", err) }
}

// WrapMain, when this process was started as the wrapper of Wrap, runs
// the runbook binary, checks what it wrote and exits as it exited. In
// any other process it returns at once.
func WrapMain() {
	bin := os.Getenv(wrapEnv)
	if bin == "" {
		return
	}
	os.Exit(wrapped(bin, os.Args[1:]))
}

func wrapped(bin string, args []string) int {
	findings := os.Getenv(findingsEnv)
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, wrapEnv+"=") && !strings.HasPrefix(kv, findingsEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	var stdout bytes.Buffer
	cmd.Stdout = os.Stdout
	if verb, flags := parseArgs(args); (verb == "apply" || verb == "plan") && flags["json"] == "true" {
		cmd.Stdout = io.MultiWriter(os.Stdout, &stdout)
	}
	// bin dies with the wrapper (a test that kills what it started).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	started := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "schematest wrapper: %v\n", err)
		return 127
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	signal.Stop(sigs)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintf(os.Stderr, "schematest wrapper: %v\n", err)
		return 127
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	run := Run{Args: args, Stdout: stdout.String(), Started: started, Killed: ws.Signaled()}
	if _, errs := run.Check(); len(errs) > 0 {
		msg := errors.Join(errs...).Error() + "\n"
		fmt.Fprint(os.Stderr, msg)
		if f, err := os.OpenFile(findings, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			f.WriteString(msg)
			f.Close()
		}
	}
	if ws.Signaled() {
		// Die as bin died.
		sig := ws.Signal()
		signal.Reset(sig)
		syscall.Kill(os.Getpid(), sig)
		time.Sleep(time.Second)
		return 128 + int(sig)
	}
	return cmd.ProcessState.ExitCode()
}
