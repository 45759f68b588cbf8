package steps

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/steps/slurm"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// sacct_check confirms a job in Slurm accounting (the guide's
// "Monitoring the QoS"). slurmdbd gets a job's full record a few seconds
// after it ends (QOS reads Unknown meanwhile, and per-QoS queries do not
// list it), so the step polls until the record is complete, then asserts.
//
//	step "sacct_check" "usage" {
//	  job_id              = step.gpu_test.job_id
//	  qos                 = "moonlight"
//	  expect              = { QOS = "moonlight", Partition = "viz", State = "COMPLETED" }
//	  alloc_tres_contains = { "gres/gpu" = 1 }
//	}
type sacctCheckKind struct{}

func init() { register("sacct_check", sacctCheckKind{}) }

func (sacctCheckKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"job_id":              &hcldec.AttrSpec{Name: "job_id", Type: cty.String},
		"qos":                 &hcldec.AttrSpec{Name: "qos", Type: cty.String},
		"user":                &hcldec.AttrSpec{Name: "user", Type: cty.String},
		"start":               &hcldec.AttrSpec{Name: "start", Type: cty.String},
		"fields":              &hcldec.AttrSpec{Name: "fields", Type: cty.List(cty.String)},
		"expect":              &hcldec.AttrSpec{Name: "expect", Type: cty.Map(cty.String)},
		"alloc_tres_contains": &hcldec.AttrSpec{Name: "alloc_tres_contains", Type: cty.Map(cty.Number)},
		"wait":                &hcldec.AttrSpec{Name: "wait", Type: cty.String},
	}
}

func (sacctCheckKind) ReadOnly() bool { return true }

func (sacctCheckKind) Decode(cfg cty.Value) (Step, error) {
	s := &sacctStep{wait: 30 * time.Second}
	var err error
	for attr, dst := range map[string]*string{"job_id": &s.jobID, "qos": &s.qos, "user": &s.user, "start": &s.start} {
		if *dst, err = attrString(cfg, attr); err != nil {
			return nil, err
		}
	}
	if s.fields, err = attrStrings(cfg, "fields"); err != nil {
		return nil, err
	}
	if v := cfg.GetAttr("expect"); !v.IsNull() {
		if err := gocty.FromCtyValue(v, &s.expect); err != nil {
			return nil, &AttrError{Attr: "expect", Err: err}
		}
	}
	if v := cfg.GetAttr("alloc_tres_contains"); !v.IsNull() {
		if err := gocty.FromCtyValue(v, &s.tres); err != nil {
			return nil, &AttrError{Attr: "alloc_tres_contains", Err: err}
		}
	}
	if w, _ := attrString(cfg, "wait"); w != "" {
		if s.wait, err = time.ParseDuration(w); err != nil {
			return nil, &AttrError{Attr: "wait", Err: err}
		}
	}
	if s.jobID == "" && s.qos == "" {
		return nil, &AttrError{Attr: "job_id", Err: fmt.Errorf("set job_id, qos, or both")}
	}
	// Checked here, against the attribute that holds them: with job_id set
	// the qos is only used by the fallback query, built at run time.
	if s.qos != "" {
		if err := requireName(slurm.KindQoS, "qos", s.qos); err != nil {
			return nil, err
		}
	}
	if s.user != "" {
		if err := requireName(slurm.KindUser, "user", s.user); err != nil {
			return nil, err
		}
	}
	if s.jobID != "" {
		if _, err := slurm.SacctArgv(slurm.SacctFilter{JobIDs: []string{s.jobID}}); err != nil {
			return nil, &AttrError{Attr: "job_id", Err: err}
		}
	}
	if len(s.fields) == 0 {
		s.fields = append([]string(nil), slurm.DefaultSacctFields...)
	}
	for k := range s.expect {
		if !hasField(s.fields, k) {
			s.fields = append(s.fields, k)
		}
	}
	if len(s.tres) > 0 && !hasField(s.fields, "AllocTRES") {
		s.fields = append(s.fields, "AllocTRES")
	}
	// Build once now so a bad field (the guide's AllocGRES) or name fails
	// validation, not the run.
	if _, err := s.argv(false); err != nil {
		return nil, &AttrError{Attr: "fields", Err: err}
	}
	return s, nil
}

func hasField(fields []string, f string) bool {
	for _, x := range fields {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}

type sacctStep struct {
	jobID, qos, user, start string
	fields                  []string
	expect                  map[string]string
	tres                    map[string]int64
	wait                    time.Duration
}

// argv builds the query: by job id (found at once), or by QoS — the
// guide's `sacct --qos=moonlight`, which lists a job only once its record
// is complete.
func (s *sacctStep) argv(byQoS bool) ([]string, error) {
	f := slurm.SacctFilter{Fields: s.fields, Start: s.start}
	if s.user != "" {
		f.Users = []string{s.user}
	}
	if byQoS || s.jobID == "" {
		f.QOS = []string{s.qos}
	} else {
		f.JobIDs = []string{s.jobID}
	}
	return slurm.SacctArgv(f)
}

func (s *sacctStep) query(ctx context.Context, ex Exec, byQoS bool) ([]slurm.SacctRecord, error) {
	argv, err := s.argv(byQoS)
	if err != nil {
		return nil, err
	}
	out, err := readSlurm(ctx, ex, argv)
	if err != nil {
		return nil, err
	}
	return slurm.ParseSacct(out, s.fields)
}

// find returns the job's complete record from a query, if there is one.
func (s *sacctStep) find(recs []slurm.SacctRecord) *slurm.SacctRecord {
	for i := range recs {
		if (s.jobID == "" || recs[i].JobID == s.jobID) && slurm.RecordComplete(recs[i]) {
			return &recs[i]
		}
	}
	return nil
}

// Resources: the jobs run under the QoS, as their accounting records. Not
// the QoS itself: changing its limits changes no record.
func (s *sacctStep) Resources() (reads, writes []string) {
	if s.qos == "" {
		return nil, nil
	}
	return []string{"jobs/" + s.qos}, nil
}

func (s *sacctStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	deadline := time.Now().Add(s.wait)
	p := newPoller()
	var rec *slurm.SacctRecord
	steps := []bool{false}
	if s.jobID != "" && s.qos != "" {
		steps = append(steps, true) // then the per-QoS statistics must list it too
	}
	for _, byQoS := range steps {
		for {
			recs, err := s.query(ctx, ex, byQoS)
			if err != nil {
				return Proposal{}, err
			}
			if r := s.find(recs); r != nil {
				rec = r
				break
			}
			if time.Now().After(deadline) {
				what := "job " + s.jobID
				if s.jobID == "" {
					what = "any job"
				}
				if byQoS {
					what += " under --qos=" + s.qos
				}
				return Proposal{}, &Failure{Msg: fmt.Sprintf("accounting has no complete record of %s after %s", what, s.wait),
					Hint: "slurmdbd records a job's QoS and partition a few seconds after it ends; check that slurmdbd runs (sacctmgr -n list cluster) and AccountingStorageType=accounting_storage/slurmdbd"}
			}
			ex.Progress("waiting for the accounting record of job %s", s.jobID)
			if err := p.wait(ctx); err != nil {
				return Proposal{}, err
			}
		}
	}
	row := make([]string, len(s.fields))
	for i, f := range s.fields {
		row[i] = rec.Fields.Str(f)
	}
	ex.Note("%s = %s", strings.Join(s.fields, "|"), strings.Join(row, "|"))

	var problems []string
	keys := make([]string, 0, len(s.expect))
	for k := range s.expect {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		got := rec.Fields.Str(k)
		if strings.EqualFold(k, "State") {
			got = rec.State
		}
		if !strings.EqualFold(got, s.expect[k]) {
			problems = append(problems, fmt.Sprintf("%s is %q, want %q", k, got, s.expect[k]))
		}
	}
	tkeys := make([]string, 0, len(s.tres))
	for k := range s.tres {
		tkeys = append(tkeys, k)
	}
	sort.Strings(tkeys)
	for _, k := range tkeys {
		if !slurm.Contains(rec.AllocTRES, k, s.tres[k]) {
			problems = append(problems, fmt.Sprintf("AllocTRES %s lacks %s=%d", rec.AllocTRES, k, s.tres[k]))
		}
	}
	if len(problems) > 0 {
		return Proposal{}, &Failure{Msg: fmt.Sprintf("accounting record of job %s: %s", rec.JobID, strings.Join(problems, "; "))}
	}
	fields := map[string]string{}
	for k, v := range rec.Fields {
		fields[k] = v
	}
	return Proposal{Action: Read, Summary: fmt.Sprintf("job %s in accounting: %s %s %s %s", rec.JobID, rec.QOS, rec.Partition, rec.State, rec.AllocTRES),
		Outputs: map[string]cty.Value{"job_id": cty.StringVal(rec.JobID), "record": stringMap(fields)}}, nil
}

func (s *sacctStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	return Outcome{Outputs: p.Outputs}, nil
}
