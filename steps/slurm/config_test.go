package slurm

import (
	"strings"
	"testing"
)

func realConfig(t *testing.T) Record {
	cfg, err := ParseScontrolConfig(load(t, "real/scontrol_show_config").stdout)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func realPartition(t *testing.T) *Partition {
	p, err := ParsePartition(load(t, "real/scontrol_show_partition_viz").stdout)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func checks(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Severity.String()+":"+f.Check)
	}
	return out
}

func TestPreflightRealClusterIsClean(t *testing.T) {
	fs := Preflight(PreflightInput{Config: realConfig(t), PartitionName: "viz", Partition: realPartition(t), QoS: "moonlight",
		Desired: map[string]string{"GraceTime": "60", "MaxWall": "8:00:00", "MaxTRESPerUser": "gpu=2", "Priority": "100"}})
	if len(fs) != 0 {
		t.Errorf("findings on the testbed: %+v", fs)
	}
}

func TestPreflightFindings(t *testing.T) {
	seed := map[string]string{"GraceTime": "60", "MaxWall": "8:00:00", "MaxTRESPerUser": "gpu=2", "Priority": "100"}
	mod := func(kv ...string) Record {
		cfg := realConfig(t)
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "<delete>" {
				delete(cfg, kv[i])
			} else {
				cfg[kv[i]] = kv[i+1]
			}
		}
		return cfg
	}
	tests := []struct {
		name  string
		in    PreflightInput
		want  []string
		hints []string
	}{
		{"no limits enforcement", PreflightInput{Config: mod("AccountingStorageEnforce", "associations"), Desired: seed},
			[]string{"error:enforce-limits", "warning:enforce-qos"}, []string{"AccountingStorageEnforce=associations,limits,qos"}},
		{"none", PreflightInput{Config: mod("AccountingStorageEnforce", "none"), Desired: seed},
			[]string{"error:enforce-limits", "warning:enforce-qos"}, nil},
		{"safe implies limits", PreflightInput{Config: mod("AccountingStorageEnforce", "associations,qos,safe"), Desired: seed}, nil, nil},
		{"gres/gpu not tracked", PreflightInput{Config: mod("AccountingStorageTRES", "cpu,mem,energy,node,billing,fs/disk,vmem,pages"), Desired: seed},
			[]string{"error:tres-tracked"}, []string{"add gres/gpu to AccountingStorageTRES"}},
		{"gres type missing", PreflightInput{Config: mod("GresTypes", "(null)"), Desired: seed}, []string{"warning:gres-types"}, nil},
		{"priority weight 0", PreflightInput{Config: mod("PriorityWeightQOS", "0"), Desired: seed}, []string{"warning:priority-weight-qos"}, []string{"PriorityWeightQOS"}},
		{"priority basic", PreflightInput{Config: mod("PriorityType", "priority/basic", "PriorityWeightQOS", "<delete>"), Desired: seed},
			[]string{"warning:priority-type"}, nil},
		{"priority 0 needs no weight", PreflightInput{Config: mod("PriorityWeightQOS", "0"), Desired: map[string]string{"Priority": "0"}}, nil, nil},
		{"no slurmdbd", PreflightInput{Config: mod("AccountingStorageType", "accounting_storage/none")}, []string{"error:accounting-storage"}, nil},
		{"partition missing", PreflightInput{Config: realConfig(t), PartitionName: "gpu"}, []string{"error:partition-exists"}, nil},
		{"bad desired value", PreflightInput{Config: realConfig(t), Desired: map[string]string{"MaxTRESPerJob": "gres/gpu:20000"}},
			[]string{"error:desired-value"}, nil},
		{"nil config", PreflightInput{}, []string{"error:accounting-storage", "error:enforce-limits", "warning:enforce-qos"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := Preflight(tc.in)
			got := checks(fs)
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("findings %q, want %q", got, tc.want)
			}
			for i, h := range tc.hints {
				if i < len(fs) && !strings.Contains(fs[i].Hint, h) {
					t.Errorf("hint %q lacks %q", fs[i].Hint, h)
				}
			}
			for _, f := range fs {
				if f.Message == "" {
					t.Errorf("%s: empty message", f.Check)
				}
			}
		})
	}
}

func TestPreflightPartition(t *testing.T) {
	parse := func(s string) *Partition {
		p, err := ParsePartition([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := realConfig(t)
	desired := map[string]string{"MaxWall": "8:00:00"}
	tests := []struct {
		part string
		want []string
	}{
		{"PartitionName=viz\n   AllowQos=ALL\n   State=UP MaxTime=UNLIMITED\n", nil},
		{"PartitionName=viz\n   AllowQos=normal\n   State=UP\n", []string{"error:partition-allowqos"}},
		{"PartitionName=viz\n   AllowQos=normal,moonlight\n   State=UP\n", nil},
		{"PartitionName=viz\n   AllowQos=ALL DenyQos=moonlight\n   State=UP\n", []string{"error:partition-allowqos"}},
		{"PartitionName=viz\n   AllowQos=ALL\n   State=DOWN\n", []string{"error:partition-up"}},
		{"PartitionName=viz\n   AllowQos=ALL\n   State=INACTIVE MaxTime=04:00:00\n", []string{"error:partition-up", "info:partition-maxtime"}},
	}
	for _, tc := range tests {
		fs := Preflight(PreflightInput{Config: cfg, PartitionName: "viz", Partition: parse(tc.part), QoS: "moonlight", Desired: desired})
		if got := checks(fs); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q: findings %q, want %q", tc.part, got, tc.want)
		}
	}
	if Severity(7).String() != "Severity(7)" {
		t.Error("Severity.String")
	}
}
