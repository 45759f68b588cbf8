package steps

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/steps/slurm"
	"github.com/zclconf/go-cty/cty"
)

// verify re-reads live Slurm state and asserts it equals what the runbook
// wants. It is read-only, so it also runs in a plan.
//
//	step "verify" "qos" { entity = "qos" name = "moonlight" expect = { Priority = 100 } }
//	step "verify" "access" { entity = "association" account = "hpc-users" qos_includes = ["moonlight"] }
type verifyKind struct{}

func init() { register("verify", verifyKind{}) }

func (verifyKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"entity":       &hcldec.AttrSpec{Name: "entity", Type: cty.String, Required: true},
		"name":         &hcldec.AttrSpec{Name: "name", Type: cty.String},
		"expect":       &hcldec.AttrSpec{Name: "expect", Type: cty.DynamicPseudoType},
		"account":      &hcldec.AttrSpec{Name: "account", Type: cty.String},
		"users":        &hcldec.AttrSpec{Name: "users", Type: cty.List(cty.String)},
		"qos_includes": &hcldec.AttrSpec{Name: "qos_includes", Type: cty.List(cty.String)},
	}
}

func (verifyKind) ReadOnly() bool { return true }

// evidenceFields is the guide's Step 4 table.
var evidenceFields = []string{"Priority", "MaxWall", "MaxTRESPerUser", "GraceTime"}

func (verifyKind) Decode(cfg cty.Value) (Step, error) {
	entity, _ := attrString(cfg, "entity")
	switch strings.ToLower(entity) {
	case "qos":
		name, _ := attrString(cfg, "name")
		if err := requireName(slurm.KindQoS, "name", name); err != nil {
			return nil, err
		}
		expect, err := attrSettings(cfg, "expect")
		if err != nil {
			return nil, err
		}
		if expect == nil {
			return nil, &AttrError{Attr: "expect", Err: fmt.Errorf("set the fields the QoS must have, or expect = {} to check only that it exists")}
		}
		// expect = {} is "the QoS exists": nothing more to check.
		if len(expect) > 0 {
			if err := checkQoSSettings(expect); err != nil {
				return nil, &AttrError{Attr: "expect", Err: err}
			}
		}
		return &verifyQoS{name: name, expect: expect}, nil
	case "association":
		account, _ := attrString(cfg, "account")
		if err := requireName(slurm.KindAccount, "account", account); err != nil {
			return nil, err
		}
		users, err := attrStrings(cfg, "users")
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if err := requireName(slurm.KindUser, "users", u); err != nil {
				return nil, err
			}
		}
		qos, err := attrStrings(cfg, "qos_includes")
		if err != nil {
			return nil, err
		}
		if len(qos) == 0 {
			return nil, &AttrError{Attr: "qos_includes", Err: fmt.Errorf("list the QoS the account's users must be able to use")}
		}
		return &verifyAssoc{account: account, users: users, qos: qos}, nil
	}
	return nil, &AttrError{Attr: "entity", Err: fmt.Errorf("entity is \"qos\" or \"association\", not %q", entity)}
}

type verifyQoS struct {
	name   string
	expect map[string]string
}

// Resources: the QoS it reads back.
func (s *verifyQoS) Resources() (reads, writes []string) { return []string{"qos/" + s.name}, nil }

func (s *verifyQoS) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	fields := append([]string(nil), evidenceFields...)
	for f := range s.expect {
		fields = append(fields, f)
	}
	sort.Strings(fields[len(evidenceFields):])
	live, err := readQoS(ctx, ex, s.name, fields)
	if err != nil {
		return Proposal{}, err
	}
	// The guide's Step 4 table, as evidence a person can compare by eye.
	row := []string{s.name}
	for _, f := range evidenceFields {
		row = append(row, live[canonicalField(f)])
	}
	ex.Note("Name|Priority|MaxWall|MaxTRESPU|GraceTime = %s", strings.Join(row, "|"))
	diff, err := slurm.Diff(s.expect, live)
	if err != nil {
		return Proposal{}, err
	}
	if len(diff) > 0 {
		var parts []string
		for _, c := range diff {
			parts = append(parts, fmt.Sprintf("%s is %s, want %s", c.Field, c.Current, c.Desired))
		}
		return Proposal{}, &Failure{Msg: fmt.Sprintf("qos %s: %s", s.name, strings.Join(parts, "; ")),
			Hint: "a modify step sets these; was it skipped, or did someone change the QoS by hand?"}
	}
	summary := fmt.Sprintf("qos %s has all %d expected values", s.name, len(s.expect))
	if len(s.expect) == 0 {
		summary = fmt.Sprintf("qos %s exists", s.name)
		ex.Note("qos %s exists", s.name)
	}
	return Proposal{Action: Read, Summary: summary,
		Outputs: map[string]cty.Value{"name": cty.StringVal(s.name), "live": stringMap(live), "table": cty.StringVal(strings.Join(row, "|"))}}, nil
}

func canonicalField(name string) string {
	if f, ok := slurm.LookupField(name); ok {
		return f.Name
	}
	return name
}

func (s *verifyQoS) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	return Outcome{Outputs: p.Outputs}, nil
}

type verifyAssoc struct {
	account string
	users   []string
	qos     []string
}

// Resources: the account's user associations (a grant changes them).
func (s *verifyAssoc) Resources() (reads, writes []string) {
	return []string{"assoc/" + s.account}, nil
}

func (s *verifyAssoc) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	argv, err := slurm.ShowAssocArgv(slurm.AssocFilter{Accounts: []string{s.account}, Users: s.users})
	if err != nil {
		return Proposal{}, err
	}
	out, err := readSlurm(ctx, ex, argv)
	if err != nil {
		return Proposal{}, err
	}
	assocs, err := slurm.ParseAssocs(out)
	if err != nil {
		return Proposal{}, err
	}
	var missing, ok []string
	users := 0
	for _, a := range assocs {
		if a.User == "" {
			continue // the account's own association
		}
		users++
		for _, q := range s.qos {
			if !a.HasQoS(q) {
				missing = append(missing, fmt.Sprintf("%s lacks %s (has %s)", a.User, q, strings.Join(a.QOS, ",")))
			}
		}
		ok = append(ok, fmt.Sprintf("%s:%s", a.User, strings.Join(a.QOS, ",")))
	}
	if users == 0 {
		return Proposal{}, &Failure{Msg: fmt.Sprintf("account %s has no user associations", s.account),
			Hint: "add users with sacctmgr -i add user NAME account=" + s.account}
	}
	if len(missing) > 0 {
		return Proposal{}, &Failure{Msg: "association check: " + strings.Join(missing, "; "),
			Hint: fmt.Sprintf("grant it: sacctmgr -i modify user where account=%s set qos+=%s", s.account, strings.Join(s.qos, ","))}
	}
	ex.Note("account %s users may use %s: %s", s.account, strings.Join(s.qos, ","), strings.Join(ok, " "))
	return Proposal{Action: Read, Summary: fmt.Sprintf("%d user(s) of %s may use %s", users, s.account, strings.Join(s.qos, ",")),
		Outputs: map[string]cty.Value{"users": cty.NumberIntVal(int64(users))}}, nil
}

func (s *verifyAssoc) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	return Outcome{Outputs: p.Outputs}, nil
}
