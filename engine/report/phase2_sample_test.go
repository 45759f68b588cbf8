package report_test

import (
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
)

// phase2Run is a realistic failed apply of runbooks/phase2.hcl on one
// controller, with the Korean checklist lines (--lang ko): preflight, the
// QoS list and the create succeed, setting the limits fails with the
// guide's gpu=2 mistake and its hint, and everything after it is not run.
func phase2Run() *report.Run {
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	c := func(from, to float64, command string, exit int, stdout, stderr string) report.CommandRecord {
		return report.CommandRecord{Command: command, ExitCode: exit, Stdout: stdout, Stderr: stderr, Started: at(from), Ended: at(to)}
	}
	host := &report.Host{Name: "moonlight-ctl", Transport: "ssh koopark@10.0.0.5:22", Steps: []*report.Step{
		{Name: "cluster", Kind: "preflight", Title: "Check that Slurm will enforce the QoS", Status: report.StatusOK, Action: "read",
			Summary: "cluster moonlight enforces QoS limits; partition viz is up", Started: at(0), Ended: at(1.2),
			Commands: []report.CommandRecord{
				c(0, 0.6, "scontrol show config", 0, "Configuration data as of 2026-03-14T09:26:53\nAccountingStorageEnforce = associations,limits,qos\nClusterName = moonlight\n", ""),
				c(0.6, 1.2, "scontrol show partition viz", 0, "PartitionName=viz\n   State=UP TotalCPUs=128 TotalNodes=4\n", ""),
			},
			Notes: []string{"ok: AccountingStorageEnforce includes qos and limits",
				"AccountingStorageEnforce = associations,limits,qos; AccountingStorageTRES = cpu,mem,gres/gpu; PriorityWeightQOS = 10000"}},
		{Name: "qos_list", Kind: "check", Title: "List the current QoS", Status: report.StatusOK, Action: "read",
			Summary: "read: `sacctmgr -P show qos format=Name,Priority,MaxWall,MaxTRESPerUser` (exit 0)", Started: at(1.2), Ended: at(1.7),
			Checklist: []string{"sacctmgr show qos로 현재 QoS 목록 확인"},
			Commands: []report.CommandRecord{c(1.2, 1.7, "sacctmgr -P show qos format=Name,Priority,MaxWall,MaxTRESPerUser", 0,
				"Name|Priority|MaxWall|MaxTRESPerUser\nnormal|0||\nvnc|200|12:00:00|gres/gpu=1\n", "")}},
		{Name: "qos", Kind: "create", Title: "Create the moonlight QoS", Status: report.StatusChanged, Action: "create", Changed: true,
			Summary: "created qos moonlight", Started: at(1.7), Ended: at(3.1),
			Checklist: []string{"sudo sacctmgr add qos moonlight 실행"},
			Planned:   []string{"sudo sacctmgr -i add qos moonlight"},
			Commands: []report.CommandRecord{
				c(1.7, 2.2, "sacctmgr -n -P show qos moonlight format=Name", 0, "", ""),
				{Command: "sudo sacctmgr -i add qos moonlight", Become: true, Stdout: " Adding QOS(s)\n  moonlight\n Settings\n  Description    = moonlight\n", Started: at(2.2), Ended: at(3.1)},
			}},
		{Name: "qos_limits", Kind: "modify", Title: "Set GraceTime, MaxWall, MaxTRESPerUser and Priority", Status: report.StatusFailed, Action: "modify",
			Summary: "modify qos moonlight (4 of 4 fields differ)", Started: at(3.1), Ended: at(5.4),
			Changes: []steps.Change{
				{Field: "GraceTime", Current: "00:00:00", Desired: "60"},
				{Field: "MaxWall", Current: "", Desired: "8:00:00"},
				{Field: "MaxTRESPerUser", Current: "", Desired: "gpu=2"},
				{Field: "Priority", Current: "0", Desired: "100"},
			},
			Error:     "`sudo sacctmgr -i modify qos moonlight set GraceTime=60 MaxWall=8:00:00 MaxTRESPerUser=gpu=2 Priority=100` failed (rejected): Unknown option: MaxTRESPerUser=gpu=2",
			Hint:      "Slurm 22.05 knows no TRES \"gpu\": write gres/gpu=2 (the guide's gpu=2 is refused with \"no TRES known by type gpu\")",
			Checklist: []string{"QoS 파라미터 설정 (GraceTime, MaxWall, MaxTRESPerUser)"},
			Commands: []report.CommandRecord{
				c(3.1, 3.6, "sacctmgr -n -P show qos moonlight format=GraceTime,MaxWall,MaxTRESPerUser,Priority", 0, "00:00:00|||0\n", ""),
				{Command: "sudo sacctmgr -i modify qos moonlight set GraceTime=60 MaxWall=8:00:00 MaxTRESPerUser=gpu=2 Priority=100", Become: true,
					ExitCode: 1, Stderr: " Unknown option: MaxTRESPerUser=gpu=2\n Use keyword 'where' to modify condition\n", Started: at(3.6), Ended: at(5.4)},
			}},
		{Name: "qos_settings", Kind: "verify", Title: "Read the QoS back and compare", Status: report.StatusNotRun,
			Summary: `not run: step "qos_limits" failed before it`, Checklist: []string{"sacctmgr show qos moonlight로 설정 확인"}},
		{Name: "grant_qos", Kind: "grant", Title: "Grant moonlight to the users of account hpc-users", Status: report.StatusNotRun,
			Summary: `not run: step "qos_limits" failed before it`},
		{Name: "check_grant", Kind: "verify", Title: "Confirm the account's users may use moonlight", Status: report.StatusNotRun,
			Summary: `not run: step "qos_limits" failed before it`},
		{Name: "gpu_test", Kind: "test_job", Title: "Submit the test job and wait for it", Status: report.StatusNotRun,
			Summary: `not run: step "qos_limits" failed before it`,
			Checklist: []string{
				"테스트 작업 제출 (sbatch /tmp/test_moonlight_qos.sh)",
				"작업 QoS 확인 (scontrol show job <JOBID> | grep QOS)",
				"작업 로그 확인 (QoS=moonlight 출력)",
			}},
		{Name: "accounting", Kind: "sacct_check", Title: "Confirm the job in accounting", Status: report.StatusNotRun,
			Summary: `not run: step "qos_limits" failed before it`, Checklist: []string{"sacct --qos=moonlight로 통계 확인"}},
		{Name: "gpu_cap", Kind: "prove_limit", Title: "Prove the per-user GPU cap (2 GPUs)", Status: report.StatusSkipped, Summary: "when is false"},
	}}
	return &report.Run{
		SchemaVersion: report.SchemaVersion,
		ID:            "20260314T092653.000Z-phase2",
		Mode:          "apply",
		Runbook:       "phase2",
		Title:         "Phase 2: Slurm QoS for Moonlight/Sunshine",
		File:          "runbooks/phase2.hcl",
		Started:       t0,
		Ended:         at(5.6),
		Result:        "failed",
		Variables: map[string]string{
			"qos_name": "moonlight", "partition": "viz", "grace_time": "60", "max_wall": "8:00:00",
			"max_gpus_per_user": "2", "priority": "100", "account": "hpc-users", "job_user": "", "become": "true",
			"prove_limits": "false",
		},
		Hosts: []*report.Host{host},
	}
}
