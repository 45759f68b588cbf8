package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

// user ensures a local account (/etc/passwd, through useradd, usermod and
// userdel) exists with the given fields, or does not exist. It is not a
// Slurm user: `create entity = "user"` adds one to Slurm's accounting
// database, which needs no local account and makes none.
//
//	step "user" "alice" { name = "alice" shell = "/bin/bash" groups = ["video"] append = true become = true }
type userKind struct{}

func init() { register("user", userKind{}) }

func (userKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"name":        &hcldec.AttrSpec{Name: "name", Type: cty.String, Required: true},
		"state":       &hcldec.AttrSpec{Name: "state", Type: cty.String},
		"uid":         &hcldec.AttrSpec{Name: "uid", Type: cty.Number},
		"group":       &hcldec.AttrSpec{Name: "group", Type: cty.String},
		"groups":      &hcldec.AttrSpec{Name: "groups", Type: cty.List(cty.String)},
		"append":      &hcldec.AttrSpec{Name: "append", Type: cty.Bool},
		"shell":       &hcldec.AttrSpec{Name: "shell", Type: cty.String},
		"home":        &hcldec.AttrSpec{Name: "home", Type: cty.String},
		"comment":     &hcldec.AttrSpec{Name: "comment", Type: cty.String},
		"create_home": &hcldec.AttrSpec{Name: "create_home", Type: cty.Bool},
		"system":      &hcldec.AttrSpec{Name: "system", Type: cty.Bool},
		"remove":      &hcldec.AttrSpec{Name: "remove", Type: cty.Bool},
	}
}

func (userKind) ReadOnly() bool { return false }

// PlansAhead: when an earlier step of the plan creates a group the user
// is to be in, the plan shows the user's change "(once group G is
// created)" instead of failing on the group that is not there yet.
func (userKind) PlansAhead() bool { return true }

// Validate checks what is known, so a bad name, uid, relative shell or a
// field that state = "absent" would ignore fails validate, not the host.
func (userKind) Validate(cfg cty.Value) error {
	_, err := decodeUser(cfg)
	return err
}

func (userKind) Decode(cfg cty.Value) (Step, error) {
	return decodeUser(cfg)
}

type userStep struct {
	name  string
	state string
	uid   string // "" leaves it alone
	group string // primary group; "" leaves it alone
	// groups are the supplementary groups; nil leaves them alone. With
	// append they are added to the user's groups, otherwise they are the
	// user's exact list (as Ansible's user module does).
	groups       []string
	appendGroups bool
	shell, home  string  // "" leaves them alone
	comment      *string // nil leaves it alone; "" clears it
	createHome   bool
	system       bool
	remove       bool
}

// presentOnly are the attributes that describe an account; with state =
// "absent" they would be silently ignored, so they are refused.
var userPresentOnly = []string{"uid", "group", "groups", "append", "shell", "home", "comment", "create_home", "system"}

// decodeUser checks every attribute that is known; Decode sees them all
// known, Validate possibly not.
func decodeUser(cfg cty.Value) (*userStep, error) {
	s := &userStep{state: "present"}
	var err error
	if v, ok := acctKnown(cfg, "name"); ok {
		s.name = v.AsString()
		if err := checkAccountName("name", "user", s.name); err != nil {
			return nil, err
		}
	}
	if v, ok := acctKnown(cfg, "state"); ok {
		if s.state, err = acctState(v); err != nil {
			return nil, err
		}
	}
	if v, ok := acctKnown(cfg, "uid"); ok {
		if s.uid, err = checkAccountID("uid", v); err != nil {
			return nil, err
		}
	}
	if v, ok := acctKnown(cfg, "group"); ok {
		s.group = v.AsString()
		if err := checkAccountName("group", "group", s.group); err != nil {
			return nil, err
		}
	}
	if v, ok := acctKnown(cfg, "groups"); ok {
		s.groups = []string{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() {
				return nil, &AttrError{Attr: "groups", Err: fmt.Errorf("holds a null")}
			}
			g := e.AsString()
			if err := checkAccountName("groups", "group", g); err != nil {
				return nil, err
			}
			if !slices.Contains(s.groups, g) {
				s.groups = append(s.groups, g)
			}
		}
	}
	if v, ok := acctKnown(cfg, "append"); ok {
		s.appendGroups = v.True()
	}
	for attr, dst := range map[string]*string{"shell": &s.shell, "home": &s.home} {
		if v, ok := acctKnown(cfg, attr); ok {
			*dst = v.AsString()
			if err := acctAbsPath(attr, *dst); err != nil {
				return nil, err
			}
		}
	}
	if v, ok := acctKnown(cfg, "comment"); ok {
		c := v.AsString()
		if err := checkPasswdField("comment", c); err != nil {
			return nil, err
		}
		s.comment = &c
	}
	if v, ok := acctKnown(cfg, "system"); ok {
		s.system = v.True()
	}
	// A system account (a daemon's) gets no home directory unless asked
	// for one; a person's account does, as with Ansible and adduser.
	s.createHome = !s.system
	if v, ok := acctKnown(cfg, "create_home"); ok {
		s.createHome = v.True()
	}
	if v, ok := acctKnown(cfg, "remove"); ok {
		s.remove = v.True()
	}
	if st := cfg.GetAttr("state"); !st.IsKnown() {
		return s, nil
	}
	if s.state == "absent" {
		for _, a := range userPresentOnly {
			if !cfg.GetAttr(a).IsNull() {
				return nil, &AttrError{Attr: a, Err: fmt.Errorf("has no meaning with state = \"absent\"")}
			}
		}
	} else if !cfg.GetAttr("remove").IsNull() {
		return nil, &AttrError{Attr: "remove", Err: fmt.Errorf("needs state = \"absent\" (it deletes the home directory with the account)")}
	}
	return s, nil
}

// Resources: the account this step makes, changes or removes, and the
// groups it puts the account in. Without a primary group, useradd makes
// (and userdel removes) a group named like the user (USERGROUPS_ENAB, the
// default of Debian and RHEL), so that group is changed too.
func (s *userStep) Resources() (reads, writes []string) {
	writes = []string{"user/" + s.name}
	if s.group == "" {
		writes = append(writes, "group/"+s.name)
	}
	if s.state == "absent" {
		return nil, writes
	}
	if s.group != "" {
		reads = append(reads, "group/"+s.group)
	}
	for _, g := range s.groups {
		reads = append(reads, "group/"+g)
	}
	return reads, writes
}

// userLive is what the probe found.
type userLive struct {
	found   bool
	pw      acctPasswd
	primary string   // the primary group's name, as id prints it
	supp    []string // supplementary groups, as id prints them
	// groups are the entries of the groups this step names (primary and
	// supplementary) that exist.
	groups map[string]acctGroup
}

// wantedGroups are the groups whose entries the probe reads.
func (s *userStep) wantedGroups() []string {
	var gs []string
	if s.group != "" {
		gs = append(gs, s.group)
	}
	for _, g := range s.groups {
		if !slices.Contains(gs, g) {
			gs = append(gs, g)
		}
	}
	return gs
}

// read is the one probe: `getent passwd NAME`, `id -Gn NAME` and `getent
// group G…` in one remote command. None needs privilege.
func (s *userStep) read(ctx context.Context, ex Exec) (userLive, error) {
	q := transport.ShellQuote(s.name)
	cmds := []string{"getent passwd " + q}
	gs := s.wantedGroups()
	if s.state == "present" {
		cmds = append(cmds, "id -Gn "+q)
		if len(gs) > 0 {
			quoted := make([]string, len(gs))
			for i, g := range gs {
				quoted[i] = transport.ShellQuote(g)
			}
			cmds = append(cmds, "getent group "+strings.Join(quoted, " "))
		}
	}
	secs, line, err := acctProbe(ctx, ex, cmds...)
	if err != nil {
		return userLive{}, err
	}
	bad := func(err error) error { return &Failure{Msg: fmt.Sprintf("`%s`: %v", line, err)} }
	live := userLive{groups: map[string]acctGroup{}}
	if live.found, err = acctGetentFound("passwd", s.name, secs[0]); err != nil {
		return userLive{}, err
	}
	if live.found {
		if live.pw, err = acctParsePasswd(secs[0].out); err != nil {
			return userLive{}, bad(err)
		}
		if live.pw.name != s.name {
			return userLive{}, bad(fmt.Errorf("getent answered for user %q", live.pw.name))
		}
	}
	if s.state == "absent" {
		return live, nil
	}
	if live.found {
		// id prints the primary group first, then the others. A gid with
		// no group entry it prints as a number, and then exits 1: the
		// list is still whole.
		names := strings.Fields(secs[1].out)
		if len(names) == 0 {
			return userLive{}, bad(fmt.Errorf("getent knows user %s but `id -Gn %s` printed no group (exit %d)", s.name, s.name, secs[1].code))
		}
		live.primary, live.supp = names[0], names[1:]
	}
	if len(gs) > 0 {
		if secs[2].code != 0 && secs[2].code != 2 {
			return userLive{}, bad(fmt.Errorf("`getent group` exited %d", secs[2].code))
		}
		if live.groups, err = acctParseGroups(secs[2].out); err != nil {
			return userLive{}, bad(err)
		}
	}
	return live, nil
}

// userChange is what Plan decided, for Apply.
type userChange struct {
	argv []string
	verb string // "created", "changed", "removed"
}

// groupsDiff works out the supplementary groups: the list usermod -G
// gets, what it adds and removes, and whether anything differs. The
// primary group counts as a membership whatever /etc/group lists.
func (s *userStep) groupsDiff(live userLive, primary string) (list, add, remove []string) {
	var current []string
	for _, g := range live.supp {
		if g != primary {
			current = append(current, g)
		}
	}
	for _, g := range s.groups {
		if g == primary {
			continue
		}
		if !slices.Contains(current, g) {
			add = append(add, g)
		}
		if !s.appendGroups {
			list = append(list, g)
		}
	}
	if s.appendGroups {
		return add, add, nil
	}
	for _, g := range current {
		if !slices.Contains(s.groups, g) {
			remove = append(remove, g)
		}
	}
	return list, add, remove
}

// missingGroup fails a plan on a group that does not exist, unless an
// earlier step of the plan makes it; ahead is true then.
func (s *userStep) missingGroup(ex Exec, live userLive, g string) (ahead bool, err error) {
	if _, ok := live.groups[g]; ok {
		return false, nil
	}
	if ex.Ahead("group/" + g) {
		return true, nil
	}
	return false, &Failure{
		Msg:  fmt.Sprintf("group %s does not exist on the host", g),
		Hint: fmt.Sprintf("add a step \"group\" { name = %q } before this one, or leave %s out", g, g),
	}
}

// diff returns the command that brings live to the desired state (nil
// when there is none), and what a plan shows.
func (s *userStep) diff(ex Exec, live userLive) (ch *userChange, action Action, summary string, changes []Change, err error) {
	if s.state == "absent" {
		if !live.found {
			return nil, NoOp, "already absent: user " + s.name, nil, nil
		}
		argv := []string{"userdel"}
		summary = "remove user " + s.name
		if s.remove {
			argv = append(argv, "-r")
			summary += " and its home directory " + live.pw.home
		}
		return &userChange{argv: append(argv, s.name), verb: "removed"}, Modify, summary,
			[]Change{{Field: "state", Current: "present (uid " + live.pw.uid + ")", Desired: "absent"}}, nil
	}
	// pending are the groups an earlier step of the plan creates. The
	// summary names them and the changes do not: a saved plan's changes
	// must be the ones apply finds once those steps ran.
	var pending []string
	need := func(g string) error {
		ahead, err := s.missingGroup(ex, live, g)
		if ahead && !slices.Contains(pending, g) {
			pending = append(pending, g)
		}
		return err
	}
	once := func(summary string) string {
		switch len(pending) {
		case 0:
			return summary
		case 1:
			return summary + " (once group " + pending[0] + " is created)"
		}
		return summary + " (once groups " + strings.Join(pending, ", ") + " are created)"
	}
	if !live.found {
		ch, action, summary, changes, err := s.create(need)
		return ch, action, once(summary), changes, err
	}
	var opts []string
	var fields []string
	change := func(field, current, desired string, argv ...string) {
		changes = append(changes, Change{Field: field, Current: current, Desired: desired})
		fields = append(fields, field)
		opts = append(opts, argv...)
	}
	if s.uid != "" && s.uid != live.pw.uid {
		change("uid", live.pw.uid, s.uid, "-u", s.uid)
	}
	primary := live.primary
	if s.group != "" {
		g, exists := live.groups[s.group]
		switch {
		case !exists:
			if err := need(s.group); err != nil {
				return nil, 0, "", nil, err
			}
			change("group", live.primary, s.group, "-g", s.group)
		case g.gid != live.pw.gid:
			change("group", live.primary, s.group, "-g", s.group)
		}
		primary = s.group
	}
	if s.groups != nil {
		list, add, remove := s.groupsDiff(live, primary)
		if len(add) > 0 || len(remove) > 0 {
			var delta []string
			for _, g := range add {
				if err := need(g); err != nil {
					return nil, 0, "", nil, err
				}
				delta = append(delta, "+ "+g)
			}
			for _, g := range remove {
				delta = append(delta, "- "+g)
			}
			result := list
			argv := []string{"-G", strings.Join(list, ",")}
			if s.appendGroups {
				result = append(slices.Clone(live.supp), add...)
				argv = []string{"-a", "-G", strings.Join(add, ",")}
			}
			change("groups", acctOrNone(strings.Join(live.supp, ",")),
				acctOrNone(strings.Join(result, ","))+" ("+strings.Join(delta, ", ")+")", argv...)
		}
	}
	if s.shell != "" && s.shell != live.pw.shell {
		change("shell", acctOrNone(live.pw.shell), s.shell, "-s", s.shell)
	}
	if s.home != "" && s.home != live.pw.home {
		change("home", acctOrNone(live.pw.home), s.home, "-d", s.home)
	}
	if s.comment != nil && *s.comment != live.pw.comment {
		change("comment", acctOrNone(live.pw.comment), acctOrNone(*s.comment), "-c", *s.comment)
	}
	if len(changes) == 0 {
		return nil, NoOp, fmt.Sprintf("already as desired: user %s (uid %s)", s.name, live.pw.uid), nil, nil
	}
	argv := append(append([]string{"usermod"}, opts...), s.name)
	return &userChange{argv: argv, verb: "changed"}, Modify, once("modify user " + s.name + ": " + strings.Join(fields, ", ")), changes, nil
}

// create is useradd with every field the step sets; the plan lists them.
func (s *userStep) create(need func(string) error) (*userChange, Action, string, []Change, error) {
	argv := []string{"useradd"}
	var changes []Change
	set := func(field, desired string, opts ...string) {
		changes = append(changes, Change{Field: field, Current: "(none)", Desired: desired})
		argv = append(argv, opts...)
	}
	if s.system {
		set("system", "true", "-r")
	}
	if s.uid != "" {
		set("uid", s.uid, "-u", s.uid)
	}
	if s.group != "" {
		if err := need(s.group); err != nil {
			return nil, 0, "", nil, err
		}
		set("group", s.group, "-g", s.group)
	}
	var supp []string
	for _, g := range s.groups {
		if g == s.group {
			continue
		}
		if err := need(g); err != nil {
			return nil, 0, "", nil, err
		}
		supp = append(supp, g)
	}
	if len(supp) > 0 {
		set("groups", strings.Join(supp, ","), "-G", strings.Join(supp, ","))
	}
	if s.shell != "" {
		set("shell", s.shell, "-s", s.shell)
	}
	if s.home != "" {
		set("home", s.home, "-d", s.home)
	}
	if s.comment != nil && *s.comment != "" {
		set("comment", *s.comment, "-c", *s.comment)
	}
	// Always explicit: login.defs' CREATE_HOME differs between
	// distributions (no on Debian, yes on RHEL).
	if s.createHome {
		argv = append(argv, "-m")
	} else {
		argv = append(argv, "-M")
	}
	return &userChange{argv: append(argv, s.name), verb: "created"}, Create, "create user " + s.name, changes, nil
}

func (s *userStep) outputs(live userLive) map[string]cty.Value {
	out := map[string]cty.Value{
		"name":    cty.StringVal(s.name),
		"exists":  cty.BoolVal(live.found),
		"uid":     cty.NullVal(cty.Number),
		"gid":     cty.NullVal(cty.Number),
		"group":   cty.StringVal(""),
		"groups":  cty.ListValEmpty(cty.String),
		"home":    cty.StringVal(""),
		"shell":   cty.StringVal(""),
		"comment": cty.StringVal(""),
	}
	if live.found {
		out["uid"], out["gid"] = acctID(live.pw.uid), acctID(live.pw.gid)
		out["group"], out["groups"] = cty.StringVal(live.primary), acctList(live.supp)
		out["home"], out["shell"], out["comment"] = cty.StringVal(live.pw.home), cty.StringVal(live.pw.shell), cty.StringVal(live.pw.comment)
	}
	return out
}

func (s *userStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	live, err := s.read(ctx, ex)
	if err != nil {
		return Proposal{}, err
	}
	ch, action, summary, changes, err := s.diff(ex, live)
	if err != nil {
		return Proposal{}, err
	}
	p := Proposal{Action: action, Summary: summary, Changes: changes}
	if ch == nil {
		p.Outputs = s.outputs(live)
		return p, nil
	}
	p.Commands = []string{transport.Display(transport.Command{Argv: ch.argv, Become: ex.Become()})}
	p.Private = ch
	return p, nil
}

func (s *userStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	ch, ok := p.Private.(*userChange)
	if !ok {
		return Outcome{}, fmt.Errorf("user %s: apply without a plan", s.name)
	}
	cmd := transport.Command{Argv: ch.argv, Become: ex.Become()}
	res, err := ex.Run(ctx, cmd)
	if err != nil {
		return Outcome{}, err
	}
	if res.ExitCode != 0 {
		return Outcome{}, acctFailure(ex, cmd, res)
	}
	// Read it back: the account must now be as desired, whatever the
	// tool's exit code said.
	live, err := s.read(ctx, ex)
	if err != nil {
		return Outcome{Changed: true}, err
	}
	left, _, _, changes, err := s.diff(ex, live)
	if err != nil {
		return Outcome{Changed: true}, err
	}
	if left != nil {
		what := "still differs: " + acctDescribe(changes)
		switch {
		case s.state == "absent":
			what = "still exists"
		case !live.found:
			what = "does not exist"
		}
		return Outcome{Changed: true}, &Failure{Msg: fmt.Sprintf("`%s` exited 0 but user %s %s", transport.Display(cmd), s.name, what)}
	}
	if live.found {
		ex.Note("user %s %s: getent passwd reads %s:x:%s:%s:%s:%s:%s; id -Gn reads %s", s.name, ch.verb,
			s.name, live.pw.uid, live.pw.gid, live.pw.comment, live.pw.home, live.pw.shell, strings.Join(append([]string{live.primary}, live.supp...), " "))
	} else {
		ex.Note("user %s removed: getent passwd finds no %s", s.name, s.name)
	}
	return Outcome{Changed: true, Summary: ch.verb + " user " + s.name, Outputs: s.outputs(live)}, nil
}
