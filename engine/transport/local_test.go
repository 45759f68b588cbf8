package transport

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLocalRunBasics(t *testing.T) {
	l := NewLocal(LocalConfig{})
	ctx := t.Context()
	res, err := l.Run(ctx, Command{Line: "echo out; echo err >&2; exit 7"})
	if err != nil || res.ExitCode != 7 || string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" {
		t.Fatalf("got %d %q %q %v", res.ExitCode, res.Stdout, res.Stderr, err)
	}
	res, err = l.Run(ctx, Command{Argv: []string{"printf", "%s|", "a b", "it's", "$HOME", ""}})
	if err != nil || string(res.Stdout) != "a b|it's|$HOME||" {
		t.Fatalf("argv: %q %v", res.Stdout, err)
	}
	res, err = l.Run(ctx, Command{Argv: []string{"sh", "-c", `echo "$X"`}, Env: map[string]string{"X": "a'b c"}})
	if err != nil || string(res.Stdout) != "a'b c\n" {
		t.Fatalf("env with argv: %q %v", res.Stdout, err)
	}
	res, err = l.Run(ctx, Command{Line: "tr a-z A-Z", Stdin: strings.NewReader("hi\n")})
	if err != nil || string(res.Stdout) != "HI\n" {
		t.Fatalf("stdin: %q %v", res.Stdout, err)
	}
	res, err = l.Run(ctx, Command{Line: "kill -9 $$"})
	if err != nil || res.ExitCode != 137 {
		t.Fatalf("killed by signal: exit %d %v", res.ExitCode, err)
	}
	if _, err := l.Run(ctx, Command{}); err == nil {
		t.Fatal("empty command accepted")
	}
	if _, err := l.Run(ctx, Command{Line: "x", Argv: []string{"y"}}); err == nil {
		t.Fatal("Line and Argv both accepted")
	}
	if l.Describe() != "local" {
		t.Fatal(l.Describe())
	}
}

// TestEnvTravelsOnStdin: env values reach the command exactly (quotes,
// dollars, leading blanks, newlines, trailing newlines, backslashes) but
// never its command line, and the caller's stdin rules still hold after them.
func TestEnvTravelsOnStdin(t *testing.T) {
	l := NewLocal(LocalConfig{})
	ctx := t.Context()
	env := map[string]string{
		"PLAIN": "s3cr3t-value", "QUOTES": `it's "$HOME" ` + "`id`", "BLANKS": "  lead and trail \\  ",
		"LINES": "one\ntwo\n\n", "EMPTY": "", "CR": "a\rb",
	}
	script, want := "", ""
	for _, k := range []string{"BLANKS", "CR", "EMPTY", "LINES", "PLAIN", "QUOTES"} {
		script += `printf '` + k + `=[%s]' "$` + k + `"; `
		want += k + "=[" + env[k] + "]"
	}
	plan, err := planBecome(Command{Line: script, Env: env}, "")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		if len(v) > 3 && strings.Contains(plan.line, v) {
			t.Errorf("the value of %s is on the command line: %s", k, plan.line)
		}
	}
	res, err := l.Run(ctx, Command{Line: script, Env: env})
	if err != nil || string(res.Stdout) != want || len(res.Stderr) != 0 {
		t.Fatalf("got %q %q %v\nwant %q", res.Stdout, res.Stderr, err, want)
	}
	res, err = l.Run(ctx, Command{Argv: []string{"sh", "-c", `printf '%s|' "$X"; cat`}, Env: map[string]string{"X": "x"}, Stdin: strings.NewReader("in\nput")})
	if err != nil || string(res.Stdout) != "x|in\nput" {
		t.Fatalf("caller's stdin after the values: %q %v", res.Stdout, err)
	}
	res, err = l.Run(ctx, Command{Line: `read y || echo "eof $X"`, Env: map[string]string{"X": "x"}, NoStdin: true, Timeout: 5 * time.Second})
	if err != nil || string(res.Stdout) != "eof x\n" {
		t.Fatalf("NoStdin after the values: %q %v", res.Stdout, err)
	}
	res, err = l.Run(ctx, Command{Line: `read y; echo got`, Env: map[string]string{"X": "x"}, Timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) || strings.Contains(string(res.Stdout), "got") {
		t.Fatalf("default stdin must stay open after the values: %q %v", res.Stdout, err)
	}
}

func TestLocalStdinRules(t *testing.T) {
	l := NewLocal(LocalConfig{})
	res, err := l.Run(t.Context(), Command{Line: "read x; echo got", Timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) || strings.Contains(string(res.Stdout), "got") {
		t.Fatalf("default stdin must stay open: %q %v", res.Stdout, err)
	}
	res, err = l.Run(t.Context(), Command{Line: "read x || echo eof", NoStdin: true, Timeout: 5 * time.Second})
	if err != nil || string(res.Stdout) != "eof\n" {
		t.Fatalf("NoStdin: %q %v", res.Stdout, err)
	}
}

func TestLocalTimeoutKillsProcessGroup(t *testing.T) {
	l := NewLocal(LocalConfig{})
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	res, err := l.Run(t.Context(), Command{
		Line:    "sleep 30 & echo $! > " + pidFile + "; echo started; wait",
		Timeout: 300 * time.Millisecond,
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
	if string(res.Stdout) != "started\n" || res.ExitCode != -1 {
		t.Fatalf("partial result: %q exit %d", res.Stdout, res.ExitCode)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %v", el)
	}
	waitGone(t, readPid(t, pidFile), 2*time.Second)
}

func TestLocalTermIgnoredGetsKill(t *testing.T) {
	old := killGrace
	killGrace = 200 * time.Millisecond
	t.Cleanup(func() { killGrace = old })
	l := NewLocal(LocalConfig{})
	start := time.Now()
	_, err := l.Run(t.Context(), Command{Line: "trap '' TERM; while :; do sleep 0.05; done", Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %v", el)
	}
}

func TestLocalStubbornChildGetsKill(t *testing.T) {
	old := killGrace
	killGrace = 200 * time.Millisecond
	t.Cleanup(func() { killGrace = old })
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The shell dies of TERM; its background child ignores TERM and
	// must still be killed.
	_, err := NewLocal(LocalConfig{}).Run(t.Context(), Command{
		Line:    "sh -c 'trap \"\" TERM; echo $$ > " + pidFile + "; while :; do sleep 0.05; done' & wait",
		Timeout: 300 * time.Millisecond,
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
	waitGone(t, readPid(t, pidFile), 2*time.Second)
}

func TestLocalOutputCap(t *testing.T) {
	l := NewLocal(LocalConfig{})
	const limit = 32 << 10
	res, err := l.Run(t.Context(), Command{Line: "yes", OutputCap: limit, Timeout: 10 * time.Second})
	if !errors.Is(err, ErrOutputCap) || len(res.Stdout) != limit {
		t.Fatalf("want ErrOutputCap with %d bytes, got %v with %d", limit, err, len(res.Stdout))
	}
	res, err = l.Run(t.Context(), Command{Line: "head -c 1000 /dev/zero", OutputCap: 1000})
	if err != nil || len(res.Stdout) != 1000 {
		t.Fatalf("exactly the cap is fine: %v %d", err, len(res.Stdout))
	}
}

func TestLocalCancel(t *testing.T) {
	l := NewLocal(LocalConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := l.Run(ctx, Command{Line: "sleep 10"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if _, err := l.Run(ctx, Command{Line: "true"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled ctx: %v", err)
	}
}

func TestLocalFiles(t *testing.T) {
	l := NewLocal(LocalConfig{})
	dir := t.TempDir()
	p := filepath.Join(dir, "f.conf")
	if _, err := l.ReadFile(t.Context(), p); !errors.Is(err, ErrNotExist) {
		t.Fatalf("want ErrNotExist, got %v", err)
	}
	for _, c := range []string{"one\n", "two two\n"} {
		if err := l.WriteFile(t.Context(), p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := l.ReadFile(t.Context(), p)
		if err != nil || string(got) != c {
			t.Fatalf("%q %v", got, err)
		}
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", st.Mode())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temp files left: %v", entries)
	}
}

func TestShellQuoteRoundTrip(t *testing.T) {
	words := []string{"", "plain", "a b", "it's", `"dq"`, "$HOME", "`id`", "a\nb", "*", "~", "x=y", "-n", "\\", "é", "#c", "!"}
	for _, w := range words {
		out, err := exec.Command("/bin/sh", "-c", "printf '%s' "+ShellQuote(w)).Output()
		if err != nil || string(out) != w {
			t.Errorf("ShellQuote(%q) = %s -> %q %v", w, ShellQuote(w), out, err)
		}
	}
	if ShellQuote("format=Name") != "format=Name" || ShellQuote("/usr/bin/sacctmgr") != "/usr/bin/sacctmgr" {
		t.Error("safe words should stay bare")
	}
	// An assignment-looking or keyword first word must still run as a program.
	if got := JoinArgv([]string{"A=1", "x"}); got != "'A=1' x" {
		t.Errorf("JoinArgv = %s", got)
	}
	if got := JoinArgv([]string{"if"}); got != "'if'" {
		t.Errorf("JoinArgv = %s", got)
	}
}

func TestRemoteTimeoutLine(t *testing.T) {
	line := remoteTimeoutLine("echo 'hi'; exit 3", 1500*time.Millisecond)
	if !strings.Contains(line, "timeout --kill-after=2 3 ") {
		t.Fatalf("line %s", line)
	}
	cmd := exec.Command("/bin/sh", "-c", line)
	out, _ := cmd.Output()
	if string(out) != "hi\n" || cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("wrapped line: %q exit %d", out, cmd.ProcessState.ExitCode())
	}
}

func TestHintCoversSentinels(t *testing.T) {
	for _, err := range []error{ErrConnect, ErrConnectionRefused, ErrDNS, ErrConnectTimeout, ErrAuth, ErrHostKeyUnknown,
		ErrHostKeyChanged, ErrJump, ErrConnectionLost, ErrTimeout, ErrOutputCap, ErrNotExist,
		&BecomeError{Reason: BecomePasswordRequired}, &BecomeError{Reason: BecomeWrongPassword},
		&BecomeError{Reason: BecomeNotAllowed}, &BecomeError{Reason: BecomeUnknownUser}, &BecomeError{Reason: BecomeNotInstalled}} {
		if Hint(err) == "" {
			t.Errorf("no hint for %v", err)
		}
	}
	if Hint(errors.New("other")) != "" || Hint(nil) != "" {
		t.Error("hint for an unrelated error")
	}
}

// TestLocalHidesEnv: a local command inherits this process's environment
// except the variables that hold the run's secrets.
func TestLocalHidesEnv(t *testing.T) {
	t.Setenv("RB_TEST_BECOME_PW", "become-s3cret")
	t.Setenv("RUNBOOK_VAR_pw", "sensitive-v4lue")
	t.Setenv("RUNBOOK_VAR_plain", "plain-value")
	l := NewLocal(LocalConfig{HideEnv: []string{"RB_TEST_BECOME_PW", "RUNBOOK_VAR_pw"}})
	for _, cmd := range []Command{
		{Argv: []string{"env"}},
		{Line: "env", Env: map[string]string{"X": "1"}},
	} {
		res, err := l.Run(t.Context(), cmd)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%v: exit %d %v", cmd, res.ExitCode, err)
		}
		env := string(res.Stdout)
		for _, secret := range []string{"become-s3cret", "sensitive-v4lue"} {
			if strings.Contains(env, secret) {
				t.Errorf("%v: the command inherited %q", cmd, secret)
			}
		}
		if !strings.Contains(env, "RUNBOOK_VAR_plain=plain-value\n") || !strings.Contains(env, "PATH="+os.Getenv("PATH")+"\n") {
			t.Errorf("%v: the rest of the environment is missing:\n%s", cmd, env)
		}
	}
}
