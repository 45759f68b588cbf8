package steps

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps/slurm"
	"github.com/zclconf/go-cty/cty"
)

// modify brings a QoS's fields to the values the author wrote once. It
// reads the live values, compares both sides normalised (60 = 00:01:00,
// gpu=2 = gres/gpu=2, ...) and runs one `sacctmgr -i modify qos NAME set`
// with only the fields that differ; when nothing differs nothing runs.
//
//	step "modify" "limits" {
//	  entity = "qos"
//	  name   = "moonlight"
//	  set    = { GraceTime = 60, MaxWall = "8:00:00", MaxTRESPerUser = "gres/gpu=2", Priority = 100 }
//	}
type modifyKind struct{}

func init() { register("modify", modifyKind{}) }

func (modifyKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"entity": &hcldec.AttrSpec{Name: "entity", Type: cty.String, Required: true},
		"name":   &hcldec.AttrSpec{Name: "name", Type: cty.String, Required: true},
		"set":    &hcldec.AttrSpec{Name: "set", Type: cty.DynamicPseudoType, Required: true},
	}
}

func (modifyKind) ReadOnly() bool { return false }

// PlansAhead: a plan diffs against the QoS as a create step will make it.
func (modifyKind) PlansAhead() bool { return true }

// Validate checks field names and values as soon as they are known, so a
// typo or the guide's gpu:20000 fails validate, not the cluster.
func (modifyKind) Validate(cfg cty.Value) error {
	if e := cfg.GetAttr("entity"); e.IsKnown() && !e.IsNull() && strings.ToLower(e.AsString()) != "qos" {
		return &AttrError{Attr: "entity", Err: fmt.Errorf("modify supports entity = \"qos\"; use grant for QoS access of account users")}
	}
	// The name goes into the sacctmgr command line: check it as soon as
	// it is known, as create does, not only when the step runs.
	if n := cfg.GetAttr("name"); n.IsKnown() && !n.IsNull() {
		if err := requireName(slurm.KindQoS, "name", n.AsString()); err != nil {
			return err
		}
	}
	set := cfg.GetAttr("set")
	if !set.IsWhollyKnown() {
		return nil
	}
	desired, err := attrSettings(cfg, "set")
	if err != nil {
		return err
	}
	return checkQoSSettings(desired)
}

func checkQoSSettings(desired map[string]string) error {
	if len(desired) == 0 {
		return &AttrError{Attr: "set", Err: fmt.Errorf("set names no field to change")}
	}
	keys := make([]string, 0, len(desired))
	for k := range desired {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := slurm.Normalize(k, desired[k]); err != nil {
			return &AttrError{Attr: "set", Err: err}
		}
	}
	return nil
}

func (k modifyKind) Decode(cfg cty.Value) (Step, error) {
	if err := k.Validate(cfg); err != nil {
		return nil, err
	}
	name, _ := attrString(cfg, "name")
	if err := requireName(slurm.KindQoS, "name", name); err != nil {
		return nil, err
	}
	desired, err := attrSettings(cfg, "set")
	if err != nil {
		return nil, err
	}
	fields := make([]string, 0, len(desired))
	for f := range desired {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	return &modifyStep{name: name, desired: desired, fields: fields}, nil
}

type modifyStep struct {
	name    string
	desired map[string]string
	fields  []string
}

// live reads the QoS's current values of the managed fields.
func (s *modifyStep) live(ctx context.Context, ex Exec) (map[string]string, error) {
	return readQoS(ctx, ex, s.name, s.fields)
}

// errQoSAbsent marks the "QoS does not exist" failure, which a plan can
// look past when an earlier step creates the QoS.
var errQoSAbsent = errors.New("qos does not exist")

// readQoS reads fields of a QoS and fails when the QoS does not exist.
func readQoS(ctx context.Context, ex Exec, name string, fields []string) (map[string]string, error) {
	argv, err := slurm.ShowQoSArgv(name, fields)
	if err != nil {
		return nil, err
	}
	out, err := readSlurm(ctx, ex, argv)
	if err != nil {
		return nil, err
	}
	live, found, err := slurm.ParseShowQoS(out, name, fields)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &Failure{Msg: fmt.Sprintf("qos %s does not exist", name), Err: errQoSAbsent,
			Hint: "create it first (a create step with entity = \"qos\"), and check `sacctmgr show qos " + name + "`"}
	}
	return live, nil
}

// isQoSAbsent: err is readQoS's "qos does not exist".
func isQoSAbsent(err error) bool {
	var f *Failure
	return err != nil && asFailure(err, &f) && f.Err == errQoSAbsent
}

func toChanges(fc []slurm.FieldChange) []Change {
	out := make([]Change, len(fc))
	for i, c := range fc {
		out[i] = Change{Field: c.Field, Current: c.Current, Desired: c.Desired}
	}
	return out
}

// Resources: modify reads the QoS and changes it.
func (s *modifyStep) Resources() (reads, writes []string) {
	return []string{"qos/" + s.name}, []string{"qos/" + s.name}
}

func (s *modifyStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	live, err := s.live(ctx, ex)
	ahead := ""
	if isQoSAbsent(err) && ex.Ahead("qos/"+s.name) {
		// An earlier step of this plan creates the QoS: diff against the
		// fields a new QoS has. Only then: without such a step the QoS is
		// simply missing, and apply would fail here.
		live, err, ahead = slurm.UnsetLive(s.name), nil, " (once created)"
	}
	if err != nil {
		return Proposal{}, err
	}
	diff, err := slurm.Diff(s.desired, live)
	if err != nil {
		return Proposal{}, err
	}
	outputs := map[string]cty.Value{"name": cty.StringVal(s.name), "live": stringMap(live)}
	if len(diff) == 0 {
		return Proposal{Action: NoOp, Summary: fmt.Sprintf("unchanged: qos %s already has all %d fields", s.name, len(s.desired)), Outputs: outputs}, nil
	}
	argv, err := slurm.ModifyQoSArgv(s.name, diff)
	if err != nil {
		return Proposal{}, err
	}
	return Proposal{
		Action:   Modify,
		Summary:  fmt.Sprintf("modify qos %s%s (%d of %d fields differ)", s.name, ahead, len(diff), len(s.desired)),
		Changes:  toChanges(diff),
		Commands: []string{transport.Display(privileged(ex, argv))},
		Private:  diff,
	}, nil
}

func (s *modifyStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	diff, _ := p.Private.([]slurm.FieldChange)
	argv, err := slurm.ModifyQoSArgv(s.name, diff)
	if err != nil {
		return Outcome{}, err
	}
	if _, err := changeSacctmgr(ctx, ex, argv); err != nil {
		return Outcome{}, err
	}
	// sacctmgr prints " Modified qos..." whether or not anything changed;
	// only reading the values back proves them.
	live, err := s.live(ctx, ex)
	if err != nil {
		return Outcome{}, err
	}
	left, err := slurm.Diff(s.desired, live)
	if err != nil {
		return Outcome{}, err
	}
	if len(left) > 0 {
		var parts []string
		for _, c := range left {
			parts = append(parts, fmt.Sprintf("%s reads %s, want %s", c.Field, c.Current, c.Desired))
		}
		return Outcome{}, &Failure{Msg: "after modify: " + strings.Join(parts, "; ")}
	}
	names := make([]string, len(diff))
	for i, c := range diff {
		names[i] = c.Field
	}
	ex.Note("qos %s now has %s", s.name, strings.Join(names, ", "))
	return Outcome{Changed: true, Summary: fmt.Sprintf("modified qos %s: %s", s.name, strings.Join(names, ", ")),
		Outputs: map[string]cty.Value{"name": cty.StringVal(s.name), "live": stringMap(live)}}, nil
}
