package transport

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// ShellQuote quotes s for a POSIX shell. Words made only of characters the
// shell never treats specially stay bare, so logged command lines remain
// readable ("sacctmgr -n -P show qos format=Name"); everything else is
// single-quoted, the only quoting with no escapes inside.
func ShellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if isBareWord(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func isBareWord(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("_-.,/:@%+=", r):
		default:
			return false
		}
	}
	return true
}

// shellKeywords are words the shell parses as syntax when they come first:
// a bare `if` as argv[0] would be a syntax error rather than a program.
var shellKeywords = map[string]bool{
	"!": true, "{": true, "}": true, "case": true, "do": true, "done": true,
	"elif": true, "else": true, "esac": true, "fi": true, "for": true,
	"if": true, "in": true, "then": true, "until": true, "while": true,
	"function": true, "select": true, "time": true, "[[": true, "]]": true,
}

// JoinArgv turns argv into one shell line that runs exactly argv. The first
// word is also quoted when it contains '=' (the shell would take it as a
// variable assignment) or is a shell keyword.
func JoinArgv(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 && a != "" && (strings.Contains(a, "=") || shellKeywords[a]) {
			b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
			continue
		}
		b.WriteString(ShellQuote(a))
	}
	return b.String()
}

// envArgv is the `env K=V ...` prefix for cmd.Env, sorted so the line (and
// logs of it) is stable. Env goes on the command line rather than through
// the SSH "env" request because sshd drops names not listed in AcceptEnv.
func envArgv(env map[string]string) []string {
	if len(env) == 0 {
		return nil
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []string{"env"}
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

func validEnvName(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// commandLine builds the shell line for cmd, before any become or remote
// timeout wrapping: Argv is quoted word by word, Line is used as written,
// and Env is applied through env(1).
func commandLine(cmd Command) ([]string, string, error) {
	if len(cmd.Argv) > 0 && cmd.Line != "" {
		return nil, "", fmt.Errorf("command has both Argv and Line")
	}
	if len(cmd.Argv) == 0 && strings.TrimSpace(cmd.Line) == "" {
		return nil, "", fmt.Errorf("command is empty")
	}
	for k := range cmd.Env {
		if !validEnvName(k) {
			return nil, "", fmt.Errorf("invalid environment variable name %q", k)
		}
	}
	env := envArgv(cmd.Env)
	var argv []string
	if len(cmd.Argv) > 0 {
		argv = append(env, cmd.Argv...)
	} else {
		// A Line keeps its shell syntax, so with Env or Become it has to
		// become the argument of an explicit /bin/sh -c.
		argv = append(env, "/bin/sh", "-c", cmd.Line)
	}
	if cmd.Line != "" && len(env) == 0 {
		return argv, cmd.Line, nil
	}
	return argv, JoinArgv(argv), nil
}

// remoteTimeoutLine wraps line in coreutils timeout(1) so the remote
// process ends even when the server ignores our signal request (OpenSSH
// before 7.9 did) or the connection is gone. It is one second longer than
// the local timer so the local side normally reports ErrTimeout first, and
// it falls back to the bare line on hosts without timeout(1).
func remoteTimeoutLine(line string, d time.Duration) string {
	secs := int64((d+time.Second-1)/time.Second) + 1
	inner := ShellQuote(line)
	return fmt.Sprintf("if command -v timeout >/dev/null 2>&1; then exec timeout --kill-after=2 %d /bin/sh -c %s; else exec /bin/sh -c %s; fi", secs, inner, inner)
}
