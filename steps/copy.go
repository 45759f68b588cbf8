package steps

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/hcllimits"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

// copy puts content at dest: a string (`content`) or a file beside the
// runbook (`source`), with mode/owner/group, an optional backup of the old
// file and a validate command run on the new one before it replaces the
// old. It probes once (stat + checksum, and the old content only when the
// checksums differ, for the plan's diff) and writes with one command.
//
//	step "copy" "motd" {
//	  dest    = "/etc/motd"
//	  content = "Welcome to ${host.name}\n"
//	  mode    = "0644"
//	}
type copyKind struct{}

func init() { register("copy", copyKind{}) }

// contentSpec are the attributes copy and template share.
func contentSpec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"dest":      &hcldec.AttrSpec{Name: "dest", Type: cty.String, Required: true},
		"source":    &hcldec.AttrSpec{Name: "source", Type: cty.String},
		"mode":      &hcldec.AttrSpec{Name: "mode", Type: cty.DynamicPseudoType},
		"owner":     &hcldec.AttrSpec{Name: "owner", Type: cty.String},
		"group":     &hcldec.AttrSpec{Name: "group", Type: cty.String},
		"backup":    &hcldec.AttrSpec{Name: "backup", Type: cty.Bool},
		"validate":  &hcldec.AttrSpec{Name: "validate", Type: cty.String},
		"sensitive": &hcldec.AttrSpec{Name: "sensitive", Type: cty.Bool},
	}
}

func (copyKind) Spec() hcldec.ObjectSpec {
	s := contentSpec()
	s["content"] = &hcldec.AttrSpec{Name: "content", Type: cty.String}
	return s
}

func (copyKind) ReadOnly() bool { return false }

// Validate checks each attribute as soon as it is known.
func (copyKind) Validate(cfg cty.Value) error {
	hasContent, hasSource := !cfg.GetAttr("content").IsNull(), !cfg.GetAttr("source").IsNull()
	switch {
	case hasContent && hasSource:
		return &AttrError{Attr: "source", Err: fmt.Errorf("set content or source, not both")}
	case !hasContent && !hasSource:
		return &AttrError{Attr: "content", Err: fmt.Errorf("set content = \"...\" (the file's text) or source = \"FILE\" (a file beside the runbook)")}
	}
	_, err := decodeContentCommon(cfg)
	return err
}

func (k copyKind) Decode(cfg cty.Value) (Step, error) {
	if err := k.Validate(cfg); err != nil {
		return nil, err
	}
	s, err := decodeContentCommon(cfg)
	if err != nil {
		return nil, err
	}
	if content, set, _ := rfString(cfg, "content"); set {
		b := []byte(content)
		s.desired = func(Exec) ([]byte, error) { return b, nil }
		return s, nil
	}
	source, _, _ := rfString(cfg, "source")
	s.desired = func(ex Exec) ([]byte, error) { return readSource(ex, source) }
	return s, nil
}

// decodeContentCommon reads the attributes copy and template share; when
// some are not known yet it checks the known ones.
func decodeContentCommon(cfg cty.Value) (*contentStep, error) {
	s := &contentStep{}
	var err error
	if s.dest, err = rfPath(cfg, "dest"); err != nil {
		return nil, err
	}
	if s.attrs, err = decodeFileAttrs(cfg); err != nil {
		return nil, err
	}
	if s.validate, err = rfValidate(cfg); err != nil {
		return nil, err
	}
	if src, set, err := rfString(cfg, "source"); err != nil {
		return nil, err
	} else if set && src == "" {
		return nil, &AttrError{Attr: "source", Err: fmt.Errorf("source is empty")}
	}
	s.backup = rfBool(cfg, "backup", false)
	s.sensitive = rfBool(cfg, "sensitive", false)
	return s, nil
}

// readSource reads a local file for copy's source, relative to the
// runbook's directory as file() reads it.
func readSource(ex Exec, source string) ([]byte, error) {
	p := source
	if !filepath.IsAbs(p) {
		p = filepath.Join(ex.SourceDir(), p)
	}
	// Capped as file() is: a source of /dev/zero must fail, not fill memory.
	b, over, err := hcllimits.ReadCapped(p, hcllimits.MaxFileBytes)
	if err != nil {
		return nil, &Failure{Msg: fmt.Sprintf("cannot read source %s: %v", p, err),
			Hint: "source is a file on the machine running runbook, relative to the runbook's directory"}
	}
	if over {
		return nil, &Failure{Msg: fmt.Sprintf("source %s is larger than %d MiB, the most runbook reads of a file", p, hcllimits.MaxFileBytes>>20),
			Hint: "is the path right? copy is for configuration files, not bulk data"}
	}
	return b, nil
}

// contentStep is a decoded copy or template step: both put content they
// know on the controller at dest; they differ only in how they make it.
type contentStep struct {
	dest      string
	attrs     fileAttrs
	backup    bool
	validate  string
	sensitive bool
	// desired makes the content, in Plan (template renders with the
	// runbook's directory, which only Exec knows).
	desired func(ex Exec) ([]byte, error)
}

// contentPlan is what Plan learned, for Apply.
type contentPlan struct {
	file    remoteFile
	content []byte
	// rewrite: the content differs (or the file is new); otherwise only
	// mode/owner/group change.
	rewrite bool
}

func (s *contentStep) Resources() (reads, writes []string) {
	return []string{fileResource(s.dest)}, []string{fileResource(s.dest)}
}

func (s *contentStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	content, err := s.desired(ex)
	if err != nil {
		return Proposal{}, err
	}
	sum := rfSHA256(content)
	o := rfProbeOptions{follow: true, checksum: true, contentUnless: sum, contentCap: diffFetchCap}
	if s.sensitive {
		// The old content is not fetched either: it is as secret as the new.
		o.contentCap = 0
	}
	f, err := probeRemoteFile(ctx, ex, s.dest, o)
	if err != nil {
		return Proposal{}, err
	}
	if err := rfParentProblem(ex, f); err != nil {
		return Proposal{}, err
	}
	if f.exists && f.kind != "file" {
		return Proposal{}, &Failure{Msg: fmt.Sprintf("%s is a %s, not a regular file; nothing was written", f.path, f.kind)}
	}
	// The fields first, the diff (long) last.
	contentChanges := rfContentChanges(f, content, s.sensitive)
	rewrite := len(contentChanges) > 0
	changes := append(rfAttrChanges(f, s.attrs), contentChanges...)
	via := ""
	if f.resolved {
		via = fmt.Sprintf(" (through the symlink %s)", s.dest)
	}
	if len(changes) == 0 {
		ex.Note("%s%s: %s, mode %s, owner %s:%s, as desired", f.path, via, rfDescribeContent(f.sha256, f.size), f.modeString(), f.owner, f.group)
		return Proposal{Action: NoOp, Summary: fmt.Sprintf("%s is up to date%s", f.path, via), Outputs: contentOutputs(f.path, f.sha256, "")}, nil
	}
	pl := &contentPlan{file: f, content: content, rewrite: rewrite}
	p := Proposal{Action: Modify, Changes: changes, Private: pl, Commands: []string{transport.Display(s.command(ex, pl))}}
	if f.exists {
		p.Summary = fmt.Sprintf("update %s%s: %s", f.path, via, rfChangedFields(changes))
	} else {
		p.Action = Create
		p.Summary = fmt.Sprintf("create %s%s (%d bytes)", f.path, via, len(content))
	}
	return p, nil
}

// command is what Apply runs for pl.
func (s *contentStep) command(ex Exec, pl *contentPlan) transport.Command {
	if !pl.rewrite {
		return transport.Command{Line: rfSetAttrsLine(pl.file.path, s.attrs, pl.file, false), Become: ex.Become(), NoStdin: true}
	}
	return transport.Command{Argv: []string{"/bin/sh", "-c", rfWriteLine(s.write(pl))}, Become: ex.Become()}
}

func (s *contentStep) write(pl *contentPlan) rfWriteSpec {
	return rfWriteSpec{path: pl.file.path, content: pl.content, attrs: s.attrs, existing: pl.file, validate: s.validate, backup: s.backup}
}

func (s *contentStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	pl, ok := p.Private.(*contentPlan)
	if !ok {
		return Outcome{}, fmt.Errorf("internal error: copy applied without its plan")
	}
	return applyContent(ctx, ex, pl, s.write(pl), s.attrs)
}

// applyContent writes (or only re-attributes) a file and records the
// before and after checksums as evidence.
func applyContent(ctx context.Context, ex Exec, pl *contentPlan, w rfWriteSpec, attrs fileAttrs) (Outcome, error) {
	before := "absent"
	if pl.file.exists {
		before = rfDescribeContent(pl.file.sha256, pl.file.size)
	}
	if !pl.rewrite {
		res, err := rfRunCommand(ctx, ex, "change", pl.file.path, rfSetAttrsLine(pl.file.path, attrs, pl.file, false))
		if err != nil {
			return Outcome{}, err
		}
		after := rfParseWritten(pl.file.path, res.Stdout).after
		ex.Note("%s: content unchanged (%s); mode %s → %s, owner %s:%s → %s:%s", pl.file.path, before,
			pl.file.modeString(), after.modeString(), pl.file.owner, pl.file.group, after.owner, after.group)
		return Outcome{Changed: true, Summary: "set " + rfDescribeAttrs(after) + " on " + pl.file.path,
			Outputs: contentOutputs(pl.file.path, pl.file.sha256, "")}, nil
	}
	out, err := rfWriteContent(ctx, ex, w)
	if err != nil {
		return Outcome{}, err
	}
	note := fmt.Sprintf("%s: %s → %s, %s", pl.file.path, before, rfDescribeContent(out.after.sha256, out.after.size), rfDescribeAttrs(out.after))
	if out.backup != "" {
		note += "; old file kept as " + out.backup
	}
	ex.Note("%s", note)
	return Outcome{Changed: true, Summary: fmt.Sprintf("wrote %s (%d bytes)", pl.file.path, len(w.content)),
		Outputs: contentOutputs(pl.file.path, out.after.sha256, out.backup)}, nil
}

func rfDescribeAttrs(f remoteFile) string {
	return fmt.Sprintf("mode %s, owner %s:%s", f.modeString(), f.owner, f.group)
}

// contentOutputs are what copy, template and line expose.
func contentOutputs(p, sum, backup string) map[string]cty.Value {
	return map[string]cty.Value{
		"path":        cty.StringVal(p),
		"sha256":      cty.StringVal(sum),
		"backup_file": cty.StringVal(backup),
	}
}
