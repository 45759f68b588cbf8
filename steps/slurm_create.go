package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps/slurm"
	"github.com/zclconf/go-cty/cty"
)

// create ensures a Slurm entity exists: a QoS, an account, or a user in an
// account. It probes first and adds only when absent, always with -i.
//
//	step "create" "qos" { entity = "qos"  name = "moonlight" become = true }
type createKind struct{}

func init() { register("create", createKind{}) }

func (createKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"entity":       &hcldec.AttrSpec{Name: "entity", Type: cty.String, Required: true},
		"name":         &hcldec.AttrSpec{Name: "name", Type: cty.String, Required: true},
		"account":      &hcldec.AttrSpec{Name: "account", Type: cty.String},
		"description":  &hcldec.AttrSpec{Name: "description", Type: cty.String},
		"organization": &hcldec.AttrSpec{Name: "organization", Type: cty.String},
		"admin_level":  &hcldec.AttrSpec{Name: "admin_level", Type: cty.String},
	}
}

func (createKind) ReadOnly() bool { return false }

func (createKind) Decode(cfg cty.Value) (Step, error) {
	s := &createStep{}
	var err error
	for attr, dst := range map[string]*string{"entity": &s.entity, "name": &s.name, "account": &s.account,
		"description": &s.description, "organization": &s.organization, "admin_level": &s.adminLevel} {
		if *dst, err = attrString(cfg, attr); err != nil {
			return nil, err
		}
	}
	s.entity = strings.ToLower(s.entity)
	switch s.entity {
	case "qos":
		err = requireName(slurm.KindQoS, "name", s.name)
	case "account":
		err = requireName(slurm.KindAccount, "name", s.name)
	case "user":
		if err = requireName(slurm.KindUser, "name", s.name); err == nil {
			if s.account == "" {
				return nil, &AttrError{Attr: "account", Err: fmt.Errorf("a Slurm user is created in an account: set account")}
			}
			err = requireName(slurm.KindAccount, "account", s.account)
		}
	default:
		return nil, &AttrError{Attr: "entity", Err: fmt.Errorf("entity is \"qos\", \"account\" or \"user\", not %q", s.entity)}
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

type createStep struct {
	entity, name, account     string
	description, organization string
	adminLevel                string
}

func (s *createStep) what() string {
	if s.entity == "user" {
		return fmt.Sprintf("user %s in account %s", s.name, s.account)
	}
	return s.entity + " " + s.name
}

// Resources: what create makes, as the steps that read it name it. A new
// account brings its own association, a new user one in its account. It
// declares no reads: its probe only decides whether to add, and a plan
// that creates an account and then a user in it must show both creates,
// not the second as known after apply.
func (s *createStep) Resources() (reads, writes []string) {
	switch s.entity {
	case "qos":
		return nil, []string{"qos/" + s.name}
	case "account":
		return nil, []string{"slurm-account/" + s.name, "assoc/" + s.name}
	default:
		return nil, []string{"slurm-user/" + s.name, "assoc/" + s.account}
	}
}

func (s *createStep) outputs(existed bool) map[string]cty.Value {
	return map[string]cty.Value{
		"name":    cty.StringVal(s.name),
		"entity":  cty.StringVal(s.entity),
		"existed": cty.BoolVal(existed),
	}
}

// exists probes with a read-only, parsable query.
func (s *createStep) exists(ctx context.Context, ex Exec) (bool, error) {
	switch s.entity {
	case "qos":
		argv, err := slurm.ShowQoSArgv(s.name, nil)
		if err != nil {
			return false, err
		}
		out, err := readSlurm(ctx, ex, argv)
		if err != nil {
			return false, err
		}
		_, found, err := slurm.ParseShowQoS(out, s.name, nil)
		return found, err
	case "account":
		out, err := readSlurm(ctx, ex, []string{"sacctmgr", "-n", "-P", "show", "account", s.name, "format=Account"})
		if err != nil {
			return false, err
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.EqualFold(strings.TrimSpace(l), s.name) {
				return true, nil
			}
		}
		return false, nil
	default:
		argv, err := slurm.ShowAssocArgv(slurm.AssocFilter{Accounts: []string{s.account}, Users: []string{s.name}})
		if err != nil {
			return false, err
		}
		out, err := readSlurm(ctx, ex, argv)
		if err != nil {
			return false, err
		}
		assocs, err := slurm.ParseAssocs(out)
		if err != nil {
			return false, err
		}
		for _, a := range assocs {
			if a.User == s.name {
				return true, nil
			}
		}
		return false, nil
	}
}

func (s *createStep) addArgv() ([]string, error) {
	switch s.entity {
	case "qos":
		return slurm.AddQoSArgv(s.name, nil)
	case "account":
		return slurm.AddAccountArgv(s.name, s.description, s.organization)
	default:
		return slurm.AddUserArgv(s.name, s.account, s.adminLevel)
	}
}

func (s *createStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	found, err := s.exists(ctx, ex)
	if err != nil {
		return Proposal{}, err
	}
	if found {
		return Proposal{Action: NoOp, Summary: "already exists: " + s.what(), Outputs: s.outputs(true)}, nil
	}
	argv, err := s.addArgv()
	if err != nil {
		return Proposal{}, err
	}
	return Proposal{Action: Create, Summary: "create " + s.what(), Commands: []string{transport.Display(privileged(ex, argv))}, Outputs: s.outputs(false)}, nil
}

func (s *createStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	argv, err := s.addArgv()
	if err != nil {
		return Outcome{}, err
	}
	r, err := changeSacctmgr(ctx, ex, argv)
	if err != nil {
		return Outcome{}, err
	}
	// Read it back: the entity must now exist, whatever sacctmgr printed.
	found, err := s.exists(ctx, ex)
	if err != nil {
		return Outcome{}, err
	}
	if !found {
		return Outcome{}, &Failure{Msg: fmt.Sprintf("sacctmgr reported %s but %s is still absent", r.Outcome, s.what())}
	}
	ex.Note("%s exists after `%s` (%s)", s.what(), transport.Display(privileged(ex, argv)), r.Outcome)
	return Outcome{Changed: r.Changed, Summary: "created " + s.what(), Outputs: s.outputs(!r.Changed)}, nil
}
