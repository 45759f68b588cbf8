package slurm

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestLookupField(t *testing.T) {
	tests := map[string]string{
		"gracetime": "GraceTime", "MaxWallDurationPerJob": "MaxWall", "maxtrespu": "MaxTRESPerUser",
		"MaxTRES": "MaxTRESPerJob", "MaxJobsPU": "MaxJobsPerUser", "MaxSubmitPU": "MaxSubmitJobsPerUser",
		"GrpSubmit": "GrpSubmitJobs", "MinTRES": "MinTRESPerJob", "Descr": "Description", "UsageThres": "UsageThreshold",
		"MaxTRESPA": "MaxTRESPerAccount", "MaxJobsPA": "MaxJobsPerAccount", "MaxSubmitPA": "MaxSubmitJobsPerAccount",
	}
	for in, want := range tests {
		f, ok := LookupField(in)
		if !ok || f.Name != want {
			t.Errorf("LookupField(%q) = %q %v, want %q", in, f.Name, ok, want)
		}
	}
	if _, ok := LookupField("GrpTRESMins"); ok {
		t.Error("GrpTRESMins is not managed")
	}
	// Headers verified against real output: every catalogue header appears
	// in the full `sacctmgr show qos -p` header, except Description (not in
	// the default list; "Descr" checked in TestParseShowQoSReal).
	tb, err := ParseParsableHeader(load(t, "real/sacctmgr_show_qos_all_p").stdout)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range QoSFields() {
		if f.Name != "Description" && tb.Col(f.Header) < 0 {
			t.Errorf("%s: header %q not printed by sacctmgr", f.Name, f.Header)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		field, a, b string // a and b must normalize to the same value
		want        string
	}{
		{"GraceTime", "60", "00:01:00", "00:01:00"},
		{"GraceTime", "0", "", "00:00:00"},
		{"GraceTime", "-1", "00:00:00", "00:00:00"},
		{"GraceTime", "1:30", "90", "00:01:30"},
		{"MaxWall", "8:00:00", "08:00:00", "08:00:00"},
		{"MaxWall", "480", "08:00:00", "08:00:00"},
		{"MaxWall", "1-0", "24:00:00", "1-00:00:00"},
		{"maxwalldurationperjob", "-1", "", ""},
		{"MaxWall", "UNLIMITED", "", ""},
		{"GrpWall", "1-2", "1-02:00:00", "1-02:00:00"},
		{"PreemptExemptTime", "60", "01:00:00", "01:00:00"}, // bare = minutes (verified)
		{"PreemptExemptTime", "-1", "", ""},
		{"MaxTRESPerUser", "gpu=2", "gres/gpu=2", "gres/gpu=2"},
		{"MaxTRESPU", "mem=2048,cpu=4", "cpu=4,mem=2G", "cpu=4,mem=2G"},
		{"MaxTRESPerJob", "gres/gpu=-1", "", ""},
		{"MaxTRESPerUser", "-1", "", ""},
		{"Priority", "0", "", "0"},
		{"Priority", "-1", "0", "0"},
		{"Priority", "0100", "100", "100"},
		{"UsageFactor", "1", "1.000000", "1.000000"},
		{"UsageFactor", "-1", "", "1.000000"},
		{"UsageFactor", "2", "2.000000", "2.000000"},
		{"UsageThreshold", "0.5", "0.500000", "0.500000"},
		{"UsageThreshold", "-1", "", ""},
		{"MaxJobsPerUser", "-1", "", ""},
		{"MaxJobsPerUser", "2", "2", "2"},
		{"Flags", "NoDecay,denyonlimit", "DenyOnLimit,NoDecay", "DenyOnLimit,NoDecay"},
		{"Flags", "-1", "", ""},
		{"Preempt", "Normal,low", "low,normal", "low,normal"},
		{"Preempt", "", "-1", ""},
		{"PreemptMode", "OFF", "cluster", "cluster"},
		{"PreemptMode", "", "-1", "cluster"},
		{"PreemptMode", "REQUEUE", "requeue", "requeue"},
		{"PreemptMode", "suspend,gang", "GANG,SUSPEND", "gang,suspend"},
		{"Description", "Probe QoS Mixed Case", "probe qos mixed case", "probe qos mixed case"},
	}
	for _, tc := range tests {
		a, errA := Normalize(tc.field, tc.a)
		b, errB := Normalize(tc.field, tc.b)
		if errA != nil || errB != nil {
			t.Errorf("%s: Normalize(%q)=%v, Normalize(%q)=%v", tc.field, tc.a, errA, tc.b, errB)
			continue
		}
		if a != tc.want || b != tc.want {
			t.Errorf("%s: Normalize(%q)=%q, Normalize(%q)=%q, want %q", tc.field, tc.a, a, tc.b, b, tc.want)
		}
	}
	bad := []struct{ field, value, mention string }{
		{"MaxWall", "8h", "not a number"},
		{"MaxWall", "1:30", "whole minutes"},
		{"MaxTRESPerUser", "gres/gpu:2", "TYPE=COUNT"},
		{"MaxTRESPerJob", "gres/gpumem=20000", "GPU-memory"},
		{"Priority", "abc", "whole number"},
		{"Priority", "-5", "whole number"},
		{"Priority", "99999999999", "out of range"},
		{"UsageFactor", "NaN", "non-negative"},
		{"Flags", "Bogus", "unknown QoS flag"},
		{"PreemptMode", "within", "unknown PreemptMode"},
		{"PreemptMode", "cancel,requeue", "only one"},
		{"Preempt", "Bad Name", "white space"},
		{"Description", "a|b", "must not contain"},
		{"NoSuchField", "1", "unknown QoS field"},
	}
	for _, tc := range bad {
		_, err := Normalize(tc.field, tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("Normalize(%s, %q) = %v, want error mentioning %q", tc.field, tc.value, err, tc.mention)
		}
	}
}

// seedDesired is the seed guide's QoS spec, as an admin would write it.
var seedDesired = map[string]string{"GraceTime": "60", "MaxWall": "8:00:00", "MaxTRESPerUser": "gpu=2", "Priority": "100"}

func TestDiffSeedAgainstFacts(t *testing.T) {
	fields := []string{"Priority", "MaxWall", "MaxTRESPerUser", "GraceTime"}
	// After the seed's steps the live QoS matches: no changes.
	live, found, err := ParseShowQoS(load(t, "facts/sacctmgr_show_qos_P_n").stdout, "moonlight", fields)
	if err != nil || !found {
		t.Fatalf("ParseShowQoS: %v %v", found, err)
	}
	changes, err := Diff(seedDesired, live)
	if err != nil || len(changes) != 0 {
		t.Fatalf("Diff(after) = %+v, %v; want none", changes, err)
	}
	// After delete + re-add every limit is reset.
	tb, err := ParseParsableHeader(load(t, "facts/sacctmgr_show_qos_readded_p").stdout)
	if err != nil {
		t.Fatal(err)
	}
	changes, err = Diff(seedDesired, tb.Maps()[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []FieldChange{
		{Field: "Priority", Current: "0", Desired: "100", SetArg: "Priority=100"},
		{Field: "GraceTime", Current: "00:00:00", Desired: "00:01:00", SetArg: "GraceTime=60"},
		{Field: "MaxWall", Current: "(unset)", Desired: "08:00:00", SetArg: "MaxWall=08:00:00"},
		{Field: "MaxTRESPerUser", Current: "(unset)", Desired: "gres/gpu=2", SetArg: "MaxTRESPerUser=gres/gpu=2"},
	}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("Diff(readded) =\n%+v\nwant\n%+v", changes, want)
	}
	argv, err := ModifyQoSArgv("moonlight", changes)
	if err != nil {
		t.Fatal(err)
	}
	// The seed's Step 3, corrected (gres/gpu, -i): the command verified in facts §6.4.
	wantArgv := strings.Fields("sacctmgr -i modify qos moonlight set Priority=100 GraceTime=60 MaxWall=08:00:00 MaxTRESPerUser=gres/gpu=2")
	if !reflect.DeepEqual(argv, wantArgv) {
		t.Errorf("ModifyQoSArgv = %q, want %q", argv, wantArgv)
	}
}

func TestDiffCases(t *testing.T) {
	tests := []struct {
		name          string
		desired, live map[string]string
		want          []string // SetArgs
	}{
		{"tres merge needs explicit clears",
			map[string]string{"MaxTRESPerUser": "gres/gpu=2"}, map[string]string{"MaxTRESPU": "cpu=4,gres/gpu=2,mem=2G"},
			[]string{"MaxTRESPerUser=cpu=-1,gres/gpu=2,mem=-1"}},
		{"tres cleared", map[string]string{"MaxTRESPerJob": "-1"}, map[string]string{"MaxTRES": "gres/gpu=20000"},
			[]string{"MaxTRESPerJob=gres/gpu=-1"}},
		{"tres same, other order", map[string]string{"GrpTRES": "mem=2048,cpu=4"}, map[string]string{"GrpTRES": "cpu=4,mem=2G"}, nil},
		{"clears use verified values",
			map[string]string{"Priority": "", "GraceTime": "-1", "PreemptMode": "off", "Preempt": "", "UsageFactor": "-1", "Flags": "", "MaxWall": "-1"},
			map[string]string{"Priority": "7", "GraceTime": "00:01:30", "PreemptMode": "requeue", "Preempt": "normal", "UsageFactor": "2.000000", "Flags": "DenyOnLimit,NoDecay", "MaxWall": "00:02:00"},
			[]string{"Priority=0", "GraceTime=0", "Preempt=", "PreemptMode=cluster", "Flags=-1", "UsageFactor=-1", "MaxWall=-1"}},
		{"flags as a set", map[string]string{"flags": "nodecay,DenyOnLimit"}, map[string]string{"Flags": "DenyOnLimit,NoDecay"}, nil},
		{"grace time in seconds even from HH:MM:SS",
			map[string]string{"GraceTime": "00:02:00"}, map[string]string{"GraceTime": "00:00:01"}, []string{"GraceTime=120"}},
		{"description compared case-insensitively", map[string]string{"Description": "Moonlight Service"},
			map[string]string{"Descr": "moonlight service"}, nil},
		{"description changed", map[string]string{"Description": "Moonlight streaming"},
			map[string]string{"Description": "moonlight"}, []string{"Description=moonlight streaming"}},
		{"preempt exempt time", map[string]string{"PreemptExemptTime": "90"}, map[string]string{"PreemptExemptTime": ""},
			[]string{"PreemptExemptTime=01:30:00"}},
		{"usage factor float", map[string]string{"UsageFactor": "0.5"}, map[string]string{"UsageFactor": "1.000000"},
			[]string{"UsageFactor=0.5"}},
		{"live extras ignored", map[string]string{"MaxJobsPerUser": "2"}, map[string]string{"Name": "moonlight", "MaxJobsPU": "2", "GrpTRESMins": ""}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			changes, err := Diff(tc.desired, tc.live)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.SetArg)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SetArgs = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDiffErrors(t *testing.T) {
	tests := []struct {
		name          string
		desired, live map[string]string
		mention       string
	}{
		{"unknown field", map[string]string{"MaxGPUs": "2"}, nil, "unknown QoS field"},
		{"alias twice", map[string]string{"MaxWall": "60", "MaxWallDurationPerJob": "60"}, map[string]string{"MaxWall": ""}, "twice"},
		{"live missing", map[string]string{"MaxWall": "60"}, map[string]string{"Priority": "0"}, "missing"},
		{"bad desired", map[string]string{"MaxTRESPerUser": "gpu:2"}, map[string]string{"MaxTRESPU": ""}, "TYPE=COUNT"},
		{"bad live", map[string]string{"MaxWall": "60"}, map[string]string{"MaxWall": "garbage"}, "live"},
		{"live conflict", map[string]string{"MaxWall": "60"}, map[string]string{"MaxWall": "01:00:00", "MaxWallDurationPerJob": "02:00:00"}, "different values"},
		{"description cleared", map[string]string{"Description": ""}, map[string]string{"Descr": "x"}, "cannot be cleared"},
	}
	for _, tc := range tests {
		if _, err := Diff(tc.desired, tc.live); err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: Diff error = %v, want mention of %q", tc.name, err, tc.mention)
		}
	}
}

func TestShowQoS(t *testing.T) {
	argv, err := ShowQoSArgv("moonlight", []string{"Priority", "MaxWall", "MaxTRESPU", "GraceTime", "maxtresperuser"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sacctmgr", "-n", "-P", "show", "qos", "moonlight", "format=Name,Priority,MaxWall,MaxTRESPerUser,GraceTime"}
	if !reflect.DeepEqual(argv, want) {
		t.Errorf("ShowQoSArgv = %q", argv)
	}
	if _, err := ShowQoSArgv("Moon Light", nil); err == nil {
		t.Error("bad name accepted")
	}
	if _, err := ShowQoSArgv("moonlight", []string{"bogus"}); err == nil {
		t.Error("bad field accepted")
	}
	// Absent QoS: empty stdout, rc 0 (real capture).
	_, found, err := ParseShowQoS(load(t, "real/sacctmgr_show_qos_absent").stdout, "doesnotexist", []string{"Priority"})
	if err != nil || found {
		t.Errorf("absent: found=%v err=%v", found, err)
	}
	if _, _, err := ParseShowQoS([]byte("other|1\n"), "moonlight", []string{"Priority"}); err == nil {
		t.Error("row for another QoS accepted")
	}
	if _, _, err := ParseShowQoS([]byte("moonlight|1\nmoonlight|2\n"), "moonlight", []string{"Priority"}); err == nil {
		t.Error("two rows accepted")
	}
}

func TestParseShowQoSReal(t *testing.T) {
	// The real `sacctmgr show qos -p` default layout, read as live values.
	tb, err := ParseParsableHeader(load(t, "real/sacctmgr_show_qos_all_p").stdout)
	if err != nil {
		t.Fatal(err)
	}
	live := tb.Maps()[0]
	// A fresh QoS: none of these desired values differ from it.
	none := map[string]string{"Priority": "0", "GraceTime": "0", "PreemptMode": "off", "UsageFactor": "1", "Flags": "",
		"MaxWall": "-1", "MaxTRESPerUser": "", "Preempt": "", "UsageThreshold": "-1", "MinTRESPerJob": "-1"}
	if changes, err := Diff(none, live); err != nil || len(changes) != 0 {
		t.Errorf("Diff(defaults, normal) = %+v, %v", changes, err)
	}
	// UnsetLive agrees with what sacctmgr prints for a fresh QoS.
	u := UnsetLive("normal")
	for _, f := range QoSFields() {
		if v, ok := live.Get(f.Header); ok {
			a, _ := f.Normalize(v)
			b, _ := f.Normalize(u[f.Name])
			if a != b {
				t.Errorf("%s: UnsetLive %q vs real %q", f.Name, u[f.Name], v)
			}
		}
	}
}

func TestQoSBuilders(t *testing.T) {
	changes, err := Diff(seedDesired, UnsetLive("moonlight"))
	if err != nil {
		t.Fatal(err)
	}
	argv, err := AddQoSArgv("moonlight", changes)
	if err != nil {
		t.Fatal(err)
	}
	// facts §6b: "Setting everything at creation time works too".
	want := strings.Fields("sacctmgr -i add qos moonlight Priority=100 GraceTime=60 MaxWall=08:00:00 MaxTRESPerUser=gres/gpu=2")
	if !reflect.DeepEqual(argv, want) {
		t.Errorf("AddQoSArgv = %q", argv)
	}
	if argv, _ := AddQoSArgv("moonlight", nil); !reflect.DeepEqual(argv, strings.Fields("sacctmgr -i add qos moonlight")) {
		t.Errorf("AddQoSArgv(nil) = %q", argv)
	}
	if argv, _ := DeleteQoSArgv("moonlight"); !reflect.DeepEqual(argv, strings.Fields("sacctmgr -i delete qos moonlight")) {
		t.Errorf("DeleteQoSArgv = %q", argv)
	}
	if _, err := ModifyQoSArgv("moonlight", nil); !errors.Is(err, ErrNoChanges) {
		t.Errorf("ModifyQoSArgv(nil) = %v", err)
	}
	for _, bad := range []FieldChange{{SetArg: "Priority"}, {SetArg: "prio=1"}, {SetArg: "Bogus=1"}, {SetArg: "Priority=1\nx"}} {
		if _, err := ModifyQoSArgv("moonlight", []FieldChange{bad}); err == nil {
			t.Errorf("ModifyQoSArgv accepted %q", bad.SetArg)
		}
		if _, err := AddQoSArgv("moonlight", []FieldChange{bad}); err == nil {
			t.Errorf("AddQoSArgv accepted %q", bad.SetArg)
		}
	}
	for _, f := range []func(string) ([]string, error){DeleteQoSArgv, func(n string) ([]string, error) { return AddQoSArgv(n, nil) },
		func(n string) ([]string, error) { return ModifyQoSArgv(n, changes) }} {
		if _, err := f("x;y"); err == nil {
			t.Error("builder accepted a bad name")
		}
	}
}

func TestWarnings(t *testing.T) {
	w := Warnings(map[string]string{"MaxTRESPerUser": "gpu=2", "MaxTRESPerJob": "gres/gpu=20000", "Priority": "1"})
	if len(w) != 2 || !strings.Contains(w[0], "gres/gpu=20000") || !strings.Contains(w[1], "written as gres/gpu") {
		t.Errorf("Warnings = %q", w)
	}
}
