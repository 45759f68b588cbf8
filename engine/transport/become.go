package transport

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
)

// BecomeReason says why sudo refused, so the CLI can give the right hint:
// a missing password is fixed in the inventory, a refused command in
// sudoers on the host.
type BecomeReason int

const (
	// BecomePasswordRequired: sudo wants a password and none was given
	// ("sudo: a password is required", "a terminal is required").
	BecomePasswordRequired BecomeReason = iota + 1
	// BecomeWrongPassword: the given password was rejected ("Sorry, try
	// again.", "incorrect password attempt").
	BecomeWrongPassword
	// BecomeNotAllowed: sudoers does not allow this user/command ("is not
	// allowed to execute", "is not in the sudoers file").
	BecomeNotAllowed
	// BecomeUnknownUser: BecomeUser does not exist on the host.
	BecomeUnknownUser
	// BecomeNotInstalled: there is no sudo on the host.
	BecomeNotInstalled
)

func (r BecomeReason) String() string {
	switch r {
	case BecomePasswordRequired:
		return "a sudo password is required"
	case BecomeWrongPassword:
		return "the sudo password was rejected"
	case BecomeNotAllowed:
		return "sudoers does not allow this command"
	case BecomeUnknownUser:
		return "the become user does not exist"
	case BecomeNotInstalled:
		return "sudo is not installed"
	}
	return "sudo failed"
}

// BecomeError is returned (with the Result) when sudo itself refused to
// run the command. errors.Is(err, ErrBecome) is true.
type BecomeError struct {
	Reason BecomeReason
	// Message is the line sudo printed, e.g. "sudo: a password is required".
	Message string
}

func (e *BecomeError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%v: %v", ErrBecome, e.Reason)
	}
	return fmt.Sprintf("%v: %v (%s)", ErrBecome, e.Reason, e.Message)
}

func (e *BecomeError) Unwrap() error { return ErrBecome }

// becomePlan is how one command is run: its line, what goes on its stdin
// before the caller's stdin, and through sudo with which markers.
type becomePlan struct {
	line     string
	password string
	// marker is the unique prompt sudo prints on stderr right before it
	// reads the password, so the password is written only when sudo asks:
	// never into the command's own stdin when a NOPASSWD rule means sudo
	// does not read it, and a second marker means the password was wrong
	// (sudo would otherwise wait for another line from a stdin that never
	// ends). It is a secret: the first line of stdin, read into
	// SUDO_PROMPT by sudoPromptScript. On a command line (sudo -p) every
	// user of the host would see it in ps, and a command that printed it
	// would be sent the password.
	marker string
	// preamble carries the Env values (see planEnv); it is written to
	// stdin before the caller's stdin, with a sudo password only once the
	// wrapper printed ready: sudo and the wrapper read the same stdin.
	preamble []byte
	ready    string
}

// readyMarker is what the wrapper under sudo prints on stderr before it
// reads anything from stdin (see planEnv): sudo is done with the password
// then. It needs no secrecy, unlike the prompt marker: only sudo writes to
// stderr before it, and once it is seen no prompt is answered any more.
const readyMarker = "[runbook-ready]"

// sudoPromptScript starts sudo with the prompt marker taken from the
// first line of stdin. /bin/sh reads a pipe byte by byte, so the rest of
// stdin is left to sudo and the command. sudo's env_reset drops
// SUDO_PROMPT from the command's environment.
const sudoPromptScript = `IFS= read -r SUDO_PROMPT && export SUDO_PROMPT && exec sudo "$@"`

// planBecome wraps cmd for sudo. Without a password it uses -n so sudo
// fails at once instead of waiting for a password nobody will type. The
// command goes to sudo as argv (not via sh -c) so sudoers rules naming one
// program, like `koopark ALL=(root) /usr/bin/sacctmgr`, match.
func planBecome(cmd Command, password string) (becomePlan, error) {
	var ready string
	if cmd.Become && password != "" && waitsForReady(cmd) {
		ready = readyMarker
	}
	argv, line, preamble, err := commandLine(cmd, ready)
	if err != nil {
		return becomePlan{}, err
	}
	if !cmd.Become {
		return becomePlan{line: line, preamble: preamble}, nil
	}
	sudo := []string{"sudo", "-n"}
	var marker string
	if password != "" {
		marker, err = newMarker("sudo")
		if err != nil {
			return becomePlan{}, err
		}
		sudo = []string{"/bin/sh", "-c", sudoPromptScript, "runbook-sudo", "-S"}
	}
	if cmd.BecomeUser != "" {
		sudo = append(sudo, "-u", cmd.BecomeUser)
	}
	sudo = append(sudo, "--")
	return becomePlan{
		line:     JoinArgv(append(sudo, argv...)),
		password: password,
		marker:   marker,
		preamble: preamble,
		ready:    ready,
	}, nil
}

// waitsForReady reports whether cmd, run with a sudo password, goes
// through the wrapper that prints readyMarker. Anything written for the
// command (Env values, Stdin) must wait for it: only the marker tells a
// slow password prompt from none at all (NOPASSWD), and a line written
// before a slow prompt would be taken by sudo as the password. A NoStdin
// command gets it when it runs through /bin/sh anyway; an Argv one keeps
// its argv form for sudoers rules that name one program, and closing its
// stdin before a slow prompt can only make sudo fail, never leak.
func waitsForReady(cmd Command) bool {
	switch {
	case len(cmd.Env) > 0, cmd.Stdin != nil:
		return true
	case cmd.NoStdin:
		return cmd.Line != "" || (len(cmd.Argv) > 0 && cmd.Argv[0] == "/bin/sh")
	}
	return false
}

func newMarker(what string) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	// No '%': sudo expands %u, %h... in prompts.
	return "[runbook-" + what + "-" + hex.EncodeToString(b) + "]", nil
}

// promptWatch sits in front of the stderr buffer and counts sudo prompts.
type promptWatch struct {
	marker []byte
	next   interface{ Write([]byte) (int, error) }

	mu       sync.Mutex
	tail     []byte
	count    int
	prompted chan struct{} // closed at the first prompt
	again    chan struct{} // closed at the second prompt: wrong password
}

func newPromptWatch(marker string, next interface{ Write([]byte) (int, error) }) *promptWatch {
	return &promptWatch{
		marker:   []byte(marker),
		next:     next,
		prompted: make(chan struct{}),
		again:    make(chan struct{}),
	}
}

func (p *promptWatch) Write(b []byte) (int, error) {
	p.mu.Lock()
	// Keep the last len(marker)-1 bytes so a marker split across two
	// writes is still seen, and count only markers that end in this chunk.
	buf := append(p.tail, b...)
	n := bytes.Count(buf, p.marker) - bytes.Count(p.tail, p.marker)
	for i := 0; i < n; i++ {
		p.count++
		switch p.count {
		case 1:
			close(p.prompted)
		case 2:
			close(p.again)
		}
	}
	keep := len(p.marker) - 1
	if len(buf) > keep {
		buf = buf[len(buf)-keep:]
	}
	p.tail = append(p.tail[:0], buf...)
	p.mu.Unlock()
	return p.next.Write(b)
}

// becomeFailure maps sudo's own complaints to a BecomeError. It only looks
// at exit status 1 (and 127 for a missing sudo) and at lines sudo itself
// prints, so a command that ran under sudo and failed with exit 1 and its
// own stderr stays a normal Result.
func becomeFailure(exitCode int, stderr []byte) *BecomeError {
	text := string(stderr)
	if exitCode == 127 && (strings.Contains(text, "sudo: not found") || strings.Contains(text, "sudo: command not found")) {
		return &BecomeError{Reason: BecomeNotInstalled, Message: strings.TrimSpace(firstLineWith(text, "sudo"))}
	}
	if exitCode != 1 {
		return nil
	}
	lines := sudoLines(text)
	checks := []struct {
		match  func(string) bool
		reason BecomeReason
	}{
		{func(l string) bool {
			return strings.HasPrefix(l, "Sorry, user ") && (strings.Contains(l, " is not allowed to execute ") || strings.Contains(l, " may not run sudo on "))
		}, BecomeNotAllowed},
		{func(l string) bool { return strings.Contains(l, " is not in the sudoers file") }, BecomeNotAllowed},
		{func(l string) bool {
			return strings.HasPrefix(l, "sudo: ") && strings.Contains(l, "incorrect password attempt")
		}, BecomeWrongPassword},
		{func(l string) bool { return l == "Sorry, try again." }, BecomeWrongPassword},
		{func(l string) bool { return strings.HasPrefix(l, "sudo: unknown user") }, BecomeUnknownUser},
		{func(l string) bool {
			return strings.HasPrefix(l, "sudo: a password is required") || strings.HasPrefix(l, "sudo: a terminal is required") ||
				strings.HasPrefix(l, "sudo: no tty present")
		}, BecomePasswordRequired},
	}
	for _, c := range checks {
		for _, l := range lines {
			if c.match(l) {
				return &BecomeError{Reason: c.reason, Message: l}
			}
		}
	}
	return nil
}

// sudoLines splits stderr into trimmed lines, without the "[sudo]
// password for USER: " prompt that precedes sudo's message on the same
// line when the prompt is the default one.
func sudoLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		for strings.HasPrefix(l, "[sudo] password for ") {
			i := strings.Index(l, ": ")
			if i < 0 {
				break
			}
			l = strings.TrimSpace(l[i+2:])
		}
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func firstLineWith(text, needle string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, needle) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
