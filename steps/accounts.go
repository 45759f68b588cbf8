package steps

import (
	"context"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

// This file holds what the local-account kinds (user, group) share:
// checking names and ids before anything runs, reading several getent/id
// answers from one remote command, parsing passwd and group entries, and
// turning a failed useradd/groupmod… into advice.

// accountNameRe is shadow's own rule for user and group names
// (is_valid_name: [a-zA-Z0-9_.][a-zA-Z0-9_.-]*$?), so a name validate
// accepts is one useradd/groupadd accept without --badname.
var accountNameRe = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$`)

// maxAccountID is the largest uid/gid: (uid_t)-1 = 4294967295 means "no
// id" to the kernel and chown, so shadow refuses it.
const maxAccountID = 4294967294

// checkAccountName reports why name cannot be a user or group name.
func checkAccountName(attr, what, name string) error {
	bad := func(format string, args ...any) error {
		return &AttrError{Attr: attr, Err: fmt.Errorf("%s name %q: "+format, append([]any{what, name}, args...)...)}
	}
	switch {
	case name == "":
		return &AttrError{Attr: attr, Err: fmt.Errorf("%s name is empty", what)}
	case len(name) > 32:
		return bad("longer than 32 characters (useradd and groupadd refuse it)")
	case name == "." || name == "..":
		return bad("not a usable name")
	case strings.Trim(name, "0123456789") == "":
		// getent and chown read an all-digit name as a numeric id.
		return bad("only digits would be read as a numeric id")
	case !accountNameRe.MatchString(name):
		return bad("use letters, digits, _, . and - (not first), and at most a final $")
	}
	return nil
}

// checkAccountID checks a uid/gid value as soon as it is known.
func checkAccountID(attr string, v cty.Value) (string, error) {
	bf := v.AsBigFloat()
	if !bf.IsInt() || bf.Sign() < 0 || bf.Cmp(new(big.Float).SetInt64(maxAccountID)) > 0 {
		return "", &AttrError{Attr: attr, Err: fmt.Errorf("must be a whole number from 0 to %d, not %s", maxAccountID, bf.Text('g', -1))}
	}
	n, _ := bf.Int64()
	return strconv.FormatInt(n, 10), nil
}

// checkPasswdField refuses what cannot be stored in one field of
// /etc/passwd: its separator ':' and line breaks (usermod refuses them
// too, but only on the host, after the plan said it would work).
func checkPasswdField(attr, s string) error {
	if i := strings.IndexAny(s, ":\n\r\x00"); i >= 0 {
		return &AttrError{Attr: attr, Err: fmt.Errorf("cannot contain %q (it is a field of /etc/passwd)", s[i:i+1])}
	}
	return nil
}

// acctAbsPath: shell and home are stored as written, so a relative path
// would be resolved against whatever directory a login starts in.
func acctAbsPath(attr, s string) error {
	if err := checkPasswdField(attr, s); err != nil {
		return err
	}
	if !strings.HasPrefix(s, "/") {
		return &AttrError{Attr: attr, Err: fmt.Errorf("must be an absolute path, not %q", s)}
	}
	return nil
}

// acctState reads state = "present" | "absent".
func acctState(v cty.Value) (string, error) {
	if v.IsNull() {
		return "present", nil
	}
	s := v.AsString()
	if s != "present" && s != "absent" {
		return "", &AttrError{Attr: "state", Err: fmt.Errorf("must be \"present\" or \"absent\", not %q", s)}
	}
	return s, nil
}

// acctKnown returns an attribute's value when it is set and known; a plan or
// validate with step results still unknown checks the rest.
func acctKnown(cfg cty.Value, name string) (cty.Value, bool) {
	v := cfg.GetAttr(name)
	if v.IsNull() || !v.IsWhollyKnown() {
		return v, false
	}
	return v, true
}

// acctSection is one command's output in a combined probe.
type acctSection struct {
	out  string
	code int
}

// acctMarker matches the line `echo :$?` prints after each command of
// a combined probe. No passwd or group entry and no name `id` prints can
// be such a line: ':' separates the fields of both files and cannot be
// part of a name.
var acctMarker = regexp.MustCompile(`^:(\d+)$`)

// acctProbeLine joins read-only commands into one shell line, each
// followed by its exit status on a line of its own, so that reading an
// account costs one round trip however many databases it consults.
func acctProbeLine(cmds ...string) string {
	parts := make([]string, 0, 2*len(cmds))
	for _, c := range cmds {
		parts = append(parts, c, "echo :$?")
	}
	return strings.Join(parts, "; ")
}

// acctSplit reads what acctProbeLine's line printed: n outputs, each
// with its exit status.
func acctSplit(stdout []byte, n int) ([]acctSection, error) {
	var secs []acctSection
	var cur strings.Builder
	for line := range strings.Lines(string(stdout)) {
		if m := acctMarker.FindStringSubmatch(strings.TrimSuffix(line, "\n")); m != nil {
			code, _ := strconv.Atoi(m[1])
			secs = append(secs, acctSection{out: cur.String(), code: code})
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	if len(secs) != n || cur.Len() > 0 {
		return nil, fmt.Errorf("the probe printed %d of the %d answers it should have (output: %q)", len(secs), n, tail(string(stdout), 5))
	}
	return secs, nil
}

// acctProbe runs a combined probe (no sudo: getent and id read world-
// readable databases) and splits its answers.
func acctProbe(ctx context.Context, ex Exec, cmds ...string) ([]acctSection, string, error) {
	line := acctProbeLine(cmds...)
	res, err := ex.Run(ctx, transport.Command{Line: line})
	if err != nil {
		return nil, line, err
	}
	if res.ExitCode != 0 {
		// The line ends with echo, so anything else means the shell
		// itself failed.
		return nil, line, exitFailure(line, res)
	}
	secs, err := acctSplit(res.Stdout, len(cmds))
	if err != nil {
		return nil, line, &Failure{Msg: fmt.Sprintf("`%s`: %v", line, err)}
	}
	return secs, line, nil
}

// acctGetentFound reads getent's exit status: 0 found, 2 not found; any
// other (1: bad arguments, 3: enumeration unsupported) is a failure.
func acctGetentFound(db, key string, s acctSection) (bool, error) {
	switch s.code {
	case 0:
		return true, nil
	case 2:
		return false, nil
	}
	return false, &Failure{Msg: fmt.Sprintf("`getent %s %s` exited %d", db, key, s.code)}
}

// acctPasswd is one line of `getent passwd`.
type acctPasswd struct {
	name, uid, gid, comment, home, shell string
}

func acctParsePasswd(line string) (acctPasswd, error) {
	f := strings.Split(strings.TrimRight(line, "\n"), ":")
	if len(f) != 7 {
		return acctPasswd{}, fmt.Errorf("not a passwd entry (want 7 fields separated by ':'): %q", line)
	}
	for _, id := range []string{f[2], f[3]} {
		if _, err := strconv.ParseUint(id, 10, 32); err != nil {
			return acctPasswd{}, fmt.Errorf("passwd entry with a non-numeric id %q: %q", id, line)
		}
	}
	return acctPasswd{name: f[0], uid: f[2], gid: f[3], comment: f[4], home: f[5], shell: f[6]}, nil
}

// acctGroup is one line of `getent group`.
type acctGroup struct {
	name, gid string
	members   []string
}

func acctParseGroup(line string) (acctGroup, error) {
	f := strings.Split(strings.TrimRight(line, "\n"), ":")
	if len(f) != 4 {
		return acctGroup{}, fmt.Errorf("not a group entry (want 4 fields separated by ':'): %q", line)
	}
	if _, err := strconv.ParseUint(f[2], 10, 32); err != nil {
		return acctGroup{}, fmt.Errorf("group entry with a non-numeric gid %q: %q", f[2], line)
	}
	g := acctGroup{name: f[0], gid: f[2]}
	for _, m := range strings.Split(f[3], ",") {
		if m != "" {
			g.members = append(g.members, m)
		}
	}
	return g, nil
}

// acctParseGroups reads several group entries, keyed by name.
func acctParseGroups(out string) (map[string]acctGroup, error) {
	groups := map[string]acctGroup{}
	for line := range strings.Lines(out) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		g, err := acctParseGroup(line)
		if err != nil {
			return nil, err
		}
		groups[g.name] = g
	}
	return groups, nil
}

// acctFailure describes a failed useradd/usermod/userdel/group…
// command. A permission error without become gets the fix: these tools
// need root, and only become runs them through sudo.
func acctFailure(ex Exec, cmd transport.Command, res transport.Result) error {
	f := &Failure{}
	if !asFailure(exitFailure(transport.Display(cmd), res), &f) {
		return exitFailure(transport.Display(cmd), res)
	}
	stderr := string(res.Stderr)
	tool := cmd.Argv[0]
	switch {
	case res.ExitCode == 127 && strings.Contains(stderr, "not found") && !ex.Become():
		// Debian and others keep the shadow tools in /usr/sbin, which is
		// not on a non-root login's PATH; sudo's secure_path has it.
		f.Hint = tool + " lives in /usr/sbin, not on a non-root login's PATH, and needs root anyway: set become = true on this step (sudo), or log in as root"
	case strings.Contains(stderr, "command not found") || res.ExitCode == 127:
		f.Hint = tool + " is not installed on the host (Debian: package passwd; RHEL: shadow-utils)"
	case strings.Contains(stderr, "Permission denied") || strings.Contains(stderr, "cannot lock /etc/") || strings.Contains(stderr, "cannot open /etc/"):
		if ex.Become() {
			f.Hint = "even through sudo the account files could not be changed: is /etc read-only, or another useradd/usermod holding the lock?"
		} else {
			f.Hint = tool + " needs root: set become = true on this step (sudo), or log in as root"
		}
	}
	return f
}

// acctID is a uid/gid as a step output.
func acctID(s string) cty.Value {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return cty.NullVal(cty.Number)
	}
	return cty.NumberIntVal(n)
}

// acctList is a list of strings as a step output.
func acctList(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

// acctOrNone shows an empty value in a plan's change line.
func acctOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// acctDescribe lists, for a failure message, what still differs after a
// change that reported success.
func acctDescribe(changes []Change) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = fmt.Sprintf("%s %s (want %s)", c.Field, c.Current, c.Desired)
	}
	return strings.Join(parts, ", ")
}
