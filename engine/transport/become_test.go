package transport

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeSudo imitates Debian 12's sudo 1.9 as captured in the slurm facts
// note (§7): exact messages, prompt on stderr without newline, exit 1.
// FAKE_SUDO_MODE: nopasswd | password | notallowed | notinsudoers.
// FAKE_SUDO_PROMPT_DELAY: seconds before the first prompt (a slow PAM).
// FAKE_SUDO_PS: where to write its command line as ps would show it.
// Like sudo's env_reset, it keeps SUDO_PROMPT from the command.
const fakeSudo = `#!/bin/sh
[ -n "$FAKE_SUDO_PS" ] && printf '%s ' sudo "$@" > "$FAKE_SUDO_PS"
mode=${FAKE_SUDO_MODE:-nopasswd}
nonint=0; readstdin=0; prompt=${SUDO_PROMPT:-'[sudo] password for tester: '}; user=root
unset SUDO_PROMPT
while [ $# -gt 0 ]; do
  case "$1" in
    -n) nonint=1; shift;;
    -S) readstdin=1; shift;;
    -p) prompt=$2; shift 2;;
    -u) user=$2; shift 2;;
    --) shift; break;;
    -*) echo "fake sudo: unexpected option $1" >&2; exit 2;;
    *) break;;
  esac
done
[ -n "$FAKE_SUDO_LOG" ] && printf '%s\n' "user=$user n=$nonint S=$readstdin" "$@" > "$FAKE_SUDO_LOG"
if [ "$user" = nosuch ]; then echo "sudo: unknown user nosuch" >&2; echo "sudo: error initializing audit plugin sudoers_audit" >&2; exit 1; fi
auth() {
  if [ $nonint = 1 ]; then echo "sudo: a password is required" >&2; exit 1; fi
  if [ $readstdin = 0 ]; then
    echo "sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper" >&2
    echo "sudo: a password is required" >&2; exit 1
  fi
  [ -n "$FAKE_SUDO_PROMPT_DELAY" ] && sleep "$FAKE_SUDO_PROMPT_DELAY"
  tries=0
  while [ $tries -lt 3 ]; do
    printf '%s' "$prompt" >&2
    if ! IFS= read -r pw; then
      echo >&2; echo "sudo: no password was provided" >&2
      [ $tries -gt 0 ] && echo "sudo: $tries incorrect password attempt" >&2
      echo "sudo: a password is required" >&2
      exit 1
    fi
    [ "$pw" = "$FAKE_SUDO_PASSWORD" ] && return 0
    tries=$((tries+1))
    [ $tries -lt 3 ] && echo "Sorry, try again." >&2
  done
  echo "sudo: 3 incorrect password attempts" >&2; exit 1
}
case $mode in
  nopasswd) ;;
  password) auth ;;
  notallowed) auth; echo "Sorry, user tester is not allowed to execute '/usr/bin/$1' as root on vm." >&2; exit 1 ;;
  notinsudoers) auth; echo "tester is not in the sudoers file." >&2; exit 1 ;;
esac
exec "$@"
`

// installFakeSudo puts fakeSudo first on PATH and returns the log path.
func installFakeSudo(t *testing.T, mode, password string) (env []string, logPath string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sudo"), []byte(fakeSudo), 0o755); err != nil {
		t.Fatal(err)
	}
	logPath = filepath.Join(dir, "log")
	env = []string{
		"PATH=" + dir + ":" + os.Getenv("PATH"),
		"FAKE_SUDO_MODE=" + mode,
		"FAKE_SUDO_PASSWORD=" + password,
		"FAKE_SUDO_LOG=" + logPath,
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return env, logPath
}

func becomeReason(err error) BecomeReason {
	var be *BecomeError
	if errors.As(err, &be) {
		return be.Reason
	}
	return 0
}

func TestBecomeLocal(t *testing.T) {
	old := becomeGrace
	becomeGrace = 300 * time.Millisecond
	t.Cleanup(func() { becomeGrace = old })
	ctx := t.Context()

	t.Run("nopasswd argv goes to sudo as argv", func(t *testing.T) {
		_, logPath := installFakeSudo(t, "nopasswd", "")
		res, err := NewLocal(LocalConfig{}).Run(ctx, Command{Argv: []string{"echo", "-n", "a b"}, Become: true})
		if err != nil || string(res.Stdout) != "a b" {
			t.Fatalf("%q %v", res.Stdout, err)
		}
		log, _ := os.ReadFile(logPath)
		if string(log) != "user=root n=1 S=0\necho\n-n\na b\n" {
			t.Fatalf("sudo saw %q", log)
		}
	})
	t.Run("line goes through sh -c, user and env inside sudo", func(t *testing.T) {
		_, logPath := installFakeSudo(t, "nopasswd", "")
		res, err := NewLocal(LocalConfig{}).Run(ctx, Command{Line: `echo "$V"`, Become: true, BecomeUser: "slurm", Env: map[string]string{"V": "v1"}})
		if err != nil || string(res.Stdout) != "v1\n" {
			t.Fatalf("%q %v", res.Stdout, err)
		}
		log, _ := os.ReadFile(logPath)
		// The value is not among sudo's arguments: the env wrapper reads it
		// from stdin.
		want := "user=slurm n=1 S=0\n/bin/sh\n-c\nIFS= read -r V || { echo 'runbook: environment values missing on stdin' >&2; exit 125; }; export V; exec \"$@\"\nrunbook-env\n/bin/sh\n-c\necho \"$V\"\n"
		if string(log) != want {
			t.Fatalf("sudo saw %q", log)
		}
	})
	t.Run("env with a sudo password: password to sudo, values to the command, stdin after", func(t *testing.T) {
		for _, mode := range []string{"password", "nopasswd"} {
			installFakeSudo(t, mode, "pw")
			l := NewLocal(LocalConfig{BecomePassword: "pw"})
			start := time.Now()
			res, err := l.Run(ctx, Command{Line: `printf '%s|%s|' "$A" "$B"; cat`, Become: true,
				Env: map[string]string{"A": "pw", "B": "two\nlines\n"}, Stdin: strings.NewReader("rest")})
			if err != nil || string(res.Stdout) != "pw|two\nlines\n|rest" || len(res.Stderr) != 0 {
				t.Fatalf("%s: %q %q %v", mode, res.Stdout, res.Stderr, err)
			}
			// The ready marker, not the grace period, says when to write.
			if d := time.Since(start); d > becomeGrace {
				t.Errorf("%s: took %v, longer than the grace period", mode, d)
			}
		}
	})
	t.Run("failing command is a result, not ErrBecome", func(t *testing.T) {
		installFakeSudo(t, "nopasswd", "")
		res, err := NewLocal(LocalConfig{}).Run(ctx, Command{Line: "echo 'sacctmgr: error: Sorry, try again later' >&2; exit 1", Become: true})
		if err != nil || res.ExitCode != 1 {
			t.Fatalf("want plain exit 1, got %d %v", res.ExitCode, err)
		}
	})
	t.Run("password required", func(t *testing.T) {
		installFakeSudo(t, "password", "pw")
		res, err := NewLocal(LocalConfig{}).Run(ctx, Command{Argv: []string{"true"}, Become: true})
		if !errors.Is(err, ErrBecome) || becomeReason(err) != BecomePasswordRequired || res.ExitCode != 1 {
			t.Fatalf("got %v exit %d", err, res.ExitCode)
		}
		if !strings.Contains(err.Error(), "sudo: a password is required") || !strings.Contains(Hint(err), "become_password_env") {
			t.Fatalf("message %q hint %q", err, Hint(err))
		}
	})
	t.Run("password given: prompt answered, stdin intact", func(t *testing.T) {
		installFakeSudo(t, "password", "pw")
		l := NewLocal(LocalConfig{BecomePassword: "pw"})
		res, err := l.Run(ctx, Command{Argv: []string{"cat"}, Become: true, Stdin: strings.NewReader("data\n")})
		if err != nil || string(res.Stdout) != "data\n" || len(res.Stderr) != 0 {
			t.Fatalf("%q %q %v", res.Stdout, res.Stderr, err)
		}
		// Default stdin stays open under sudo too, and the password is not in it.
		res, err = l.Run(ctx, Command{Line: "read x; echo got:$x", Become: true, Timeout: 500 * time.Millisecond})
		if !errors.Is(err, ErrTimeout) || strings.Contains(string(res.Stdout), "pw") {
			t.Fatalf("%q %v", res.Stdout, err)
		}
	})
	t.Run("slow prompt: stdin waits for it, never taken as the password", func(t *testing.T) {
		installFakeSudo(t, "password", "pw")
		t.Setenv("FAKE_SUDO_PROMPT_DELAY", "0.8") // well past becomeGrace
		l := NewLocal(LocalConfig{BecomePassword: "pw"})
		res, err := l.Run(ctx, Command{Argv: []string{"cat"}, Become: true, Stdin: strings.NewReader("first line\nsecond\n")})
		if err != nil || string(res.Stdout) != "first line\nsecond\n" || len(res.Stderr) != 0 {
			t.Fatalf("%q %q %v", res.Stdout, res.Stderr, err)
		}
		// A NoStdin line is not closed under a prompt that is still to come.
		res, err = l.Run(ctx, Command{Line: "cat; echo done", Become: true, NoStdin: true})
		if err != nil || string(res.Stdout) != "done\n" || len(res.Stderr) != 0 {
			t.Fatalf("NoStdin: %q %q %v", res.Stdout, res.Stderr, err)
		}
	})
	t.Run("prompt marker on no command line; a NOPASSWD command printing one gets no password", func(t *testing.T) {
		installFakeSudo(t, "nopasswd", "")
		psLine := filepath.Join(t.TempDir(), "ps")
		t.Setenv("FAKE_SUDO_PS", psLine)
		l := NewLocal(LocalConfig{BecomePassword: "pw-secret"})
		// The command shows everything it can learn (sudo's command line as
		// ps shows it, its environment) on stderr, then echoes its stdin.
		res, err := l.Run(ctx, Command{Argv: []string{"sh", "-c", `{ cat "$FAKE_SUDO_PS"; echo; env; } >&2; read -r line; echo "got:$line"`},
			Become: true, Timeout: time.Second})
		if strings.Contains(string(res.Stdout), "pw-secret") {
			t.Fatalf("the command was sent the password: %q", res.Stdout)
		}
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("want the command still waiting for stdin, got %v (stdout %q)", err, res.Stdout)
		}
		ps, _ := os.ReadFile(psLine)
		if !strings.HasPrefix(string(ps), "sudo -S -- sh -c ") || strings.Contains(string(ps), "runbook-") {
			t.Fatalf("sudo's command line: %q", ps)
		}
	})
	t.Run("password given but sudo does not ask", func(t *testing.T) {
		installFakeSudo(t, "nopasswd", "")
		l := NewLocal(LocalConfig{BecomePassword: "secret"})
		res, err := l.Run(ctx, Command{Argv: []string{"cat"}, Become: true, Stdin: strings.NewReader("only data\n")})
		if err != nil || string(res.Stdout) != "only data\n" {
			t.Fatalf("password leaked into stdin or data lost: %q %v", res.Stdout, err)
		}
		res, err = l.Run(ctx, Command{Argv: []string{"echo", "hi"}, Become: true})
		if err != nil || string(res.Stdout) != "hi\n" {
			t.Fatalf("%q %v", res.Stdout, err)
		}
	})
	t.Run("wrong password fails fast", func(t *testing.T) {
		installFakeSudo(t, "password", "pw")
		start := time.Now()
		res, err := NewLocal(LocalConfig{BecomePassword: "nope"}).Run(ctx, Command{Argv: []string{"true"}, Become: true, Timeout: 20 * time.Second})
		if becomeReason(err) != BecomeWrongPassword || !errors.Is(err, ErrBecome) {
			t.Fatalf("got %v", err)
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("took %v", time.Since(start))
		}
		if !strings.Contains(string(res.Stderr), "Sorry, try again.") || strings.Contains(string(res.Stderr), "runbook-sudo") {
			t.Fatalf("stderr %q", res.Stderr)
		}
	})
	t.Run("not allowed", func(t *testing.T) {
		installFakeSudo(t, "notallowed", "pw")
		_, err := NewLocal(LocalConfig{BecomePassword: "pw"}).Run(ctx, Command{Argv: []string{"true"}, Become: true})
		if becomeReason(err) != BecomeNotAllowed || !strings.Contains(err.Error(), "is not allowed to execute '/usr/bin/true'") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("not in sudoers", func(t *testing.T) {
		installFakeSudo(t, "notinsudoers", "pw")
		_, err := NewLocal(LocalConfig{BecomePassword: "pw"}).Run(ctx, Command{Argv: []string{"true"}, Become: true})
		if becomeReason(err) != BecomeNotAllowed {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		installFakeSudo(t, "nopasswd", "")
		_, err := NewLocal(LocalConfig{}).Run(ctx, Command{Argv: []string{"true"}, Become: true, BecomeUser: "nosuch"})
		if becomeReason(err) != BecomeUnknownUser {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no sudo", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := NewLocal(LocalConfig{}).Run(ctx, Command{Argv: []string{"true"}, Become: true})
		if becomeReason(err) != BecomeNotInstalled {
			t.Fatalf("got %v", err)
		}
	})
}

func TestBecomeFailureMapping(t *testing.T) {
	// Verbatim stderr from the facts note, §7.
	cases := []struct {
		stderr string
		code   int
		want   BecomeReason
	}{
		{"sudo: a password is required\n", 1, BecomePasswordRequired},
		{"sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required\n", 1, BecomePasswordRequired},
		{"[sudo] password for koopark: \nsudo: no password was provided\nsudo: a password is required\n", 1, BecomePasswordRequired},
		{"[sudo] password for koopark: Sorry, try again.\n[sudo] password for koopark: \nsudo: no password was provided\nsudo: 1 incorrect password attempt\n", 1, BecomeWrongPassword},
		{"[sudo] password for koopark: Sorry, try again.\n[sudo] password for koopark: Sorry, try again.\n[sudo] password for koopark: sudo: 3 incorrect password attempts\n", 1, BecomeWrongPassword},
		{"[sudo] password for koopark: Sorry, user koopark is not allowed to execute '/usr/bin/true' as root on vm.\n", 1, BecomeNotAllowed},
		{"sacctmgr: error: Problem talking to the database\n", 1, 0},
		{"sudo: a password is required\n", 2, 0}, // exit 2 is the command's own
		{"sh: 1: sudo: not found\n", 127, BecomeNotInstalled},
	}
	for _, c := range cases {
		got := becomeFailure(c.code, []byte(c.stderr))
		var reason BecomeReason
		if got != nil {
			reason = got.Reason
		}
		if reason != c.want {
			t.Errorf("%q (exit %d): got %v, want %v", c.stderr, c.code, reason, c.want)
		}
	}
}

func TestBecomeOverSSH(t *testing.T) {
	env, _ := installFakeSudo(t, "password", "pw")
	f := newFixture(t, serverOpts{env: env})
	f.cfg.BecomePassword = "pw"
	c := f.dial(t)
	res, err := c.Run(t.Context(), Command{Argv: []string{"sh", "-c", "echo root-ish; cat"}, Become: true, Stdin: strings.NewReader("in\n")})
	if err != nil || string(res.Stdout) != "root-ish\nin\n" || len(res.Stderr) != 0 {
		t.Fatalf("%q %q %v", res.Stdout, res.Stderr, err)
	}
	c.Close()

	f.cfg.BecomePassword = "wrong"
	c = f.dial(t)
	start := time.Now()
	_, err = c.Run(t.Context(), Command{Argv: []string{"true"}, Become: true})
	if becomeReason(err) != BecomeWrongPassword || time.Since(start) > 3*time.Second {
		t.Fatalf("wrong password: %v after %v", err, time.Since(start))
	}
	c.Close()

	f.cfg.BecomePassword = ""
	c = f.dial(t)
	_, err = c.Run(t.Context(), Command{Argv: []string{"true"}, Become: true})
	if becomeReason(err) != BecomePasswordRequired {
		t.Fatalf("no password: %v", err)
	}
}
