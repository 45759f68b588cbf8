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

// preflight reads the controller's configuration and the partition and
// fails, with a hint, when the QoS the runbook sets up would not work:
// limits not enforced, gres/gpu not an accounting TRES, partition missing
// or not allowing the QoS, QoS priority without weight, or (with job_user)
// a test job that Slurm would refuse the QoS because it enforces qos and
// nothing grants it. Read-only, so it runs in a plan too: the run fails
// before anything changes.
//
//	step "preflight" "cluster" {
//	  partition     = "viz"
//	  qos           = "moonlight"
//	  limits        = local.qos_limits
//	  job_user      = var.job_user  # "" = the login user
//	  grant_account = var.account   # "" = no grant step runs
//	  grant_hint    = "run with --var account=NAME"
//	}
type preflightKind struct{}

func init() { register("preflight", preflightKind{}) }

func (preflightKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"partition": &hcldec.AttrSpec{Name: "partition", Type: cty.String},
		"qos":       &hcldec.AttrSpec{Name: "qos", Type: cty.String},
		"limits":    &hcldec.AttrSpec{Name: "limits", Type: cty.DynamicPseudoType},
		// The access check: who submits jobs under the QoS in this run
		// ("" = the login user; unset: no check), the account a grant
		// step gives the QoS to ("" = none runs), and what the runbook's
		// admin should do when neither gives it (the runbook knows its
		// own variables; the kind does not).
		"job_user":      &hcldec.AttrSpec{Name: "job_user", Type: cty.String},
		"grant_account": &hcldec.AttrSpec{Name: "grant_account", Type: cty.String},
		"grant_hint":    &hcldec.AttrSpec{Name: "grant_hint", Type: cty.String},
	}
}

func (preflightKind) ReadOnly() bool { return true }

func (preflightKind) Decode(cfg cty.Value) (Step, error) {
	s := &preflightStep{}
	var err error
	if s.partition, err = attrString(cfg, "partition"); err != nil {
		return nil, err
	}
	if s.qos, err = attrString(cfg, "qos"); err != nil {
		return nil, err
	}
	if s.limits, err = attrSettings(cfg, "limits"); err != nil {
		return nil, err
	}
	s.checkJob = !cfg.GetAttr("job_user").IsNull()
	for attr, dst := range map[string]*string{"job_user": &s.jobUser, "grant_account": &s.grantAccount, "grant_hint": &s.grantHint} {
		if *dst, err = attrString(cfg, attr); err != nil {
			return nil, err
		}
	}
	if s.checkJob && s.qos == "" {
		return nil, &AttrError{Attr: "job_user", Err: fmt.Errorf("the access check needs the QoS: set qos")}
	}
	if s.jobUser != "" {
		if err := requireName(slurm.KindUser, "job_user", s.jobUser); err != nil {
			return nil, err
		}
	}
	if s.grantAccount != "" {
		if err := requireName(slurm.KindAccount, "grant_account", s.grantAccount); err != nil {
			return nil, err
		}
	}
	if s.partition != "" {
		if err := requireName(slurm.KindPartition, "partition", s.partition); err != nil {
			return nil, err
		}
	}
	if s.qos != "" {
		if err := requireName(slurm.KindQoS, "qos", s.qos); err != nil {
			return nil, err
		}
	}
	// The same field rules as modify's set: a limit Slurm would refuse
	// (gres/gpu:2, gpu_mem=1) fails validate, not the cluster.
	if len(s.limits) > 0 {
		if err := checkQoSSettings(s.limits); err != nil {
			return nil, &AttrError{Attr: "limits", Err: errors.Unwrap(err)}
		}
	}
	return s, nil
}

type preflightStep struct {
	partition, qos string
	limits         map[string]string
	// checkJob: job_user is set, so the QoS access of the job is checked.
	checkJob                         bool
	jobUser, grantAccount, grantHint string
}

func (s *preflightStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	out, err := readSlurm(ctx, ex, []string{"scontrol", "show", "config"})
	if err != nil {
		var f *Failure
		if asFailure(err, &f) && f.Hint == "" {
			f.Hint = "slurmctld does not answer: check `scontrol ping` on the controller"
		}
		return Proposal{}, err
	}
	conf, err := slurm.ParseScontrolConfig(out)
	if err != nil {
		return Proposal{}, err
	}
	in := slurm.PreflightInput{Config: conf, QoS: s.qos, Desired: s.limits, PartitionName: s.partition}
	if s.partition != "" {
		res, err := ex.Run(ctx, transport.Command{Argv: []string{"scontrol", "show", "partition", s.partition}})
		if err != nil {
			return Proposal{}, err
		}
		if res.ExitCode == 0 {
			if in.Partition, err = slurm.ParsePartition(res.Stdout); err != nil {
				return Proposal{}, err
			}
		} else if !strings.Contains(string(res.Stdout)+string(res.Stderr), "not found") {
			return Proposal{}, exitFailure("scontrol show partition "+s.partition, res)
		}
	}
	// Last, so that when it fails its evidence is the step's last command.
	if s.checkJob {
		in.Job = &slurm.JobAccess{User: s.jobUser, GrantAccount: s.grantAccount}
		// The associations are read only when they decide: Slurm enforces
		// qos and no grant runs (never on the usual, granted path).
		if in.NeedsAssocs() {
			if in.Job.Assocs, in.Job.User, err = s.jobAssocs(ctx, ex); err != nil {
				return Proposal{}, err
			}
		}
	}
	findings := slurm.Preflight(in)
	var errs, hints []string
	for _, f := range findings {
		ex.Note("%s: %s", f.Severity, f.Message)
		if f.Severity == slurm.SeverityError {
			errs = append(errs, f.Message)
			hint := f.Hint
			if f.Check == "qos-access" && s.grantHint != "" {
				hint = s.grantHint + "; or " + hint
			}
			if hint != "" {
				hints = append(hints, hint)
			}
		}
	}
	ex.Note("AccountingStorageEnforce = %s; AccountingStorageTRES = %s; PriorityWeightQOS = %s",
		conf.Str("AccountingStorageEnforce"), conf.Str("AccountingStorageTRES"), conf.Str("PriorityWeightQOS"))
	if len(errs) > 0 {
		return Proposal{}, &Failure{Msg: "preflight: " + strings.Join(errs, "; "), Hint: strings.Join(hints, "; ")}
	}
	summary := fmt.Sprintf("cluster %s enforces QoS limits", conf.Str("ClusterName"))
	if s.partition != "" {
		summary += fmt.Sprintf("; partition %s is up", s.partition)
	}
	return Proposal{Action: Read, Summary: summary,
		Outputs: map[string]cty.Value{"cluster": cty.StringVal(conf.Str("ClusterName"))}}, nil
}

// jobAssocs reads the job user's associations (the login user's when
// job_user is "").
func (s *preflightStep) jobAssocs(ctx context.Context, ex Exec) ([]slurm.UserAssoc, string, error) {
	user := s.jobUser
	if user == "" {
		login, err := loginUser(ctx, ex)
		if err != nil {
			return nil, "", err
		}
		user = login
	}
	argv, err := slurm.ShowUserWithAssocArgv(user)
	if err != nil {
		return nil, "", err
	}
	out, err := readSlurm(ctx, ex, argv)
	if err != nil {
		return nil, "", err
	}
	assocs, err := slurm.ParseUserWithAssoc(out)
	return assocs, user, err
}

func (s *preflightStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	return Outcome{Outputs: p.Outputs}, nil
}
