package slurm

import (
	"errors"
	"strings"
	"testing"
)

func TestParseScontrolJob(t *testing.T) {
	tests := []struct {
		fixture string
		want    Job
		gpus    int64
	}{
		{"facts/scontrol_show_job_pending_qosmaxgres", Job{JobID: "5", JobName: "wrap", User: "koopark", UID: 1002, Account: "hpc-users",
			QOS: "moonlight", Partition: "viz", JobState: "PENDING", Reason: "QOSMaxGRESPerUser", StdOut: "/tmp/testbed/jobs/out/sleep-5.out",
			WorkDir: "/tmp/testbed", TresPerNode: "gres:gpu:1", SubmitTime: "2026-11-25T20:51:53"}, 1},
		{"real/scontrol_show_job_running", Job{JobID: "1", JobName: "rb-slurmpkg-run", User: "root", UID: 0, Account: "root", QOS: "normal",
			Partition: "viz", JobState: "RUNNING", Reason: "None", StdOut: "/dev/null", NodeList: "vm", TresPerNode: "gres:gpu:1",
			StartTime: "2026-11-25T21:39:21", EndTime: "2026-11-25T21:44:21", SubmitTime: "2026-11-25T21:39:21"}, 1},
		{"real/scontrol_show_job_completed", Job{JobID: "1", JobName: "rb-slurmpkg-run", User: "root", QOS: "normal", Partition: "viz",
			JobState: "COMPLETED", Reason: "None", NodeList: "vm"}, 1},
		{"real/scontrol_show_job_failed", Job{JobID: "2", JobName: "rb-slurmpkg-fail", User: "root", JobState: "FAILED",
			Reason: "NonZeroExitCode", ExitCode: 3}, 0},
		{"real/scontrol_show_job_pending_begintime", Job{JobID: "3", JobState: "PENDING", Reason: "BeginTime"}, 0},
		{"real/scontrol_show_job_cancelled", Job{JobID: "3", JobState: "CANCELLED", Reason: "BeginTime", NodeList: ""}, 0},
		{"real/scontrol_show_job_oneliner", Job{JobID: "1", JobName: "rb-slurmpkg-run", User: "root", JobState: "RUNNING",
			StdOut: "/dev/null", TresPerNode: "gres:gpu:1"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			j, err := ParseScontrolJob(load(t, tc.fixture).stdout)
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			check := func(name, got, want string) {
				if want != "" && got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			check("JobID", j.JobID, w.JobID)
			check("JobName", j.JobName, w.JobName)
			check("User", j.User, w.User)
			check("Account", j.Account, w.Account)
			check("QOS", j.QOS, w.QOS)
			check("Partition", j.Partition, w.Partition)
			check("JobState", j.JobState, w.JobState)
			check("Reason", j.Reason, w.Reason)
			check("StdOut", j.StdOut, w.StdOut)
			check("WorkDir", j.WorkDir, w.WorkDir)
			check("TresPerNode", j.TresPerNode, w.TresPerNode)
			check("NodeList", j.NodeList, w.NodeList)
			check("SubmitTime", j.SubmitTime, w.SubmitTime)
			check("StartTime", j.StartTime, w.StartTime)
			check("EndTime", j.EndTime, w.EndTime)
			if w.User != "" && j.UID != w.UID {
				t.Errorf("UID = %d, want %d", j.UID, w.UID)
			}
			if j.ExitCode != w.ExitCode || j.Signal != 0 {
				t.Errorf("ExitCode = %d:%d, want %d:0", j.ExitCode, j.Signal, w.ExitCode)
			}
			if n, _ := j.TRES.Count("gres/gpu"); n != tc.gpus {
				t.Errorf("TRES gres/gpu = %d, want %d (TRES=%s)", n, tc.gpus, j.TRESRaw)
			}
			if j.Fields.Str("Socks/Node") != "*" || j.Fields.Str("ReqB:S:C:T") != "0:0:*:*" {
				t.Errorf("odd keys: %q %q", j.Fields.Str("Socks/Node"), j.Fields.Str("ReqB:S:C:T"))
			}
			if j.Fields.Str("Command") != "(null)" {
				t.Errorf("Command = %q", j.Fields.Str("Command"))
			}
		})
	}
	j, _ := ParseScontrolJob(load(t, "facts/scontrol_show_job_pending_qosmaxgres").stdout)
	if j.StartTime != "" || j.TimeLimit.Seconds != 300 || j.TRESRaw != "cpu=1,mem=2G,node=1,billing=1,gres/gpu=1" {
		t.Errorf("pending job: start %q limit %v TRES %q", j.StartTime, j.TimeLimit, j.TRESRaw)
	}
}

func TestParseScontrolJobSpaces(t *testing.T) {
	out := "JobId=7 JobName=my job name\n   UserId=alice(1001) GroupId=alice(1001) MCS_label=N/A\n" +
		"   JobState=FAILED Reason=NonZeroExitCode Dependency=(null)\n   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=127:0\n" +
		"   Command=/home/alice/my script.sh --flag=1\n   WorkDir=/home/alice/work dir\n   StdOut=/home/alice/out file.txt\n   Power=\n"
	j, err := ParseScontrolJob([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if j.JobName != "my job name" || j.Fields.Str("Command") != "/home/alice/my script.sh --flag=1" ||
		j.WorkDir != "/home/alice/work dir" || j.StdOut != "/home/alice/out file.txt" || j.ExitCode != 127 || j.Signal != 0 {
		t.Errorf("%+v", j)
	}
	// Several records (scontrol show job without an id).
	two := load(t, "real/scontrol_show_job_completed").stdout
	two = append(two, load(t, "real/scontrol_show_job_failed").stdout...)
	jobs, err := ParseScontrolJobs(two)
	if err != nil || len(jobs) != 2 || jobs[1].JobID != "2" {
		t.Fatalf("ParseScontrolJobs: %d %v", len(jobs), err)
	}
	if _, err := ParseScontrolJob(two); err == nil {
		t.Error("two records accepted by ParseScontrolJob")
	}
}

func TestParseScontrolJobErrors(t *testing.T) {
	f := load(t, "real/scontrol_show_job_invalid")
	if f.rc != 1 || !IsJobNotFound(f.stderr) {
		t.Fatalf("fixture: rc %d %q", f.rc, f.stderr)
	}
	if _, err := ParseScontrolJob(f.stderr); !errors.Is(err, ErrJobNotFound) {
		t.Errorf("invalid id: %v", err)
	}
	for _, bad := range []string{"", "\n\n", "UserId=x(1)\n", "JobId=1 ExitCode=abc\n"} {
		if _, err := ParseScontrolJob([]byte(bad)); err == nil {
			t.Errorf("ParseScontrolJob(%q) accepted", bad)
		}
	}
}

func TestParseScontrolJobLenient(t *testing.T) {
	j, err := ParseScontrolJob([]byte("JobId=1\n   TRES=gpu:2\n   TimeLimit=forever\n"))
	if err != nil || j.TRES != nil || j.TRESRaw != "gpu:2" || j.TimeLimit.IsLimit() {
		t.Errorf("%+v %v", j, err)
	}
}

func TestStates(t *testing.T) {
	for _, s := range []string{"COMPLETED", "FAILED", "CANCELLED", "CANCELLED by 1002", "CANCELLED by 0", "CANCELLED+", "TIMEOUT",
		"NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "completed"} {
		if !IsTerminal(s) {
			t.Errorf("IsTerminal(%q) = false", s)
		}
	}
	for _, s := range []string{"PENDING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "SPECIAL_EXIT", ""} {
		if IsTerminal(s) {
			t.Errorf("IsTerminal(%q) = true", s)
		}
	}
	if NormalizeState("CANCELLED by 1002") != "CANCELLED" {
		t.Error("NormalizeState")
	}
	if e, s, err := ParseExitCode("127:0"); e != 127 || s != 0 || err != nil {
		t.Error("ParseExitCode 127:0")
	}
	if e, s, err := ParseExitCode("0:15"); e != 0 || s != 15 || err != nil {
		t.Error("ParseExitCode 0:15")
	}
	for _, bad := range []string{"", "127", "a:b", "1:2:3", "-1:0", "99999999:0"} {
		if _, _, err := ParseExitCode(bad); err == nil {
			t.Errorf("ParseExitCode(%q) accepted", bad)
		}
	}
}

func TestParseScontrolConfig(t *testing.T) {
	cfg, err := ParseScontrolConfig(load(t, "real/scontrol_show_config").stdout)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"AccountingStorageEnforce": "associations,limits,qos",
		"AccountingStorageTRES":    "cpu,mem,energy,node,billing,fs/disk,vmem,pages,gres/gpu",
		"PriorityWeightQOS":        "10000",
		"PriorityType":             "priority/multifactor",
		"SchedulerParameters":      "batch_sched_delay=0",
		"PriorityFlags":            "",
		"GresTypes":                "gpu",
		"ClusterName":              "testcluster",
		"prioritytype":             "priority/multifactor", // case-insensitive Get
	} {
		if got, ok := cfg.Get(k); !ok || got != want {
			t.Errorf("%s = %q (%v), want %q", k, got, ok, want)
		}
	}
	if _, ok := cfg.Get("Configuration data as of 2026-11-25T21:39:03"); ok {
		t.Error("header parsed as a key")
	}
	if _, err := ParseScontrolConfig([]byte("Slurmctld(primary) at vm is UP\n")); err == nil {
		t.Error("no keys accepted")
	}
}

func TestParsePartition(t *testing.T) {
	p, err := ParsePartition(load(t, "real/scontrol_show_partition_viz").stdout)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "viz" || p.State != "UP" || p.QoS != "" || p.MaxTime.Kind != DurationUnlimited || !p.AllowsQoS("moonlight") {
		t.Errorf("%+v", p)
	}
	if p.Fields.Str("TRES") != "cpu=2,mem=2G,node=1,billing=2,gres/gpu=2" || p.Fields.Str("Nodes") != "vm" {
		t.Errorf("fields: %q", p.Fields)
	}
	f := load(t, "real/scontrol_show_partition_nosuch")
	if _, err := ParsePartition(f.stdout); !errors.Is(err, ErrPartitionNotFound) || f.rc != 1 {
		t.Errorf("nosuch: %v rc=%d", err, f.rc)
	}
	restricted := "PartitionName=gpu\n   AllowGroups=ALL AllowAccounts=ALL AllowQos=normal,Moonlight\n   State=DRAIN MaxTime=08:00:00\n"
	p, err = ParsePartition([]byte(restricted))
	if err != nil {
		t.Fatal(err)
	}
	if !p.AllowsQoS("moonlight") || p.AllowsQoS("other") || p.State != "DRAIN" || p.MaxTime.Seconds != 8*3600 {
		t.Errorf("%+v", p)
	}
	denied := "PartitionName=gpu\n   AllowGroups=ALL DenyQos=moonlight\n   State=UP\n"
	if p, _ = ParsePartition([]byte(denied)); p.AllowsQoS("moonlight") || !p.AllowsQoS("normal") {
		t.Errorf("DenyQos: %+v", p)
	}
	if _, err := ParsePartition([]byte("Nodes=vm\n")); err == nil {
		t.Error("record without PartitionName accepted")
	}
}

func TestParseSbatchParsable(t *testing.T) {
	for _, fx := range []string{"facts/sbatch_parsable", "real/sbatch_parsable_running", "real/sbatch_parsable_failing", "real/sbatch_parsable_pending"} {
		id, cl, err := ParseSbatchParsable(load(t, fx).stdout)
		if err != nil || id == "" || cl != "" {
			t.Errorf("%s: %q %q %v", fx, id, cl, err)
		}
	}
	if id, cl, err := ParseSbatchParsable([]byte("17;testcluster\n")); id != "17" || cl != "testcluster" || err != nil {
		t.Errorf("federated: %q %q %v", id, cl, err)
	}
	for _, bad := range []string{"", "Submitted batch job 3\n", "abc\n", "1\n2\n"} {
		if _, _, err := ParseSbatchParsable([]byte(bad)); err == nil {
			t.Errorf("ParseSbatchParsable(%q) accepted", bad)
		}
	}
	_, _, err := ParseSbatchParsable([]byte("Submitted batch job 3\n"))
	if !strings.Contains(err.Error(), "--parsable") {
		t.Errorf("hint missing: %v", err)
	}
}
