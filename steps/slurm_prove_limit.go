package steps

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps/slurm"
	"github.com/zclconf/go-cty/cty"
)

// prove_limit shows that a QoS limit is enforced, not just configured: as
// the job user it submits `jobs` small jobs, waits until all but the last
// run and the last pends with the expected reason (QOSMaxGRESPerUser for a
// MaxTRESPerUser GPU cap), then cancels them all.
//
//	step "prove_limit" "gpu_cap" { qos = "moonlight" partition = "viz" jobs = 3 gres = "gpu:1" expect_reason = "QOSMaxGRESPerUser" }
type proveLimitKind struct{}

func init() { register("prove_limit", proveLimitKind{}) }

func (proveLimitKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"user":          &hcldec.AttrSpec{Name: "user", Type: cty.String},
		"qos":           &hcldec.AttrSpec{Name: "qos", Type: cty.String, Required: true},
		"partition":     &hcldec.AttrSpec{Name: "partition", Type: cty.String, Required: true},
		"jobs":          &hcldec.AttrSpec{Name: "jobs", Type: cty.Number, Required: true},
		"gres":          &hcldec.AttrSpec{Name: "gres", Type: cty.String},
		"time":          &hcldec.AttrSpec{Name: "time", Type: cty.String},
		"expect_reason": &hcldec.AttrSpec{Name: "expect_reason", Type: cty.String, Required: true},
	}
}

func (proveLimitKind) ReadOnly() bool { return false }

// PlansAhead: as test_job's, a proof's plan probes nothing; it always runs.
func (proveLimitKind) PlansAhead() bool { return true }

func (proveLimitKind) Decode(cfg cty.Value) (Step, error) {
	s := &proveLimitStep{}
	var err error
	for attr, dst := range map[string]*string{"user": &s.user, "qos": &s.qos, "partition": &s.partition,
		"gres": &s.gres, "time": &s.time, "expect_reason": &s.reason} {
		if *dst, err = attrString(cfg, attr); err != nil {
			return nil, err
		}
	}
	if s.jobs, err = attrInt(cfg, "jobs", 0); err != nil {
		return nil, err
	}
	if s.jobs < 2 || s.jobs > 64 {
		return nil, &AttrError{Attr: "jobs", Err: fmt.Errorf("jobs must be 2..64 (one more than the limit allows)")}
	}
	s.gres, s.time = orDefault(s.gres, "gpu:1"), orDefault(s.time, "00:05:00")
	for _, c := range []struct {
		kind slurm.EntityKind
		attr string
		val  string
	}{{slurm.KindQoS, "qos", s.qos}, {slurm.KindPartition, "partition", s.partition}} {
		if err := requireName(c.kind, c.attr, c.val); err != nil {
			return nil, err
		}
	}
	if s.user != "" {
		if err := requireName(slurm.KindUser, "user", s.user); err != nil {
			return nil, err
		}
	}
	for attr, v := range map[string]string{"gres": s.gres, "time": s.time, "expect_reason": s.reason} {
		if !safeDirective.MatchString(v) {
			return nil, &AttrError{Attr: attr, Err: fmt.Errorf("%q has characters not allowed here", v)}
		}
	}
	return s, nil
}

type proveLimitStep struct {
	user, qos, partition, gres, time, reason string
	jobs                                     int

	mu     sync.Mutex
	ids    []string
	login  string
	closed bool
}

// The proof jobs' script is `exec sleep 600`, not `sleep 600`: they are
// cancelled moments after they start, and with proctrack/linuxproc a
// shell's freshly forked child escapes the kill (the shell dies, the child
// is re-parented to init and keeps running outside Slurm). Measured on the
// testbed under load: 3 of 20 jobs cancelled at RUNNING left a `sleep`
// behind; with exec, 0 of 40.
func (s *proveLimitStep) sbatch() []string {
	return []string{"sbatch", "--parsable", "--job-name=runbook-prove-limit", "--partition=" + s.partition,
		"--qos=" + s.qos, "--gres=" + s.gres, "--time=" + s.time, "--output=/dev/null", "--wrap=exec sleep 600"}
}

// Resources: the proof needs the QoS's limits, and its jobs end up in the
// QoS's accounting.
func (s *proveLimitStep) Resources() (reads, writes []string) {
	return []string{"qos/" + s.qos}, []string{"jobs/" + s.qos}
}

func (s *proveLimitStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	return Proposal{Action: Run,
		Summary:  fmt.Sprintf("will run: %d × sbatch --gres=%s under %s, expect the last to pend with %s (not run in a plan)", s.jobs, s.gres, s.qos, s.reason),
		Commands: []string{fmt.Sprintf("%d × %s", s.jobs, argvDisplay(s.sbatch())), "squeue -h -j <ids> -o %i|%T|%r (polled)", "scancel <ids>"}}, nil
}

func (s *proveLimitStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	login, err := loginUser(ctx, ex)
	if err != nil {
		return Outcome{}, err
	}
	s.mu.Lock()
	s.login = login
	s.mu.Unlock()
	user := orDefault(s.user, login)
	defer s.Cancel(context.WithoutCancel(ctx), ex)

	for i := 0; i < s.jobs; i++ {
		res, err := ex.Run(ctx, asUser(s.sbatch(), user, login))
		if err != nil {
			return Outcome{}, err
		}
		if serr := slurm.ClassifySubmit(res.Stdout, res.Stderr, res.ExitCode); serr != nil {
			return Outcome{}, &Failure{Msg: fmt.Sprintf("job %d of %d refused: %s%s", i+1, s.jobs, serr.Message, reasonSuffix(serr.Reason)), Hint: serr.Hint}
		}
		id, _, err := slurm.ParseSbatchParsable(res.Stdout)
		if err != nil {
			return Outcome{}, err
		}
		s.mu.Lock()
		s.ids = append(s.ids, id)
		s.mu.Unlock()
	}
	s.mu.Lock()
	ids := append([]string(nil), s.ids...)
	s.mu.Unlock()

	poll := newPoller()
	for {
		res, err := ex.Run(ctx, transport.Command{Argv: []string{"squeue", "-h", "-j", strings.Join(ids, ","), "-o", "%i|%T|%r"}})
		if err != nil {
			return Outcome{}, err
		}
		running, pendingWithReason := 0, ""
		lines := strings.Split(strings.TrimSpace(string(res.Stdout)), "\n")
		for _, l := range lines {
			f := strings.Split(l, "|")
			if len(f) != 3 {
				continue
			}
			switch f[1] {
			case "RUNNING":
				running++
			case "PENDING":
				if f[0] == ids[len(ids)-1] && f[2] == s.reason {
					pendingWithReason = f[0]
				}
			}
		}
		ex.Progress("%d running, last job %s", running, strings.Join(lines, " "))
		if running == s.jobs-1 && pendingWithReason != "" {
			ex.Note("%d jobs run and job %s pends with %s: the limit is enforced", running, pendingWithReason, s.reason)
			break
		}
		if running == s.jobs {
			return Outcome{}, &Failure{Msg: fmt.Sprintf("all %d jobs run: the limit is NOT enforced", s.jobs),
				Hint: "check AccountingStorageEnforce (needs limits,qos) and the QoS's MaxTRESPerUser (gres/gpu=N)"}
		}
		if err := poll.wait(ctx); err != nil {
			return Outcome{}, fmt.Errorf("waiting for %d running and 1 pending with %s (seen: %s): %w", s.jobs-1, s.reason, strings.Join(lines, " "), err)
		}
	}
	return Outcome{Changed: true, Summary: fmt.Sprintf("limit enforced: job %d of %d pends with %s", s.jobs, s.jobs, s.reason)}, nil
}

// Cancel removes every job this step submitted; it runs after success too,
// since the proof jobs must never outlive the step.
func (s *proveLimitStep) Cancel(ctx context.Context, ex Exec) error {
	s.mu.Lock()
	ids, login, closed := append([]string(nil), s.ids...), s.login, s.closed
	s.closed = true
	s.mu.Unlock()
	if len(ids) == 0 || closed {
		return nil
	}
	res, err := ex.Run(ctx, asUser(append([]string{"scancel"}, ids...), orDefault(s.user, login), login))
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("scancel %s exited %d: %s", strings.Join(ids, " "), res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	ex.Note("cancelled jobs %s", strings.Join(ids, " "))
	return nil
}
