// Package slurm is runbook's pure knowledge of Slurm 22.05 accounting and
// scheduling: it builds argv slices for sacctmgr/sacct and parses the
// output of sacctmgr, sacct, scontrol and sbatch. It performs no I/O and
// runs no command; the step kinds (create, modify, verify, test_job,
// sacct_check, preflight) execute what it builds and hand back
// stdout/stderr/exit code.
//
// Every rule here comes from real 22.05.8 output (testdata/real,
// testdata/facts) or Slurm's source, and encodes a trap a real cluster
// sets — several of them made by the seed QoS guide this project automates:
//
//   - sacctmgr without -i, with stdin at EOF (ssh, CI), loops forever at
//     100 % CPU printing "Y or N please". Every builder passes -i;
//     ClassifySacctmgr reports OutcomePromptLoop if it ever happens.
//   - Exit code 0 does not mean committed: " Changes Discarded" (prompt
//     answered n or timed out) exits 0. OutcomeDiscarded is a failure.
//     " Nothing new added." / " Nothing modified" / " Nothing deleted"
//     exit 1 and are the idempotency signals.
//   - TRES syntax is TYPE=COUNT: gres/gpu=2. The guide's MaxTRESPerUser=gpu=2
//     fails ("no TRES known by type gpu"); ParseTRES rewrites gpu=2 to
//     gres/gpu=2. gpu:2 / gres/gpu:2 / gres/gpu:20000 are rejected ("no
//     TRES id found"). There is no GPU-memory TRES in 22.05: the guide's
//     "GPU memory limit" is a mistake, gres/gpumem is unknown, and
//     gres/gpu=20000 means 20000 GPUs.
//   - sacctmgr merges a TRES `set` into the existing list; to drop a type
//     it must be set to -1. Diff emits e.g. MaxTRESPerUser=cpu=-1,gres/gpu=2.
//   - Bare numbers differ per field: GraceTime=60 is seconds (00:01:00),
//     MaxWall=60 and PreemptExemptTime=60 are minutes (01:00:00). GraceTime
//     is parsed with strtol, so GraceTime=1:00:00 is silently stored as 1
//     second: Diff always hands sacctmgr plain seconds for it. MaxWall is
//     stored in whole minutes (1:30 reads back as 00:02:00); Normalize
//     rejects sub-minute MaxWall instead of letting it drift.
//   - Values read back in a canonical form: 8:00:00 -> 08:00:00, Priority
//     unset -> 0, UsageFactor -> 1.000000, PreemptMode off -> cluster,
//     descriptions and QoS/account/user names lower-cased. Normalize maps
//     desired and live values to that form so Diff compares like with like.
//   - Fixed-width output truncates (gres/gpu=200+, billing=1+, CANCELLED+):
//     only -P/-p output is parsed; DetectFixedWidth refuses the rest.
//   - `sacctmgr show user` shows blank Account/QOS without withassoc; QoS
//     access is read from `show assoc`.
//   - sacct: AllocGRES is gone (fatal) -> AllocTRES; without -X the N.batch
//     rows appear; for ~1-5 s after a job ends its row has QOS=Unknown and
//     no partition (RecordComplete); States read "CANCELLED by 1002"
//     (NormalizeState); without --starttime only today's jobs are listed.
//   - A QoS Priority does nothing without priority/multifactor and
//     PriorityWeightQOS > 0; QoS limits do nothing without
//     AccountingStorageEnforce=limits; gres/gpu limits need gres/gpu in
//     AccountingStorageTRES (Preflight).
//
// Names are validated (ValidateName) before any argv is built.
package slurm
