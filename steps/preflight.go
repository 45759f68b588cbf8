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
// or not allowing the QoS, QoS priority without weight. Read-only.
//
//	step "preflight" "cluster" { partition = "viz" qos = "moonlight" limits = local.qos_limits }
type preflightKind struct{}

func init() { register("preflight", preflightKind{}) }

func (preflightKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"partition": &hcldec.AttrSpec{Name: "partition", Type: cty.String},
		"qos":       &hcldec.AttrSpec{Name: "qos", Type: cty.String},
		"limits":    &hcldec.AttrSpec{Name: "limits", Type: cty.DynamicPseudoType},
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
	findings := slurm.Preflight(in)
	var errs, hints []string
	for _, f := range findings {
		ex.Note("%s: %s", f.Severity, f.Message)
		if f.Severity == slurm.SeverityError {
			errs = append(errs, f.Message)
			if f.Hint != "" {
				hints = append(hints, f.Hint)
			}
		}
	}
	ex.Note("AccountingStorageEnforce = %s; AccountingStorageTRES = %s; PriorityWeightQOS = %s",
		conf.Str("AccountingStorageEnforce"), conf.Str("AccountingStorageTRES"), conf.Str("PriorityWeightQOS"))
	if len(errs) > 0 {
		return Proposal{}, &Failure{Msg: "preflight: " + strings.Join(errs, "; "), Hint: strings.Join(hints, "; ")}
	}
	return Proposal{Action: Read, Summary: fmt.Sprintf("cluster %s enforces QoS limits; partition %s is up", conf.Str("ClusterName"), s.partition),
		Outputs: map[string]cty.Value{"cluster": cty.StringVal(conf.Str("ClusterName"))}}, nil
}

func (s *preflightStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	return Outcome{Outputs: p.Outputs}, nil
}
