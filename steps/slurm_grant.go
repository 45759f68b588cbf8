package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps/slurm"
	"github.com/zclconf/go-cty/cty"
)

// grant lets every user of an account use a QoS (the guide's Step 5,
// `sacctmgr -i modify user where account=A set qos+=Q`). It adds to each
// association's QoS list and never removes what is there.
//
//	step "grant" "access" { account = "hpc-users" qos = "moonlight" become = true }
type grantKind struct{}

func init() { register("grant", grantKind{}) }

func (grantKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"account": &hcldec.AttrSpec{Name: "account", Type: cty.String, Required: true},
		"qos":     &hcldec.AttrSpec{Name: "qos", Type: cty.String, Required: true},
	}
}

func (grantKind) ReadOnly() bool { return false }

// PlansAhead: a grant's plan stays meaningful when an earlier step creates
// the QoS (it lists the users that lack it) or adds users to the account
// (it says it grants to them once added).
func (grantKind) PlansAhead() bool { return true }

func (grantKind) Decode(cfg cty.Value) (Step, error) {
	account, _ := attrString(cfg, "account")
	qos, _ := attrString(cfg, "qos")
	if err := requireName(slurm.KindAccount, "account", account); err != nil {
		return nil, err
	}
	if err := requireName(slurm.KindQoS, "qos", qos); err != nil {
		return nil, err
	}
	return &grantStep{account: account, qos: qos}, nil
}

type grantStep struct{ account, qos string }

// Resources: a grant needs the QoS and changes the account's user
// associations (the ones verify's association form reads).
func (s *grantStep) Resources() (reads, writes []string) {
	return []string{"qos/" + s.qos, "assoc/" + s.account}, []string{"assoc/" + s.account}
}

// lacking returns the users of the account whose association lacks the QoS.
func (s *grantStep) lacking(ctx context.Context, ex Exec) (lack []slurm.Assoc, users int, err error) {
	argv, err := slurm.ShowAssocArgv(slurm.AssocFilter{Accounts: []string{s.account}})
	if err != nil {
		return nil, 0, err
	}
	out, err := readSlurm(ctx, ex, argv)
	if err != nil {
		return nil, 0, err
	}
	assocs, err := slurm.ParseAssocs(out)
	if err != nil {
		return nil, 0, err
	}
	for _, a := range assocs {
		if a.User == "" {
			continue
		}
		users++
		if !a.HasQoS(s.qos) {
			lack = append(lack, a)
		}
	}
	if users == 0 {
		return nil, 0, errNoUsers
	}
	return lack, users, nil
}

// errNoUsers: the account has no user associations (yet).
var errNoUsers = errors.New("no users")

func (s *grantStep) noUsers() error {
	return &Failure{Msg: fmt.Sprintf("account %s has no users to grant %s to", s.account, s.qos), Err: errNoUsers,
		Hint: "check the account name (sacctmgr show assoc where account=" + s.account + ") or add users first"}
}

func (s *grantStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	argv, err := slurm.GrantQoSArgv(s.account, s.qos)
	if err != nil {
		return Proposal{}, err
	}
	grant := Proposal{Action: Modify, Commands: []string{transport.Display(privileged(ex, argv))}}
	lack, users, err := s.lacking(ctx, ex)
	if errors.Is(err, errNoUsers) {
		if !ex.Ahead("assoc/" + s.account) {
			return Proposal{}, s.noUsers()
		}
		// An earlier step of this plan adds users to the account.
		grant.Summary = fmt.Sprintf("grant %s to the users of %s (once added)", s.qos, s.account)
		return grant, nil
	}
	if err != nil {
		return Proposal{}, err
	}
	if len(lack) == 0 {
		return Proposal{Action: NoOp, Summary: fmt.Sprintf("unchanged: all %d user(s) of %s may use %s", users, s.account, s.qos)}, nil
	}
	// In a plan, a grant of a QoS that does not exist would only fail in
	// apply (sacctmgr: "You gave a bad qos"); say so now, unless an
	// earlier step of this plan creates it. Apply needs no extra probe:
	// the earlier steps have run, and sacctmgr refuses a missing QoS.
	if ex.DryRun() && !ex.Ahead("qos/"+s.qos) {
		if _, err := readQoS(ctx, ex, s.qos, nil); err != nil {
			return Proposal{}, err
		}
	}
	for _, a := range lack {
		grant.Changes = append(grant.Changes, Change{Field: "QOS of " + a.User, Current: strings.Join(a.QOS, ","), Desired: "+" + s.qos})
	}
	grant.Summary = fmt.Sprintf("grant %s to %d user(s) of %s", s.qos, len(lack), s.account)
	return grant, nil
}

func (s *grantStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	argv, err := slurm.GrantQoSArgv(s.account, s.qos)
	if err != nil {
		return Outcome{}, err
	}
	if _, err := changeSacctmgr(ctx, ex, argv); err != nil {
		return Outcome{}, err
	}
	lack, users, err := s.lacking(ctx, ex)
	if errors.Is(err, errNoUsers) {
		return Outcome{}, s.noUsers()
	}
	if err != nil {
		return Outcome{}, err
	}
	if len(lack) > 0 {
		return Outcome{}, &Failure{Msg: fmt.Sprintf("after the grant %d user(s) still lack %s", len(lack), s.qos)}
	}
	ex.Note("all %d user(s) of %s may use %s", users, s.account, s.qos)
	return Outcome{Changed: true, Summary: fmt.Sprintf("granted %s to %s", s.qos, s.account)}, nil
}
