package slurm

import (
	"strings"
	"testing"
)

func TestLookupReason(t *testing.T) {
	tests := []struct {
		reason string
		kind   ReasonKind
		action string
	}{
		{"QOSMaxGRESPerUser", ReasonLimit, "scancel"},
		{"(QOSMaxGRESPerUser)", ReasonLimit, "scancel"}, // squeue %R
		{"QOSMaxWallDurationPerJobLimit", ReasonNeverStarts, "DenyOnLimit"},
		{"QOSMaxJobsPerUserLimit", ReasonLimit, ""},
		{"QOSMaxSubmitJobPerUserLimit", ReasonLimit, ""},
		{"QOSGrpGRES", ReasonLimit, ""},
		{"Priority", ReasonWaiting, ""},
		{"Resources", ReasonWaiting, ""},
		{"None", ReasonWaiting, "polling"},
		{"BeginTime", ReasonWaiting, ""},
		{"InvalidQOS", ReasonConfig, "sacctmgr show assoc"},
		{"QOSNotAllowed", ReasonConfig, "AllowQos"},
		{"PartitionConfig", ReasonConfig, ""},
		{"ReqNodeNotAvail,_UnavailableNodes:vm", ReasonWaiting, "resume"},
		{"AssocMaxJobsLimit", ReasonLimit, ""},
		{"JobLaunchFailure", ReasonFailed, "Could not open stdout file"},
		{"NonZeroExitCode", ReasonFailed, "output file"},
		{"RaisedSignal:9(Killed)", ReasonFailed, ""},
		{"QOSMaxBillingPerJob", ReasonNeverStarts, ""},
		{"QOSGrpBillingMinutes", ReasonLimit, ""},
		{"AssocGrpBillingMinutes", ReasonLimit, ""},
		{"SomethingNew", ReasonUnknown, ""},
		{"", ReasonUnknown, ""},
	}
	for _, tc := range tests {
		ri := LookupReason(tc.reason)
		if ri.Kind != tc.kind || !strings.Contains(ri.Action, tc.action) || ri.Meaning == "" || ri.Reason != tc.reason {
			t.Errorf("LookupReason(%q) = %+v, want kind %v action ~%q", tc.reason, ri, tc.kind, tc.action)
		}
	}
	// Every reason seen in the fixtures is catalogued.
	for _, fx := range []string{"facts/scontrol_show_job_pending_qosmaxgres", "real/scontrol_show_job_failed", "real/scontrol_show_job_pending_begintime"} {
		j, err := ParseScontrolJob(load(t, fx).stdout)
		if err != nil {
			t.Fatal(err)
		}
		if LookupReason(j.Reason).Kind == ReasonUnknown {
			t.Errorf("%s: reason %q not catalogued", fx, j.Reason)
		}
	}
}

func TestClassifySubmit(t *testing.T) {
	tests := []struct {
		fixture string
		kind    SubmitErrorKind
		reason  string
		hint    string
	}{
		{"facts/sbatch_invalid_qos", SubmitInvalidQoS, "", "sacctmgr show assoc"},
		{"real/sbatch_invalid_qos", SubmitInvalidQoS, "", "withassoc"},
		{"facts/sbatch_denyonlimit_maxwall", SubmitQoSPolicy, "QOSMaxWallDurationPerJobLimit", "MaxWall"},
		{"facts/srun_denyonlimit_maxwall", SubmitQoSPolicy, "QOSMaxWallDurationPerJobLimit", "DenyOnLimit"},
		{"facts/sbatch_node_config", SubmitNodeConfig, "", "gres=gpu:3"},
		{"facts/sbatch_invalid_partition", SubmitInvalidPartition, "", "partition"},
		{"real/sbatch_invalid_partition", SubmitInvalidPartition, "", "partition"},
		{"facts/sbatch_invalid_account", SubmitInvalidAccount, "", "add user"},
	}
	for _, tc := range tests {
		f := load(t, tc.fixture)
		e := ClassifySubmit(f.stdout, f.stderr, f.rc)
		if e == nil {
			t.Errorf("%s: accepted", tc.fixture)
			continue
		}
		if e.Kind != tc.kind || e.Reason != tc.reason || !strings.Contains(e.Hint, tc.hint) || e.Message == "" {
			t.Errorf("%s: %+v", tc.fixture, e)
		}
		if !strings.Contains(e.Error(), tc.kind.String()) {
			t.Errorf("%s: Error() = %q", tc.fixture, e.Error())
		}
	}
	for _, fx := range []string{"real/sbatch_parsable_running", "facts/sbatch_parsable"} {
		f := load(t, fx)
		if e := ClassifySubmit(f.stdout, f.stderr, f.rc); e != nil {
			t.Errorf("%s: %v", fx, e)
		}
	}
	if e := ClassifySubmit(nil, []byte("sbatch: error: Batch job submission failed: Something new\n"), 1); e == nil || e.Kind != SubmitUnknown || e.Message != "Something new" {
		t.Errorf("unknown: %+v", e)
	}
	if e := ClassifySubmit(nil, nil, 1); e == nil || !strings.Contains(e.Message, "exit code 1") {
		t.Errorf("silent: %+v", e)
	}
	if e := ClassifySubmit(nil, []byte("sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)\n"), 1); e == nil || e.Kind != SubmitControllerDown {
		t.Errorf("controller: %+v", e)
	}
}
