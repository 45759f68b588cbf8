package steps

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

// file makes a path a directory, an existing file with given attributes,
// a symlink, an empty file (touch) or nothing (absent), with mode, owner
// and group; `recurse` carries a directory's owner and group to
// everything below it (and its mode to the directories below). It probes
// with one command (lstat, and for recurse one find) and changes with one.
//
//	step "file" "spool" {
//	  path  = "/var/spool/moonlight"
//	  state = "directory"
//	  owner = "slurm"
//	  mode  = "0750"
//	}
type fileKind struct{}

func init() { register("file", fileKind{}) }

var fileStates = []string{"file", "directory", "link", "absent", "touch"}

func (fileKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"path":    &hcldec.AttrSpec{Name: "path", Type: cty.String, Required: true},
		"state":   &hcldec.AttrSpec{Name: "state", Type: cty.String},
		"target":  &hcldec.AttrSpec{Name: "target", Type: cty.String},
		"mode":    &hcldec.AttrSpec{Name: "mode", Type: cty.DynamicPseudoType},
		"owner":   &hcldec.AttrSpec{Name: "owner", Type: cty.String},
		"group":   &hcldec.AttrSpec{Name: "group", Type: cty.String},
		"recurse": &hcldec.AttrSpec{Name: "recurse", Type: cty.Bool},
	}
}

func (fileKind) ReadOnly() bool { return false }

func (fileKind) Validate(cfg cty.Value) error {
	_, err := decodeFile(cfg)
	return err
}

func (fileKind) Decode(cfg cty.Value) (Step, error) {
	return decodeFile(cfg)
}

// decodeFile reads and checks the attributes; unknown ones are left for
// later (Validate runs before step results are known).
func decodeFile(cfg cty.Value) (*fileStep, error) {
	s := &fileStep{state: "file"}
	var err error
	if s.path, err = rfPath(cfg, "path"); err != nil {
		return nil, err
	}
	if s.path == "/" {
		return nil, &AttrError{Attr: "path", Err: fmt.Errorf("path = \"/\" is refused: the file kind does not manage the root directory")}
	}
	stateKnown := true
	if st, set, err := rfString(cfg, "state"); err != nil {
		return nil, err
	} else if set {
		s.state = st
	} else if !cfg.GetAttr("state").IsNull() {
		stateKnown = false
	}
	if stateKnown && !rfOneOf(s.state, fileStates) {
		return nil, &AttrError{Attr: "state", Err: fmt.Errorf("state is one of %s, not %q", strings.Join(fileStates, ", "), s.state)}
	}
	if s.attrs, err = decodeFileAttrs(cfg); err != nil {
		return nil, err
	}
	target := cfg.GetAttr("target")
	if t, set, err := rfString(cfg, "target"); err != nil {
		return nil, err
	} else if set {
		if t == "" || strings.ContainsAny(t, "\n\x00") {
			return nil, &AttrError{Attr: "target", Err: fmt.Errorf("target must be a non-empty path on one line")}
		}
		s.target = t
	}
	s.recurse = rfBool(cfg, "recurse", false)
	if !stateKnown {
		return s, nil
	}
	switch {
	case s.state == "link" && target.IsNull():
		return nil, &AttrError{Attr: "state", Err: fmt.Errorf("state = \"link\" needs target = \"PATH\" (what the link points to)")}
	case s.state != "link" && !target.IsNull():
		return nil, &AttrError{Attr: "target", Err: fmt.Errorf("target is only for state = \"link\", not %q", s.state)}
	case s.state == "link" && rfKnown(cfg, "mode"):
		return nil, &AttrError{Attr: "mode", Err: fmt.Errorf("a symlink has no mode of its own (Linux ignores it): set the mode of its target instead")}
	case s.recurse && s.state != "directory":
		return nil, &AttrError{Attr: "recurse", Err: fmt.Errorf("recurse is only for state = \"directory\"")}
	case s.recurse && cfg.GetAttr("mode").IsNull() && cfg.GetAttr("owner").IsNull() && cfg.GetAttr("group").IsNull():
		return nil, &AttrError{Attr: "recurse", Err: fmt.Errorf("recurse = true needs owner, group or mode to carry down the tree")}
	case s.state == "absent" && (!cfg.GetAttr("mode").IsNull() || !cfg.GetAttr("owner").IsNull() || !cfg.GetAttr("group").IsNull()):
		return nil, &AttrError{Attr: "state", Err: fmt.Errorf("state = \"absent\" removes the path: mode, owner and group mean nothing there")}
	}
	return s, nil
}

func rfOneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

type fileStep struct {
	path    string
	state   string
	target  string
	attrs   fileAttrs
	recurse bool
}

// filePlan is what Plan found, for Apply.
type filePlan struct {
	file remoteFile
	line string // the one command that makes the change
}

func (s *fileStep) Resources() (reads, writes []string) {
	return []string{fileResource(s.path)}, []string{fileResource(s.path)}
}

func (s *fileStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	o := rfProbeOptions{}
	if s.recurse {
		o.recurse = &s.attrs
	}
	f, err := probeRemoteFile(ctx, ex, s.path, o)
	if err != nil {
		return Proposal{}, err
	}
	q := transport.ShellQuote
	p := q(s.path)
	var changes []Change
	var cmds []string
	action, summary := Modify, ""
	wrongKind := func(want string) error {
		return &Failure{Msg: fmt.Sprintf("%s is a %s, not a %s; nothing was changed", s.path, f.kind, want),
			Hint: "remove it first (a file step with state = \"absent\") if it should be replaced"}
	}
	// create is the plan for a path that does not exist yet.
	create := func(what string, make string) error {
		if s.state != "directory" {
			if err := rfParentProblem(ex, f); err != nil {
				return err
			}
		}
		action, summary = Create, "create "+what+" "+s.path
		changes = append([]Change{{Field: "state", Current: "absent", Desired: s.state}}, rfAttrChanges(f, s.attrs)...)
		cmds = append(cmds, make)
		if s.attrs.mode.set {
			cmds = append(cmds, "chmod "+s.attrs.mode.chmodArg()+" -- "+p)
		}
		if spec := rfChownSpec(s.attrs.owner, s.attrs.group); spec != "" {
			h := ""
			if s.state == "link" {
				h = "-h "
			}
			cmds = append(cmds, "chown "+h+q(spec)+" -- "+p)
		}
		return nil
	}
	// attrs is the plan for a path of the right kind.
	attrs := func() {
		changes = rfAttrChanges(f, s.attrs)
		if len(changes) > 0 {
			summary = "set " + rfChangedFields(changes) + " of " + s.path
			cmds = append(cmds, rfAttrCommands(s.path, s.attrs, f, s.state == "link")...)
		}
	}
	switch s.state {
	case "absent":
		if f.exists {
			summary = fmt.Sprintf("remove %s %s", f.kind, s.path)
			changes = []Change{{Field: "state", Current: f.kind, Desired: "absent"}}
			cmds = append(cmds, "rm -rf -- "+p)
		}
	case "directory":
		switch {
		case !f.exists:
			// mkdir -p makes missing parents too: no parent check to fail.
			_ = create("directory", "mkdir -p -- "+p)
		case f.kind != "directory":
			return Proposal{}, wrongKind("directory")
		case s.recurse:
			// chown -R and find -type d include the directory itself, so
			// they are the whole change, for it and for what is below.
			changes = rfAttrChanges(f, s.attrs)
			if f.driftCount > 0 {
				changes = append(changes, Change{Field: "below " + s.path, Current: fileDriftSummary(f), Desired: fileRecurseSummary(s.attrs)})
			}
			if len(changes) == 0 {
				break
			}
			summary = fmt.Sprintf("set %s of %s and %d path(s) below it", fileRecurseSummary(s.attrs), s.path, f.driftCount)
			if spec := rfChownSpec(s.attrs.owner, s.attrs.group); spec != "" {
				cmds = append(cmds, "chown -R "+q(spec)+" -- "+p)
			}
			if s.attrs.mode.set {
				cmds = append(cmds, "find "+p+" -type d -exec chmod "+s.attrs.mode.chmodArg()+" {} +")
			}
		default:
			attrs()
		}
	case "file":
		switch {
		case !f.exists:
			return Proposal{}, &Failure{Msg: fmt.Sprintf("%s does not exist; state = \"file\" only sets the attributes of an existing file", s.path),
				Hint: "use state = \"touch\" to create it empty, or a copy or template step to give it content"}
		case f.kind != "file":
			return Proposal{}, wrongKind("regular file")
		}
		attrs()
	case "touch":
		switch {
		case !f.exists:
			if err := create("empty file", "touch -- "+p); err != nil {
				return Proposal{}, err
			}
		case f.kind != "file":
			return Proposal{}, wrongKind("regular file")
		default:
			attrs()
		}
	case "link":
		switch {
		case !f.exists:
			if err := create("symlink", "ln -s -- "+q(s.target)+" "+p); err != nil {
				return Proposal{}, err
			}
			changes = append(changes[:1], append([]Change{{Field: "target", Current: "(new)", Desired: s.target}}, changes[1:]...)...)
			summary += " → " + s.target
		case f.kind != "link":
			return Proposal{}, wrongKind("symlink")
		default:
			attrs()
			if f.linkTarget != s.target {
				changes = append([]Change{{Field: "target", Current: f.linkTarget, Desired: s.target}}, changes...)
				// ln -sfn replaces the link itself, even one to a directory.
				cmds = append([]string{"ln -sfn -- " + q(s.target) + " " + p}, cmds...)
				summary = "point " + s.path + " to " + s.target
			}
		}
	}
	if len(changes) == 0 {
		desc := s.state
		if f.exists {
			desc = f.kind
			if s.state != "absent" {
				desc += ", " + rfDescribeAttrs(f)
			}
			if f.kind == "link" {
				desc += ", → " + f.linkTarget
			}
		}
		ex.Note("%s: %s, as desired", s.path, desc)
		return Proposal{Action: NoOp, Summary: fmt.Sprintf("%s is %s as desired", s.path, fileStateWord(s.state)), Outputs: fileOutputs(s.path)}, nil
	}
	if s.state != "absent" {
		cmds = append(cmds, rfAfterStat(s.path, s.state == "link"))
	}
	pl := &filePlan{file: f, line: strings.Join(cmds, " && ")}
	return Proposal{Action: action, Summary: summary, Changes: changes, Private: pl,
		Commands: []string{transport.Display(transport.Command{Line: pl.line, Become: ex.Become()})}}, nil
}

func fileStateWord(state string) string {
	switch state {
	case "file":
		return "a file"
	case "directory":
		return "a directory"
	case "link":
		return "a symlink"
	case "touch":
		return "a file"
	}
	return state
}

func fileDriftSummary(f remoteFile) string {
	s := fmt.Sprintf("%d differ", f.driftCount)
	if len(f.drift) > 0 {
		names := make([]string, len(f.drift))
		for i, d := range f.drift {
			names[i] = path.Base(d)
		}
		s += " (" + strings.Join(names, ", ")
		if f.driftCount > len(f.drift) {
			s += ", …"
		}
		s += ")"
	}
	return s
}

func fileRecurseSummary(a fileAttrs) string {
	var parts []string
	if a.owner != "" {
		parts = append(parts, "owner "+a.owner)
	}
	if a.group != "" {
		parts = append(parts, "group "+a.group)
	}
	if a.mode.set {
		parts = append(parts, "directories "+a.mode.String())
	}
	return strings.Join(parts, ", ")
}

func fileOutputs(p string) map[string]cty.Value {
	return map[string]cty.Value{"path": cty.StringVal(p)}
}

func (s *fileStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	pl, ok := p.Private.(*filePlan)
	if !ok {
		return Outcome{}, fmt.Errorf("internal error: file applied without its plan")
	}
	verb := "change"
	if s.state == "absent" {
		verb = "remove"
	}
	res, err := rfRunCommand(ctx, ex, verb, s.path, pl.line)
	if err != nil {
		return Outcome{}, err
	}
	if s.state == "absent" {
		ex.Note("%s: %s removed", s.path, pl.file.kind)
		return Outcome{Changed: true, Summary: "removed " + s.path, Outputs: fileOutputs(s.path)}, nil
	}
	after := rfParseWritten(s.path, res.Stdout).after
	before := "absent"
	if pl.file.exists {
		before = pl.file.kind + ", " + rfDescribeAttrs(pl.file)
	}
	ex.Note("%s: %s → %s, %s", s.path, before, after.kind, rfDescribeAttrs(after))
	return Outcome{Changed: true, Summary: p.Summary, Outputs: fileOutputs(s.path)}, nil
}
