package steps

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

// line makes sure one line is in a text file, or is not: `line` (added
// when missing, or replacing the last line `regexp` matches), or the
// key=value form for /etc/default-style files (`key`, `value`,
// `separator`), which replaces the key's line, or uncomments a commented
// one, instead of adding a second. Reading the file is the probe (one
// command); the edit is made on the controller and written back with one
// command that refuses to write when the file changed since it was read.
//
//	step "line" "grub_timeout" {
//	  path   = "/etc/default/grub"
//	  key    = "GRUB_TIMEOUT"
//	  value  = "5"
//	  become = true
//	}
type lineKind struct{}

func init() { register("line", lineKind{}) }

func (lineKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"path":          &hcldec.AttrSpec{Name: "path", Type: cty.String, Required: true},
		"line":          &hcldec.AttrSpec{Name: "line", Type: cty.String},
		"state":         &hcldec.AttrSpec{Name: "state", Type: cty.String},
		"regexp":        &hcldec.AttrSpec{Name: "regexp", Type: cty.String},
		"insert_after":  &hcldec.AttrSpec{Name: "insert_after", Type: cty.String},
		"insert_before": &hcldec.AttrSpec{Name: "insert_before", Type: cty.String},
		"create":        &hcldec.AttrSpec{Name: "create", Type: cty.Bool},
		"key":           &hcldec.AttrSpec{Name: "key", Type: cty.String},
		"value":         &hcldec.AttrSpec{Name: "value", Type: cty.String},
		"separator":     &hcldec.AttrSpec{Name: "separator", Type: cty.String},
		"mode":          &hcldec.AttrSpec{Name: "mode", Type: cty.DynamicPseudoType},
		"owner":         &hcldec.AttrSpec{Name: "owner", Type: cty.String},
		"group":         &hcldec.AttrSpec{Name: "group", Type: cty.String},
		"backup":        &hcldec.AttrSpec{Name: "backup", Type: cty.Bool},
		"validate":      &hcldec.AttrSpec{Name: "validate", Type: cty.String},
	}
}

func (lineKind) ReadOnly() bool { return false }

func (lineKind) Validate(cfg cty.Value) error {
	_, err := decodeLine(cfg)
	return err
}

func (lineKind) Decode(cfg cty.Value) (Step, error) { return decodeLine(cfg) }

type lineStep struct {
	path    string
	present bool
	// line form
	line  string
	hasRe bool
	re    *regexp.Regexp
	// key=value form
	key, value, separator string
	// where a new line goes: after the last line insertAfter matches, or
	// before the last one insertBefore matches; both nil: at the end.
	insertAfter, insertBefore *regexp.Regexp
	atStart                   bool // insert_before = "BOF"
	create                    bool
	attrs                     fileAttrs
	backup                    bool
	validate                  string
}

// lineRegexp compiles a regexp attribute, naming it in the error.
func lineRegexp(cfg cty.Value, name string) (*regexp.Regexp, string, error) {
	s, set, err := rfString(cfg, name)
	if err != nil || !set {
		return nil, s, err
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, s, &AttrError{Attr: name, Err: fmt.Errorf("%s %q does not compile (Go RE2 syntax): %v", name, s, err)}
	}
	return re, s, nil
}

func oneLine(attr, s string) error {
	if strings.ContainsAny(s, "\n\r\x00") {
		return &AttrError{Attr: attr, Err: fmt.Errorf("%s must be one line (it has a line break or NUL byte); use a copy or template step for several lines", attr)}
	}
	return nil
}

func decodeLine(cfg cty.Value) (*lineStep, error) {
	s := &lineStep{present: true, separator: "="}
	var err error
	if s.path, err = rfPath(cfg, "path"); err != nil {
		return nil, err
	}
	if st, set, err := rfString(cfg, "state"); err != nil {
		return nil, err
	} else if set {
		if st != "present" && st != "absent" {
			return nil, &AttrError{Attr: "state", Err: fmt.Errorf("state is present or absent, not %q", st)}
		}
		s.present = st == "present"
	}
	if s.re, _, err = lineRegexp(cfg, "regexp"); err != nil {
		return nil, err
	}
	s.hasRe = !cfg.GetAttr("regexp").IsNull()
	var after, before string
	if s.insertAfter, after, err = lineRegexp(cfg, "insert_after"); err != nil {
		return nil, err
	}
	if s.insertBefore, before, err = lineRegexp(cfg, "insert_before"); err != nil {
		return nil, err
	}
	if after == "EOF" {
		s.insertAfter = nil
	}
	if before == "BOF" {
		s.insertBefore, s.atStart = nil, true
	}
	for name, dst := range map[string]*string{"line": &s.line, "key": &s.key, "value": &s.value, "separator": &s.separator} {
		v, set, err := rfString(cfg, name)
		if err != nil {
			return nil, err
		}
		if set {
			if err := oneLine(name, v); err != nil {
				return nil, err
			}
			*dst = v
		}
	}
	if s.attrs, err = decodeFileAttrs(cfg); err != nil {
		return nil, err
	}
	if s.validate, err = rfValidate(cfg); err != nil {
		return nil, err
	}
	s.create = rfBool(cfg, "create", false)
	s.backup = rfBool(cfg, "backup", false)

	set := func(name string) bool { return !cfg.GetAttr(name).IsNull() }
	switch {
	case set("insert_after") && set("insert_before"):
		return nil, &AttrError{Attr: "insert_before", Err: fmt.Errorf("set insert_after or insert_before, not both")}
	case set("key") && (set("line") || set("regexp")):
		attr := "line"
		if !set("line") {
			attr = "regexp"
		}
		return nil, &AttrError{Attr: attr, Err: fmt.Errorf("the key form (key, value) writes its own line: set key and value, or line (and regexp), not both")}
	case set("key") && rfKnown(cfg, "key") && strings.TrimSpace(s.key) == "":
		return nil, &AttrError{Attr: "key", Err: fmt.Errorf("key is empty")}
	case set("key") && rfKnown(cfg, "separator") && s.separator == "":
		return nil, &AttrError{Attr: "separator", Err: fmt.Errorf("separator is empty")}
	case set("key") && s.present && !set("value"):
		return nil, &AttrError{Attr: "key", Err: fmt.Errorf("key needs value = \"...\" (or state = \"absent\" to remove the key's line)")}
	case !set("key") && (set("value") || set("separator")):
		attr := "value"
		if !set("value") {
			attr = "separator"
		}
		return nil, &AttrError{Attr: attr, Err: fmt.Errorf("%s belongs to the key form: set key too", attr)}
	case !set("key") && s.present && !set("line"):
		return nil, &AttrError{Attr: "line", Err: fmt.Errorf("set line = \"...\" (the line to have in the file), or key and value for a KEY=VALUE file")}
	case !set("key") && !s.present && !set("line") && !set("regexp"):
		return nil, &AttrError{Attr: "line", Err: fmt.Errorf("state = \"absent\" needs line (remove lines equal to it) or regexp (remove lines it matches)")}
	case !s.present && (set("insert_after") || set("insert_before") || set("create")):
		attr := "create"
		if set("insert_after") {
			attr = "insert_after"
		} else if set("insert_before") {
			attr = "insert_before"
		}
		return nil, &AttrError{Attr: attr, Err: fmt.Errorf("%s is for state = \"present\"", attr)}
	}
	return s, nil
}

func (s *lineStep) Resources() (reads, writes []string) {
	return []string{fileResource(s.path)}, []string{fileResource(s.path)}
}

// keyPatterns match the key's active line ("KEY=…", spaces allowed
// around the separator) and a commented one ("# KEY=…").
func (s *lineStep) keyPatterns() (active, commented *regexp.Regexp) {
	sep := strings.TrimSpace(s.separator)
	tail := `\s*` + regexp.QuoteMeta(sep)
	if sep == "" {
		// A whitespace separator ("KEY VALUE", sshd_config style).
		tail = `(\s|$)`
	}
	k := regexp.QuoteMeta(s.key)
	return regexp.MustCompile(`^\s*` + k + tail), regexp.MustCompile(`^\s*#+\s*` + k + tail)
}

// edit is the line edit on the file's lines: the new lines and a
// summary of what changed ("" when nothing did).
func (s *lineStep) edit(lines []string) ([]string, string) {
	lastMatch := func(re *regexp.Regexp) int {
		for i := len(lines) - 1; i >= 0; i-- {
			if re.MatchString(lines[i]) {
				return i
			}
		}
		return -1
	}
	removeAll := func(match func(string) bool) ([]string, string) {
		var kept []string
		for _, l := range lines {
			if !match(l) {
				kept = append(kept, l)
			}
		}
		if n := len(lines) - len(kept); n > 0 {
			return kept, fmt.Sprintf("remove %d line(s)", n)
		}
		return lines, ""
	}
	replace := func(i int, want string) ([]string, string) {
		if lines[i] == want {
			return lines, ""
		}
		out := append([]string(nil), lines...)
		out[i] = want
		return out, fmt.Sprintf("replace line %d", i+1)
	}
	insert := func(want string) ([]string, string) {
		at := len(lines)
		switch {
		case s.atStart:
			at = 0
		case s.insertAfter != nil:
			if i := lastMatch(s.insertAfter); i >= 0 {
				at = i + 1
			}
		case s.insertBefore != nil:
			if i := lastMatch(s.insertBefore); i >= 0 {
				at = i
			}
		}
		out := append(append(append([]string(nil), lines[:at]...), want), lines[at:]...)
		return out, fmt.Sprintf("add line %d", at+1)
	}
	if s.key != "" {
		active, commented := s.keyPatterns()
		if !s.present {
			return removeAll(active.MatchString)
		}
		want := s.key + s.separator + s.value
		if i := lastMatch(active); i >= 0 {
			return replace(i, want)
		}
		// The distribution's commented default is where the setting belongs.
		if i := lastMatch(commented); i >= 0 {
			return replace(i, want)
		}
		return insert(want)
	}
	if !s.present {
		if s.hasRe {
			return removeAll(s.re.MatchString)
		}
		return removeAll(func(l string) bool { return l == s.line })
	}
	if s.hasRe {
		if i := lastMatch(s.re); i >= 0 {
			return replace(i, s.line)
		}
	}
	for _, l := range lines {
		if l == s.line {
			return lines, ""
		}
	}
	return insert(s.line)
}

// splitFileLines splits text into lines without their newlines.
func splitFileLines(text string) []string {
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

func (s *lineStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	f, err := probeRemoteFile(ctx, ex, s.path, rfProbeOptions{follow: true, checksum: true, contentCap: lineReadCap})
	if err != nil {
		return Proposal{}, err
	}
	via := ""
	if f.resolved {
		via = fmt.Sprintf(" (through the symlink %s)", s.path)
	}
	var content []byte
	switch {
	case !f.exists && !s.present:
		ex.Note("%s: absent, so no line to remove", f.path)
		return Proposal{Action: NoOp, Summary: f.path + " does not exist: nothing to remove", Outputs: contentOutputs(f.path, "", "")}, nil
	case !f.exists && !s.create:
		return Proposal{}, &Failure{Msg: fmt.Sprintf("%s does not exist", f.path), Hint: "set create = true to create it with the line"}
	case !f.exists:
		if err := rfParentProblem(ex, f); err != nil {
			return Proposal{}, err
		}
	case f.kind != "file":
		return Proposal{}, &Failure{Msg: fmt.Sprintf("%s is a %s, not a regular file", f.path, f.kind)}
	case !f.haveContent:
		return Proposal{}, &Failure{Msg: fmt.Sprintf("%s is %d bytes, over the %d MiB the line kind edits", f.path, f.size, lineReadCap>>20)}
	case !rfIsText(f.content):
		return Proposal{}, &Failure{Msg: fmt.Sprintf("%s is not a text file (it has NUL bytes or is not UTF-8)", f.path)}
	default:
		content = f.content
	}
	lines, what := s.edit(splitFileLines(string(content)))
	desired := content
	if what != "" {
		desired = []byte(strings.Join(lines, "\n") + "\n")
		if len(lines) == 0 {
			desired = nil
		}
	}
	// The fields first, the diff (long) last.
	contentChanges := rfContentChanges(f, desired, false)
	rewrite := len(contentChanges) > 0
	changes := append(rfAttrChanges(f, s.attrs), contentChanges...)
	if len(changes) == 0 {
		ex.Note("%s%s: %s, %s, line as desired", f.path, via, rfDescribeContent(f.sha256, f.size), rfDescribeAttrs(f))
		return Proposal{Action: NoOp, Summary: fmt.Sprintf("%s%s already has the line as desired", f.path, via), Outputs: contentOutputs(f.path, f.sha256, "")}, nil
	}
	pl := &contentPlan{file: f, content: desired, rewrite: rewrite}
	p := Proposal{Action: Modify, Changes: changes, Private: pl}
	switch {
	case !f.exists:
		p.Action = Create
		p.Summary = fmt.Sprintf("create %s%s with the line", f.path, via)
	case what != "":
		p.Summary = fmt.Sprintf("%s of %s%s", what, f.path, via)
	default:
		p.Summary = fmt.Sprintf("update %s%s: %s", f.path, via, rfChangedFields(changes))
	}
	p.Commands = []string{transport.Display(s.command(ex, pl))}
	return p, nil
}

func (s *lineStep) write(pl *contentPlan) rfWriteSpec {
	guard := "-"
	if pl.file.exists {
		guard = pl.file.sha256
	}
	return rfWriteSpec{path: pl.file.path, content: pl.content, attrs: s.attrs, existing: pl.file,
		validate: s.validate, backup: s.backup, guardSHA: guard}
}

func (s *lineStep) command(ex Exec, pl *contentPlan) transport.Command {
	if !pl.rewrite {
		return transport.Command{Line: rfSetAttrsLine(pl.file.path, s.attrs, pl.file, false), Become: ex.Become(), NoStdin: true}
	}
	return transport.Command{Argv: []string{"/bin/sh", "-c", rfWriteLine(s.write(pl))}, Become: ex.Become()}
}

func (s *lineStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	pl, ok := p.Private.(*contentPlan)
	if !ok {
		return Outcome{}, fmt.Errorf("internal error: line applied without its plan")
	}
	return applyContent(ctx, ex, pl, s.write(pl), s.attrs)
}
