package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

// group ensures a local group (/etc/group, through groupadd, groupmod and
// groupdel) exists with a gid, or does not exist. It is not a Slurm
// account: `create entity = "account"` is.
//
//	step "group" "video" { name = "video" gid = 44 become = true }
type groupKind struct{}

func init() { register("group", groupKind{}) }

func (groupKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"name":   &hcldec.AttrSpec{Name: "name", Type: cty.String, Required: true},
		"gid":    &hcldec.AttrSpec{Name: "gid", Type: cty.Number},
		"system": &hcldec.AttrSpec{Name: "system", Type: cty.Bool},
		"state":  &hcldec.AttrSpec{Name: "state", Type: cty.String},
	}
}

func (groupKind) ReadOnly() bool { return false }

// Validate checks what is known, so a bad name or gid fails validate and
// not the host.
func (groupKind) Validate(cfg cty.Value) error {
	_, err := decodeGroup(cfg)
	return err
}

func (groupKind) Decode(cfg cty.Value) (Step, error) {
	return decodeGroup(cfg)
}

// decodeGroup checks every attribute that is known; Decode sees them all
// known, Validate possibly not.
func decodeGroup(cfg cty.Value) (*groupStep, error) {
	s := &groupStep{state: "present"}
	var err error
	if v, ok := acctKnown(cfg, "name"); ok {
		s.name = v.AsString()
		if err := checkAccountName("name", "group", s.name); err != nil {
			return nil, err
		}
	}
	if v, ok := acctKnown(cfg, "state"); ok {
		if s.state, err = acctState(v); err != nil {
			return nil, err
		}
	}
	if v, ok := acctKnown(cfg, "gid"); ok {
		if s.gid, err = checkAccountID("gid", v); err != nil {
			return nil, err
		}
	}
	if v, ok := acctKnown(cfg, "system"); ok {
		s.system = v.True()
	}
	if s.state == "absent" {
		// Refused rather than ignored: an author who wrote them expects
		// them to matter.
		for _, a := range []string{"gid", "system"} {
			if !cfg.GetAttr(a).IsNull() {
				return nil, &AttrError{Attr: a, Err: fmt.Errorf("has no meaning with state = \"absent\"")}
			}
		}
	}
	return s, nil
}

type groupStep struct {
	name   string
	gid    string // "" leaves the gid alone (groupadd picks one)
	system bool
	state  string
}

// Resources: the group this step makes, changes or removes.
func (s *groupStep) Resources() (reads, writes []string) {
	return nil, []string{"group/" + s.name}
}

// groupLive is what the probe found.
type groupLive struct {
	found bool
	entry acctGroup
}

// read is the one probe: `getent group NAME`.
func (s *groupStep) read(ctx context.Context, ex Exec) (groupLive, error) {
	secs, line, err := acctProbe(ctx, ex, "getent group "+transport.ShellQuote(s.name))
	if err != nil {
		return groupLive{}, err
	}
	found, err := acctGetentFound("group", s.name, secs[0])
	if err != nil || !found {
		return groupLive{}, err
	}
	groups, err := acctParseGroups(secs[0].out)
	if err != nil {
		return groupLive{}, &Failure{Msg: fmt.Sprintf("`%s`: %v", line, err)}
	}
	g, ok := groups[s.name]
	if !ok {
		return groupLive{}, &Failure{Msg: fmt.Sprintf("`%s` answered for another group: %q", line, secs[0].out)}
	}
	return groupLive{found: true, entry: g}, nil
}

// groupChange is what Plan decided, for Apply.
type groupChange struct {
	argv []string
	verb string // "created", "changed", "removed"
}

// diff returns the command that brings live to the desired state (nil
// when there is none) and the field changes a plan shows.
func (s *groupStep) diff(live groupLive) (ch *groupChange, action Action, summary string, changes []Change) {
	switch {
	case s.state == "absent" && !live.found:
		return nil, NoOp, "already absent: group " + s.name, nil
	case s.state == "absent":
		return &groupChange{argv: []string{"groupdel", s.name}, verb: "removed"}, Modify, "remove group " + s.name,
			[]Change{{Field: "state", Current: "present (gid " + live.entry.gid + ")", Desired: "absent"}}
	case !live.found:
		argv := []string{"groupadd"}
		if s.system {
			argv = append(argv, "-r")
			changes = append(changes, Change{Field: "system", Current: "(none)", Desired: "true"})
		}
		if s.gid != "" {
			argv = append(argv, "-g", s.gid)
			changes = append(changes, Change{Field: "gid", Current: "(none)", Desired: s.gid})
		}
		return &groupChange{argv: append(argv, s.name), verb: "created"}, Create, "create group " + s.name, changes
	case s.gid != "" && s.gid != live.entry.gid:
		return &groupChange{argv: []string{"groupmod", "-g", s.gid, s.name}, verb: "changed"}, Modify, "modify group " + s.name,
			[]Change{{Field: "gid", Current: live.entry.gid, Desired: s.gid}}
	}
	return nil, NoOp, fmt.Sprintf("already as desired: group %s (gid %s)", s.name, live.entry.gid), nil
}

func (s *groupStep) outputs(live groupLive) map[string]cty.Value {
	out := map[string]cty.Value{
		"name":    cty.StringVal(s.name),
		"exists":  cty.BoolVal(live.found),
		"gid":     cty.NullVal(cty.Number),
		"members": cty.ListValEmpty(cty.String),
	}
	if live.found {
		out["gid"] = acctID(live.entry.gid)
		out["members"] = acctList(live.entry.members)
	}
	return out
}

func (s *groupStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	live, err := s.read(ctx, ex)
	if err != nil {
		return Proposal{}, err
	}
	ch, action, summary, changes := s.diff(live)
	p := Proposal{Action: action, Summary: summary, Changes: changes}
	if ch == nil {
		p.Outputs = s.outputs(live)
		return p, nil
	}
	p.Commands = []string{transport.Display(transport.Command{Argv: ch.argv, Become: ex.Become()})}
	p.Private = ch
	return p, nil
}

func (s *groupStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	ch, ok := p.Private.(*groupChange)
	if !ok {
		return Outcome{}, fmt.Errorf("group %s: apply without a plan", s.name)
	}
	cmd := transport.Command{Argv: ch.argv, Become: ex.Become()}
	res, err := ex.Run(ctx, cmd)
	if err != nil {
		return Outcome{}, err
	}
	if res.ExitCode != 0 {
		return Outcome{}, acctFailure(ex, cmd, res)
	}
	// Read it back: the exit code of groupadd & co. is not the proof.
	live, err := s.read(ctx, ex)
	if err != nil {
		return Outcome{Changed: true}, err
	}
	if left, _, _, changes := s.diff(live); left != nil {
		what := "still differs: " + acctDescribe(changes)
		switch {
		case s.state == "absent":
			what = "still exists"
		case !live.found:
			what = "does not exist"
		}
		return Outcome{Changed: true}, &Failure{Msg: fmt.Sprintf("`%s` exited 0 but group %s %s", transport.Display(cmd), s.name, what)}
	}
	if live.found {
		ex.Note("group %s %s: getent group reads %s:x:%s:%s", s.name, ch.verb, s.name, live.entry.gid, strings.Join(live.entry.members, ","))
	} else {
		ex.Note("group %s removed: getent group finds no %s", s.name, s.name)
	}
	return Outcome{Changed: true, Summary: ch.verb + " group " + s.name, Outputs: s.outputs(live)}, nil
}
