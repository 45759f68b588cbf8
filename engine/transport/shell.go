package transport

import (
	"bytes"
	"encoding/base64"
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

// Display is cmd as an admin would type it: its line, or its argv joined
// as JoinArgv does, after "sudo " (or "sudo -u USER ") when it runs
// through sudo. Plans, evidence and error messages all show commands
// through it, so a plan's command reads exactly as apply's record of it
// (the transport's real invocation, `sudo -n -- …`, is an implementation
// detail no admin types).
func Display(cmd Command) string {
	line := cmd.Line
	if len(cmd.Argv) > 0 {
		line = JoinArgv(cmd.Argv)
	}
	if !cmd.Become {
		return line
	}
	if cmd.BecomeUser != "" {
		return "sudo -u " + cmd.BecomeUser + " " + line
	}
	return "sudo " + line
}

// envPlan is how cmd.Env reaches the command. The values travel on the
// command's stdin, never on its command line: a command line is readable
// by every user of the host (ps, /proc/PID/cmdline), lands in sshd's debug
// log and in sudo's log, and env values are where secrets go. A small
// /bin/sh script, whose text holds only the names, reads one line per
// variable, exports it and execs the command, which then inherits the rest
// of stdin untouched (sh's read takes a pipe byte by byte, never more than
// its line). Values with a newline go base64-encoded.
type envPlan struct {
	script   string
	preamble []byte
}

// envArg0 names the wrapper in ps, so an admin who sees it knows whose it is.
const envArg0 = "runbook-env"

func planEnv(env map[string]string, ready string) envPlan {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	// Encoded values first, so a PATH among the plain ones cannot change
	// which base64 runs; sorted otherwise, so the line is stable in logs.
	sort.Slice(keys, func(i, j int) bool {
		ei, ej := strings.Contains(env[keys[i]], "\n"), strings.Contains(env[keys[j]], "\n")
		if ei != ej {
			return ei
		}
		return keys[i] < keys[j]
	})
	var script strings.Builder
	var preamble bytes.Buffer
	if ready != "" {
		// Tells the feeder that sudo is done with stdin (it asked for its
		// password, or never will) and the next line is ours.
		script.WriteString("printf %s " + ShellQuote(ready) + " >&2; ")
	}
	const missing = "{ echo 'runbook: environment values missing on stdin' >&2; exit 125; }"
	for _, k := range keys {
		v := env[k]
		fmt.Fprintf(&script, "IFS= read -r %s || %s; ", k, missing)
		if strings.Contains(v, "\n") {
			// $(…) strips trailing newlines; the "." keeps them.
			fmt.Fprintf(&script, "%s=$(printf %%s \"$%s\" | base64 -d; echo .); %s=${%s%%.}; ", k, k, k, k)
			v = base64.StdEncoding.EncodeToString([]byte(v))
		}
		fmt.Fprintf(&script, "export %s; ", k)
		preamble.WriteString(v)
		preamble.WriteByte('\n')
	}
	script.WriteString(`exec "$@"`)
	return envPlan{script: script.String(), preamble: preamble.Bytes()}
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
// and Env goes through planEnv, whose preamble must be written to stdin
// first (after the ready marker, when one is given; a ready marker alone
// gets the wrapper too).
func commandLine(cmd Command, ready string) (argv []string, line string, preamble []byte, err error) {
	if len(cmd.Argv) > 0 && cmd.Line != "" {
		return nil, "", nil, fmt.Errorf("command has both Argv and Line")
	}
	if len(cmd.Argv) == 0 && strings.TrimSpace(cmd.Line) == "" {
		return nil, "", nil, fmt.Errorf("command is empty")
	}
	for k := range cmd.Env {
		if !validEnvName(k) {
			return nil, "", nil, fmt.Errorf("invalid environment variable name %q", k)
		}
	}
	argv = cmd.Argv
	if len(argv) == 0 {
		if len(cmd.Env) == 0 && !cmd.Become {
			return nil, cmd.Line, nil, nil
		}
		// A Line keeps its shell syntax, so with Env or Become it has to
		// become the argument of an explicit /bin/sh -c.
		argv = []string{"/bin/sh", "-c", cmd.Line}
	}
	if len(cmd.Env) > 0 || ready != "" {
		env := planEnv(cmd.Env, ready)
		argv = append([]string{"/bin/sh", "-c", env.script, envArg0}, argv...)
		preamble = env.preamble
	}
	return argv, JoinArgv(argv), preamble, nil
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
