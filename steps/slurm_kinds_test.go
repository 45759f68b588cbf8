package steps_test

// Regression tests for the step-kind bugs of issue 14 (2, 4, 5 and 6) and
// the resources kinds declare to a plan.

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
)

// slurmHost answers like the testbed: qos maps each existing QoS to its
// fields by format name; assoc is `sacctmgr show assoc` output; user is
// `sacctmgr show user … withassoc` output; config `scontrol show config`.
type slurmHost struct {
	qos    map[string]map[string]string
	assoc  string
	user   string
	config string
}

func (h slurmHost) reply(line string) (string, string, int) {
	f := strings.Fields(line)
	switch {
	case line == "id -un":
		return "koopark\n", "", 0
	case strings.HasPrefix(line, "sacctmgr -n -P show qos "):
		fields, ok := h.qos[f[5]]
		if !ok {
			return "", "", 0 // sacctmgr prints nothing for an absent QoS
		}
		row := []string{f[5]}
		for _, name := range strings.Split(strings.TrimPrefix(f[6], "format="), ",")[1:] {
			row = append(row, fields[name])
		}
		return strings.Join(row, "|") + "\n", "", 0
	case strings.HasPrefix(line, "sacctmgr -n -P show assoc "):
		return h.assoc, "", 0
	case strings.HasPrefix(line, "sacctmgr -n -P show user "):
		return h.user, "", 0
	case line == "scontrol show config":
		return h.config, "", 0
	}
	return "", "unexpected command: " + line, 127
}

func (h slurmHost) transport() *scripted { return &scripted{reply: h.reply} }

// planRecorder is a plan's recorder; writes are what earlier steps of the
// plan change (steps.Exec.Ahead).
func planRecorder(tr *scripted, writes ...string) *evidence.Recorder {
	return &evidence.Recorder{Transport: tr, Planning: true, PendingWrites: func(res string) bool {
		for _, w := range writes {
			if w == res {
				return true
			}
		}
		return false
	}}
}

func failure(t *testing.T, err error) *steps.Failure {
	t.Helper()
	var f *steps.Failure
	if !errors.As(err, &f) {
		t.Fatalf("err = %v, want a *steps.Failure", err)
	}
	return f
}

const twoUsers = "testcluster|hpc-users||||\ntestcluster|hpc-users|koopark||normal|\ntestcluster|hpc-users|rbadmin||normal|\n"

var moonlight = map[string]string{"Priority": "100", "GraceTime": "00:01:00", "MaxWall": "08:00:00", "MaxTRESPerUser": "gres/gpu=2"}

// Bug 2: with no step creating the QoS, modify planned against an
// imagined fresh QoS ("(once created)"), and the next step found it
// missing. Now the plan says it is missing.
func TestModifyPlansAheadOnlyWhenAnEarlierStepCreatesTheQoS(t *testing.T) {
	st := mustDecode(t, "modify", `entity = "qos"
name = "moonlight"
set = { Priority = 100, MaxWall = "8:00:00" }`)
	tr := slurmHost{}.transport()

	_, err := st.Plan(context.Background(), planRecorder(tr))
	f := failure(t, err)
	if f.Msg != "qos moonlight does not exist" || !strings.Contains(f.Hint, `create step with entity = "qos"`) {
		t.Errorf("no step creates it: %q (hint %q), want the QoS named missing with the create hint", f.Msg, f.Hint)
	}

	p, err := st.Plan(context.Background(), planRecorder(tr, "qos/moonlight"))
	if err != nil {
		t.Fatalf("an earlier step creates it: %v", err)
	}
	if p.Action != steps.Modify || p.Summary != "modify qos moonlight (once created) (2 of 2 fields differ)" {
		t.Errorf("an earlier step creates it: %v %q", p.Action, p.Summary)
	}
	// Another QoS being created does not count.
	if _, err := st.Plan(context.Background(), planRecorder(tr, "qos/sunshine")); err == nil {
		t.Error("planned ahead on another QoS's create")
	}
	// Apply never imagines: Ahead is false outside a plan.
	rec := planRecorder(tr, "qos/moonlight")
	rec.Planning = false
	if _, err := st.Plan(context.Background(), rec); err == nil {
		t.Error("apply planned against an imagined QoS")
	}
}

func TestGrantPlansAheadOnlyWhenAnEarlierStepMakesWhatItNeeds(t *testing.T) {
	st := mustDecode(t, "grant", `account = "hpc-users"
qos = "moonlight"`)

	// The QoS is missing and nothing creates it: the plan says so
	// (apply would get sacctmgr's "You gave a bad qos").
	tr := slurmHost{assoc: twoUsers}.transport()
	_, err := st.Plan(context.Background(), planRecorder(tr))
	if f := failure(t, err); f.Msg != "qos moonlight does not exist" {
		t.Errorf("missing QoS: %q", f.Msg)
	}

	// An earlier step creates it: the grant is planned, with no QoS probe.
	tr = slurmHost{assoc: twoUsers}.transport()
	p, err := st.Plan(context.Background(), planRecorder(tr, "qos/moonlight"))
	if err != nil || p.Action != steps.Modify || p.Summary != "grant moonlight to 2 user(s) of hpc-users" || len(p.Changes) != 2 {
		t.Fatalf("QoS created earlier: %v %+v", err, p)
	}
	if n := tr.count("sacctmgr -n -P show qos"); n != 0 {
		t.Errorf("probed the QoS %d times although an earlier step creates it", n)
	}

	// The QoS exists: one probe of it, then the grant.
	tr = slurmHost{assoc: twoUsers, qos: map[string]map[string]string{"moonlight": moonlight}}.transport()
	if p, err := st.Plan(context.Background(), planRecorder(tr)); err != nil || p.Action != steps.Modify {
		t.Fatalf("QoS exists: %v %+v", err, p)
	}

	// The account has no users yet.
	tr = slurmHost{assoc: "testcluster|hpc-users||||\n"}.transport()
	_, err = st.Plan(context.Background(), planRecorder(tr, "qos/moonlight"))
	if f := failure(t, err); !strings.Contains(f.Msg, "has no users") {
		t.Errorf("no users: %q", f.Msg)
	}
	// ... but an earlier step adds one.
	p, err = st.Plan(context.Background(), planRecorder(tr, "qos/moonlight", "assoc/hpc-users"))
	if err != nil || p.Action != steps.Modify || p.Summary != "grant moonlight to the users of hpc-users (once added)" {
		t.Errorf("users added earlier: %v %+v", err, p)
	}
}

func TestResources(t *testing.T) {
	tests := []struct {
		kind, body    string
		reads, writes []string
	}{
		{"create", `entity = "qos"
name = "moonlight"`, nil, []string{"qos/moonlight"}},
		{"create", `entity = "account"
name = "viz-users"`, nil, []string{"slurm-account/viz-users", "assoc/viz-users"}},
		{"create", `entity = "user"
name = "koopark"
account = "viz-users"`, nil, []string{"slurm-user/koopark", "assoc/viz-users"}},
		{"modify", `entity = "qos"
name = "moonlight"
set = { Priority = 1 }`, []string{"qos/moonlight"}, []string{"qos/moonlight"}},
		{"verify", `entity = "qos"
name = "moonlight"
expect = {}`, []string{"qos/moonlight"}, nil},
		{"verify", `entity = "association"
account = "hpc-users"
qos_includes = ["moonlight"]`, []string{"assoc/hpc-users"}, nil},
		{"grant", `account = "hpc-users"
qos = "moonlight"`, []string{"qos/moonlight", "assoc/hpc-users"}, []string{"assoc/hpc-users"}},
		{"test_job", `qos = "moonlight"`, []string{"qos/moonlight"}, []string{"jobs/moonlight"}},
		{"test_job", `partition = "viz"`, nil, nil},
		{"prove_limit", `qos = "moonlight"
partition = "viz"
jobs = 3
expect_reason = "QOSMaxGRESPerUser"`, []string{"qos/moonlight"}, []string{"jobs/moonlight"}},
		{"sacct_check", `job_id = "42"
qos = "moonlight"`, []string{"jobs/moonlight"}, nil},
	}
	for _, tt := range tests {
		st := mustDecode(t, tt.kind, tt.body)
		r, ok := st.(steps.Resourcer)
		if !ok {
			t.Errorf("%s is no Resourcer", tt.kind)
			continue
		}
		reads, writes := r.Resources()
		if !reflect.DeepEqual(reads, tt.reads) || !reflect.DeepEqual(writes, tt.writes) {
			t.Errorf("%s {%s}: reads %q writes %q, want %q %q", tt.kind, strings.ReplaceAll(tt.body, "\n", "; "), reads, writes, tt.reads, tt.writes)
		}
	}
	for _, k := range []string{"modify", "grant", "test_job", "prove_limit"} {
		if pa, ok := steps.Builtin()[k].(steps.PlansAhead); !ok || !pa.PlansAhead() {
			t.Errorf("%s does not plan ahead", k)
		}
	}
}

// Bug 4: `expect = {}` was refused; it means "the QoS exists".
func TestVerifyQoSExists(t *testing.T) {
	st := mustDecode(t, "verify", `entity = "qos"
name = "moonlight"
expect = {}`)
	tr := slurmHost{qos: map[string]map[string]string{"moonlight": moonlight}}.transport()
	rec := planRecorder(tr)
	p := plan(t, st, rec)
	if p.Action != steps.Read || p.Summary != "qos moonlight exists" {
		t.Errorf("proposal %v %q", p.Action, p.Summary)
	}
	if n := len(rec.Commands()); n != 1 {
		t.Errorf("%d commands, want the one probe", n)
	}
	if notes := rec.Notes(); len(notes) != 2 || notes[1] != "qos moonlight exists" || !strings.Contains(notes[0], "moonlight|100|08:00:00|gres/gpu=2|00:01:00") {
		t.Errorf("notes %q, want the guide's table and that it exists", notes)
	}

	_, err := st.Plan(context.Background(), planRecorder(slurmHost{}.transport()))
	if f := failure(t, err); f.Msg != "qos moonlight does not exist" || f.Hint == "" {
		t.Errorf("absent: %q (hint %q)", f.Msg, f.Hint)
	}

	// Leaving expect out is still an error, and says how to check existence.
	_, err = decode(t, "verify", `entity = "qos"
name = "moonlight"`)
	var ae *steps.AttrError
	if !errors.As(err, &ae) || ae.Attr != "expect" || !strings.Contains(err.Error(), "expect = {}") {
		t.Errorf("no expect: %v", err)
	}
}

// Bug 5: without a grant, on a cluster enforcing qos, phase2 created and
// changed the QoS and only then had its test job refused. The preflight,
// told who submits the job and whether a grant runs, fails first.
func TestPreflightJobAccess(t *testing.T) {
	conf, err := os.ReadFile("slurm/testdata/real/scontrol_show_config.stdout")
	if err != nil {
		t.Fatal(err)
	}
	enforcing := string(conf)
	if !strings.Contains(enforcing, "AccountingStorageEnforce = associations,limits,qos\n") {
		t.Fatal("fixture does not enforce qos")
	}
	notQoS := strings.Replace(enforcing, "AccountingStorageEnforce = associations,limits,qos", "AccountingStorageEnforce = associations,limits", 1)
	const (
		normal  = "koopark|hpc-users|hpc-users|normal|None\n"
		granted = "koopark|hpc-users|hpc-users|moonlight,normal|None\n"
		// moonlight in another account's association: jobs run under the default one.
		elsewhere = "koopark|hpc-users|hpc-users|normal|None\nkoopark|hpc-users|viz|moonlight|None\n"
		base      = "qos = \"moonlight\"\nlimits = { Priority = 100 }\n"
		hint      = "run with --var account=NAME"
	)
	tests := []struct {
		name, body, config, user string
		wantErr                  string // "" passes
		wantCmds                 []string
		wantNote                 string
	}{
		{"no job_user: no check, as before", base, enforcing, normal, "", []string{"scontrol show config"}, ""},
		{"no grant, user lacks the QoS", base + "job_user = \"\"\ngrant_account = \"\"\ngrant_hint = \"" + hint + "\"", enforcing, normal,
			`lists normal, not moonlight: their job under moonlight would be refused ("Invalid qos specification")`,
			[]string{"scontrol show config", "id -un", "sacctmgr -n -P show user koopark withassoc format=User,DefaultAccount,Account,QOS,AdminLevel"}, ""},
		{"named job user", base + "job_user = \"rbadmin\"", enforcing, "",
			"job user rbadmin has no Slurm association", []string{"scontrol show config", "sacctmgr -n -P show user rbadmin withassoc format=User,DefaultAccount,Account,QOS,AdminLevel"}, ""},
		{"a grant runs: nothing to read", base + "job_user = \"\"\ngrant_account = \"hpc-users\"", enforcing, normal, "",
			[]string{"scontrol show config"}, "a grant step gives moonlight to the users of account hpc-users"},
		{"the user has it already", base + "job_user = \"\"\ngrant_account = \"\"", enforcing, granted, "",
			nil, "job user koopark may use moonlight (the association of their default account hpc-users lists it)"},
		{"granted only in another account", base + "job_user = \"\"", enforcing, elsewhere,
			"their association in viz lists it, but a job runs under the default account", nil, ""},
		{"qos not enforced: nothing to check", base + "job_user = \"\"", notQoS, normal, "", []string{"scontrol show config"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := slurmHost{config: tt.config, user: tt.user}.transport()
			rec := planRecorder(tr)
			p, err := mustDecode(t, "preflight", tt.body).Plan(context.Background(), rec)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Plan: %v", err)
				}
				if p.Summary != "cluster testcluster enforces QoS limits" {
					t.Errorf("summary %q changed", p.Summary)
				}
			} else {
				f := failure(t, err)
				if !strings.Contains(f.Msg, tt.wantErr) {
					t.Errorf("error %q, want %q", f.Msg, tt.wantErr)
				}
				if strings.Contains(tt.body, "grant_hint") && !strings.HasPrefix(f.Hint, hint+"; or ") {
					t.Errorf("hint %q does not start with the runbook's grant_hint", f.Hint)
				}
				if !strings.Contains(f.Hint, "sacctmgr -i") {
					t.Errorf("hint %q gives no sacctmgr command", f.Hint)
				}
			}
			if tt.wantCmds != nil {
				if got := tr.lines; !reflect.DeepEqual(got, tt.wantCmds) {
					t.Errorf("commands %q, want %q", got, tt.wantCmds)
				}
			}
			if tt.wantNote != "" && !strings.Contains(strings.Join(rec.Notes(), "\n"), tt.wantNote) {
				t.Errorf("notes %q lack %q", rec.Notes(), tt.wantNote)
			}
		})
	}

	_, err = decode(t, "preflight", `job_user = ""`)
	var ae *steps.AttrError
	if !errors.As(err, &ae) || ae.Attr != "job_user" {
		t.Errorf("job_user without qos: %v", err)
	}
}

// Bug 6: each of test_job's three checklist lines repeated all of the
// step's evidence; now each shows what proves it.
func TestTestJobLabelsItsEvidence(t *testing.T) {
	job, err := os.ReadFile("slurm/testdata/real/scontrol_show_job_completed.stdout")
	if err != nil {
		t.Fatal(err)
	}
	show := strings.NewReplacer("QOS=normal", "QOS=moonlight", "StdOut=/dev/null", "StdOut=/tmp/out-42.out").Replace(string(job))
	tr := &scripted{reply: func(line string) (string, string, int) {
		switch line {
		case "id -un":
			return "koopark\n", "", 0
		case "mktemp -d /tmp/runbook-test-job.XXXXXXXXXX":
			return "/tmp/runbook-test-job.AbCdEf1234\n", "", 0
		case "sbatch --parsable --chdir=/tmp/runbook-test-job.AbCdEf1234 /tmp/runbook-test-job.sh":
			return "42\n", "", 0
		case "scontrol show job 42":
			return show, "", 0
		case "cat /tmp/out-42.out":
			return "QoS: moonlight\nTest completed successfully!\n", "", 0
		}
		return "", "unexpected", 127
	}}
	st := mustDecode(t, "test_job", `qos = "moonlight"
partition = "viz"
expect_output = ["QoS: moonlight"]`)
	rec := &evidence.Recorder{Transport: tr}
	p := plan(t, st, rec)
	if _, err := st.Apply(context.Background(), rec, p); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	r := &report.Run{Mode: "apply", Hosts: []*report.Host{{Name: "ctl", Steps: []*report.Step{{
		Name: "gpu_test", Status: report.StatusChanged, Checklist: []string{"submit", "confirm the QoS", "check the log"},
		Commands: rec.Commands(), Notes: rec.Notes(), NoteProves: rec.NoteProves(),
	}}}}}
	r.BuildChecklist()
	want := [][]string{
		{"`sbatch --parsable --chdir=/tmp/runbook-test-job.AbCdEf1234 /tmp/runbook-test-job.sh` → exit 0: 42", "uploaded /tmp/runbook-test-job.sh", "submitted job 42 as koopark"},
		{"`scontrol show job 42` → exit 0", "job 42: QOS=moonlight Partition=viz JobState=COMPLETED"},
		{"`cat /tmp/out-42.out` → exit 0: QoS: moonlight", "the job runs in /tmp/runbook-test-job.AbCdEf1234, a new directory only koopark can enter", `job 42 output has "QoS: moonlight"`},
	}
	if len(r.Checklist) != 3 {
		t.Fatalf("%d lines", len(r.Checklist))
	}
	for i, it := range r.Checklist {
		if !it.Ticked || len(it.Evidence) != len(want[i]) {
			t.Errorf("line %q: ticked %v, evidence %q, want %d pieces like %q", it.Text, it.Ticked, it.Evidence, len(want[i]), want[i])
			continue
		}
		for j, w := range want[i] {
			if !strings.Contains(it.Evidence[j], w) {
				t.Errorf("line %q evidence %d = %q, want it to contain %q", it.Text, j, it.Evidence[j], w)
			}
		}
		if strings.Contains(strings.Join(it.Evidence, "\n"), "id -un") {
			t.Errorf("line %q shows the whoami", it.Text)
		}
	}
}
