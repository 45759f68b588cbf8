package slurm

import (
	"reflect"
	"strings"
	"testing"
)

func TestSacctArgv(t *testing.T) {
	tests := []struct {
		f    SacctFilter
		want string
	}{
		{SacctFilter{QOS: []string{"moonlight"}},
			"sacct -X -P -n --qos=moonlight --allusers --starttime=now-1days --format=JobID,User,QOS,Partition,AllocTRES,State,Elapsed,ExitCode"},
		{SacctFilter{JobIDs: []string{"17", "18_3"}},
			"sacct -X -P -n --jobs=17,18_3 --allusers --format=JobID,User,QOS,Partition,AllocTRES,State,Elapsed,ExitCode"},
		{SacctFilter{JobIDs: []string{"17"}, Users: []string{"koopark"}, Accounts: []string{"hpc-users"}, Partitions: []string{"viz"},
			Start: "2026-11-25T20:00:00", End: "now", Fields: []string{"JobID", "State"}},
			"sacct -X -P -n --jobs=17 --user=koopark --accounts=hpc-users --partition=viz --starttime=2026-11-25T20:00:00 --endtime=now --format=JobID,State"},
		{SacctFilter{Start: "now-10minutes"}, "sacct -X -P -n --allusers --starttime=now-10minutes --format=JobID,User,QOS,Partition,AllocTRES,State,Elapsed,ExitCode"},
	}
	for _, tc := range tests {
		got, err := SacctArgv(tc.f)
		if err != nil {
			t.Errorf("%+v: %v", tc.f, err)
			continue
		}
		if !reflect.DeepEqual(got, strings.Fields(tc.want)) {
			t.Errorf("SacctArgv(%+v) =\n%q\nwant\n%q", tc.f, got, strings.Fields(tc.want))
		}
	}
	bad := []struct {
		f       SacctFilter
		mention string
	}{
		{SacctFilter{Fields: []string{"JobID", "AllocGRES"}}, "AllocGRES was removed in Slurm 22.05; use AllocTRES"},
		{SacctFilter{Fields: []string{"reqgres"}}, "ReqTRES"},
		{SacctFilter{Fields: []string{"AllocTRES%45"}}, "pointless"},
		{SacctFilter{Fields: []string{"a,b"}}, "not a field"},
		{SacctFilter{JobIDs: []string{"1;rm"}}, "job id"},
		{SacctFilter{QOS: []string{"Moon"}}, "lower case"},
		{SacctFilter{Users: []string{"a b"}}, "white space"},
		{SacctFilter{Start: "yesterday"}, "start time"},
		{SacctFilter{Start: "now-5fortnights"}, "start time"},
		{SacctFilter{End: "$(date)"}, "end time"},
	}
	for _, tc := range bad {
		if _, err := SacctArgv(tc.f); err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("SacctArgv(%+v) = %v, want error mentioning %q", tc.f, err, tc.mention)
		}
	}
	// The real fixture: sacct itself refuses AllocGRES.
	f := load(t, "real/sacct_allocgres")
	if f.rc != 1 || !strings.Contains(string(f.stderr), "AllocGRES has been removed") {
		t.Errorf("fixture: %d %q", f.rc, f.stderr)
	}
}

func TestParseSacct(t *testing.T) {
	recs, err := ParseSacct(load(t, "real/sacct_jobs_P_n").stdout, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	if r.JobID != "1" || r.User != "root" || r.QOS != "normal" || r.State != "COMPLETED" || !Contains(r.AllocTRES, "gres/gpu", 1) || !RecordComplete(r) {
		t.Errorf("rec 0: %+v", r)
	}
	if recs[1].State != "FAILED" || recs[1].ExitCode != 3 {
		t.Errorf("rec 1: %+v", recs[1])
	}
	if recs[2].State != "CANCELLED" || recs[2].RawState != "CANCELLED by 0" || len(recs[2].AllocTRES) != 0 || !IsTerminal(recs[2].State) {
		t.Errorf("rec 2: %+v", recs[2])
	}
	if recs[0].Fields.Str("Elapsed") != "00:00:03" {
		t.Errorf("Elapsed = %q", recs[0].Fields.Str("Elapsed"))
	}

	fields := []string{"JobID", "User", "QOS", "Partition", "AllocTRES", "State"}
	before, err := ParseSacct(load(t, "facts/sacct_record_lag_before").stdout, fields)
	if err != nil {
		t.Fatal(err)
	}
	after, err := ParseSacct(load(t, "facts/sacct_record_lag_after").stdout, fields)
	if err != nil {
		t.Fatal(err)
	}
	if RecordComplete(before[0]) || !RecordComplete(after[0]) {
		t.Errorf("RecordComplete: before %v after %v", RecordComplete(before[0]), RecordComplete(after[0]))
	}
	// Only requested columns are judged.
	partial, _ := ParseSacct([]byte("5|COMPLETED\n"), []string{"JobID", "State"})
	if !RecordComplete(partial[0]) {
		t.Error("record without QOS column judged incomplete")
	}
	// States from facts §6.12 through the header form.
	tb, err := ParseParsableHeader(load(t, "facts/sacct_states_p").stdout)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, m := range tb.Maps() {
		states = append(states, NormalizeState(m.Str("State")))
	}
	if want := []string{"COMPLETED", "FAILED", "CANCELLED", "CANCELLED", "CANCELLED", "CANCELLED"}; !reflect.DeepEqual(states, want) {
		t.Errorf("states %q", states)
	}
	for _, bad := range []string{"1|u|q|p|gpu:2|COMPLETED|00:00:00|0:0\n", "1|u|q|p||COMPLETED|00:00:00|x\n", "1|2\n"} {
		if _, err := ParseSacct([]byte(bad), nil); err == nil {
			t.Errorf("ParseSacct(%q) accepted", bad)
		}
	}
}
