package steps_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// acctHost is a fake host for the user and group kinds: an /etc/passwd
// and /etc/group in memory that answers getent and id as the real tools
// do (exit 2 for a missing key, id's primary group first) and changes
// with useradd/usermod/userdel/groupadd/groupmod/groupdel as shadow's
// tools do on Debian (USERGROUPS_ENAB: a user without -g gets a group of
// its own name, removed with it). The real tools on a real host are the
// e2e tests' job (runbooks/accounts_e2e_test.go).
type acctHost struct {
	mu     sync.Mutex
	users  []acctFakeUser
	groups []acctFakeGroup
	// cmds are the commands run, as the evidence shows them.
	cmds []string
	// deny: without become, changes fail as they do for a non-root user.
	deny bool
	// nosbin: without become the tools are not found, as for a non-root
	// login on Debian, whose PATH lacks /usr/sbin.
	nosbin bool
	// ignore: changes exit 0 and change nothing (a broken host), so only
	// the read-back can notice.
	ignore bool
	// raw, when set, answers a probe line instead of the databases.
	raw func(line string) (string, int)
}

type acctFakeUser struct {
	name                 string
	uid, gid             int
	comment, home, shell string
}

type acctFakeGroup struct {
	name    string
	gid     int
	members []string
}

func (h *acctHost) Describe() string { return "fake accounts host" }
func (h *acctHost) Close() error     { return nil }

func (h *acctHost) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cmds = append(h.cmds, transport.Display(cmd))
	if cmd.Line != "" {
		if h.raw != nil {
			out, code := h.raw(cmd.Line)
			return transport.Result{Stdout: []byte(out), ExitCode: code}, nil
		}
		return h.probe(cmd.Line), nil
	}
	if h.nosbin && !cmd.Become {
		return transport.Result{ExitCode: 127, Stderr: []byte("bash: line 1: " + cmd.Argv[0] + ": command not found\n")}, nil
	}
	if h.deny && !cmd.Become {
		tool := cmd.Argv[0]
		db := "/etc/passwd"
		if strings.HasPrefix(tool, "group") {
			db = "/etc/group"
		}
		return transport.Result{ExitCode: 1, Stderr: []byte(tool + ": Permission denied.\n" + tool + ": cannot lock " + db + "; try again later.\n")}, nil
	}
	if h.ignore {
		return transport.Result{}, nil
	}
	out, code := h.change(cmd.Argv)
	return transport.Result{Stderr: []byte(out), ExitCode: code}, nil
}

// probe runs a combined probe line: commands separated by "; ", each
// "echo :$?" printing the previous command's exit status.
func (h *acctHost) probe(line string) transport.Result {
	var out strings.Builder
	last := 0
	for _, c := range strings.Split(line, "; ") {
		if c == "echo :$?" {
			fmt.Fprintf(&out, ":%d\n", last)
			continue
		}
		var o string
		o, last = h.read(strings.Fields(c))
		out.WriteString(o)
	}
	return transport.Result{Stdout: []byte(out.String())}
}

func (h *acctHost) read(f []string) (string, int) {
	unq := func(s string) string { return strings.Trim(s, "'") }
	switch {
	case len(f) == 3 && f[0] == "getent" && f[1] == "passwd":
		if u := h.user(unq(f[2])); u != nil {
			return fmt.Sprintf("%s:x:%d:%d:%s:%s:%s\n", u.name, u.uid, u.gid, u.comment, u.home, u.shell), 0
		}
		return "", 2
	case len(f) >= 3 && f[0] == "getent" && f[1] == "group":
		var out strings.Builder
		code := 0
		for _, n := range f[2:] {
			g := h.group(unq(n))
			if g == nil {
				code = 2
				continue
			}
			fmt.Fprintf(&out, "%s:x:%d:%s\n", g.name, g.gid, strings.Join(g.members, ","))
		}
		return out.String(), code
	case len(f) == 3 && f[0] == "id" && f[1] == "-Gn":
		u := h.user(unq(f[2]))
		if u == nil {
			return "", 1
		}
		names := []string{strconv.Itoa(u.gid)}
		for _, g := range h.groups {
			if g.gid == u.gid {
				names[0] = g.name
			}
		}
		for _, g := range h.groups {
			if g.gid != u.gid && slices.Contains(g.members, u.name) {
				names = append(names, g.name)
			}
		}
		return strings.Join(names, " ") + "\n", 0
	}
	return "", 127
}

func (h *acctHost) user(name string) *acctFakeUser {
	for i := range h.users {
		if h.users[i].name == name {
			return &h.users[i]
		}
	}
	return nil
}

func (h *acctHost) group(name string) *acctFakeGroup {
	for i := range h.groups {
		if h.groups[i].name == name {
			return &h.groups[i]
		}
	}
	return nil
}

func (h *acctHost) nextID(min int) int {
	id := min
	for _, u := range h.users {
		id = max(id, u.uid+1)
	}
	for _, g := range h.groups {
		id = max(id, g.gid+1)
	}
	return id
}

// change carries out one of shadow's tools; it returns stderr and the
// exit status.
func (h *acctHost) change(argv []string) (string, int) {
	tool, name := argv[0], argv[len(argv)-1]
	opts := map[string]string{}
	for i := 1; i < len(argv)-1; i++ {
		switch argv[i] {
		case "-r", "-m", "-M", "-a":
			opts[argv[i]] = "yes"
		default:
			opts[argv[i]] = argv[i+1]
			i++
		}
	}
	num := func(k string, def int) int {
		if v, ok := opts[k]; ok {
			n, _ := strconv.Atoi(v)
			return n
		}
		return def
	}
	setGroups := func(u string, list string, add bool) (string, int) {
		want := strings.FieldsFunc(list, func(r rune) bool { return r == ',' })
		for _, g := range want {
			if h.group(g) == nil {
				return fmt.Sprintf("%s: group '%s' does not exist\n", tool, g), 6
			}
		}
		for i := range h.groups {
			g := &h.groups[i]
			in := slices.Contains(g.members, u)
			switch {
			case slices.Contains(want, g.name) && !in:
				g.members = append(g.members, u)
			case !slices.Contains(want, g.name) && in && !add:
				g.members = slices.DeleteFunc(g.members, func(m string) bool { return m == u })
			}
		}
		return "", 0
	}
	switch tool {
	case "useradd":
		if h.user(name) != nil {
			return "useradd: user '" + name + "' already exists\n", 9
		}
		u := acctFakeUser{name: name, uid: num("-u", h.nextID(1000)), comment: opts["-c"], home: "/home/" + name, shell: "/bin/sh"}
		if g, ok := opts["-g"]; ok {
			grp := h.group(g)
			if grp == nil {
				return "useradd: group '" + g + "' does not exist\n", 6
			}
			u.gid = grp.gid
		} else {
			u.gid = h.nextID(1000)
			h.groups = append(h.groups, acctFakeGroup{name: name, gid: u.gid})
		}
		if v, ok := opts["-d"]; ok {
			u.home = v
		}
		if v, ok := opts["-s"]; ok {
			u.shell = v
		}
		h.users = append(h.users, u)
		return setGroups(name, opts["-G"], true)
	case "usermod":
		u := h.user(name)
		if u == nil {
			return "usermod: user '" + name + "' does not exist\n", 6
		}
		u.uid = num("-u", u.uid)
		if g, ok := opts["-g"]; ok {
			grp := h.group(g)
			if grp == nil {
				return "usermod: group '" + g + "' does not exist\n", 6
			}
			u.gid = grp.gid
		}
		for k, dst := range map[string]*string{"-c": &u.comment, "-d": &u.home, "-s": &u.shell} {
			if v, ok := opts[k]; ok {
				*dst = v
			}
		}
		if list, ok := opts["-G"]; ok {
			return setGroups(name, list, opts["-a"] == "yes")
		}
		return "", 0
	case "userdel":
		u := h.user(name)
		if u == nil {
			return "userdel: user '" + name + "' does not exist\n", 6
		}
		gid := u.gid
		h.users = slices.DeleteFunc(h.users, func(x acctFakeUser) bool { return x.name == name })
		setGroups(name, "", false)
		if g := h.group(name); g != nil && g.gid == gid && len(g.members) == 0 {
			h.groups = slices.DeleteFunc(h.groups, func(x acctFakeGroup) bool { return x.name == name })
		}
		return "", 0
	case "groupadd":
		if h.group(name) != nil {
			return "groupadd: group '" + name + "' already exists\n", 9
		}
		h.groups = append(h.groups, acctFakeGroup{name: name, gid: num("-g", h.nextID(1000))})
		return "", 0
	case "groupmod":
		g := h.group(name)
		if g == nil {
			return "groupmod: group '" + name + "' does not exist\n", 6
		}
		old := g.gid
		g.gid = num("-g", g.gid)
		for i := range h.users {
			if h.users[i].gid == old {
				h.users[i].gid = g.gid
			}
		}
		return "", 0
	case "groupdel":
		g := h.group(name)
		if g == nil {
			return "groupdel: group '" + name + "' does not exist\n", 6
		}
		for _, u := range h.users {
			if u.gid == g.gid {
				return "groupdel: cannot remove the primary group of user '" + u.name + "'\n", 8
			}
		}
		h.groups = slices.DeleteFunc(h.groups, func(x acctFakeGroup) bool { return x.name == name })
		return "", 0
	}
	return tool + ": command not found\n", 127
}

// ran returns the commands run since the last call.
func (h *acctHost) ran() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.cmds
	h.cmds = nil
	return c
}
