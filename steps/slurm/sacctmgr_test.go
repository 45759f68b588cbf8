package slurm

import (
	"errors"
	"strings"
	"testing"
)

func TestClassifySacctmgrFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		outcome Outcome
		success bool
		changed bool
		hint    string // substring of the hint
	}{
		{"facts/sacctmgr_add_qos", OutcomeAdded, true, true, ""},
		{"facts/sacctmgr_add_qos_with_settings", OutcomeAdded, true, true, ""},
		{"facts/sacctmgr_add_qos_exists", OutcomeAlreadyExists, true, false, ""},
		{"facts/sacctmgr_modify_qos", OutcomeModified, true, true, ""},
		{"facts/sacctmgr_modify_user_qos", OutcomeModified, true, true, ""},
		{"facts/sacctmgr_modify_user_qos_two", OutcomeModified, true, true, ""},
		{"facts/sacctmgr_modify_nothing", OutcomeNothingModified, false, false, "matched nothing"},
		{"facts/sacctmgr_delete_qos", OutcomeDeleted, true, true, ""},
		{"facts/sacctmgr_delete_nothing", OutcomeNothingDeleted, true, false, ""},
		{"facts/sacctmgr_discarded_answer_n", OutcomeDiscarded, false, false, "NOT committed"},
		{"facts/sacctmgr_discarded_timeout", OutcomeDiscarded, false, false, "NOT committed"},
		{"facts/sacctmgr_committed_answer_y", OutcomeAdded, true, true, ""},
		{"facts/sacctmgr_add_noi_devnull_loop", OutcomePromptLoop, false, false, "always pass -i"},
		{"facts/sacctmgr_add_qos_permdenied", OutcomePermissionDenied, false, false, "adminlevel=Administrator"},
		{"facts/sacctmgr_modify_permdenied", OutcomePermissionDenied, false, false, "become = true"},
		{"facts/sacctmgr_delete_permdenied", OutcomePermissionDenied, false, false, "sudo"},
		{"facts/sacctmgr_modify_gpu_eq", OutcomeUnknownTRES, false, false, "write gres/gpu=2, not gpu=2"},
		{"facts/sacctmgr_modify_gpu_colon20000", OutcomeUnknownTRES, false, false, "TYPE=COUNT"},
		{"facts/sacctmgr_modify_gpu_colon2", OutcomeUnknownTRES, false, false, "TYPE=COUNT"},
		{"facts/sacctmgr_modify_gpumem", OutcomeUnknownTRES, false, false, "no GPU-memory TRES"},
		{"facts/sacctmgr_show_qos_P_n", OutcomeOK, true, false, ""},
		{"real/sacctmgr_show_qos_absent", OutcomeOK, true, false, ""},
		{"real/sacctmgr_dbdown_show_qos", OutcomeDBDown, false, false, "slurmdbd"},
		{"real/sacctmgr_dbdown_modify_qos", OutcomeDBDown, false, false, "slurmdbd"},
		{"real/sacct_dbdown", OutcomeDBDown, false, false, "slurmdbd"},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			f := load(t, tc.fixture)
			r := ClassifySacctmgr(f.stdout, f.stderr, f.rc)
			if r.Outcome != tc.outcome || r.Success != tc.success || r.Changed != tc.changed {
				t.Fatalf("got %v success=%v changed=%v (%q), want %v success=%v changed=%v", r.Outcome, r.Success, r.Changed, r.Detail, tc.outcome, tc.success, tc.changed)
			}
			if !strings.Contains(r.Hint, tc.hint) {
				t.Errorf("hint %q lacks %q", r.Hint, tc.hint)
			}
			if err := r.Err(); (err == nil) != tc.success {
				t.Errorf("Err() = %v", err)
			} else if err != nil && !errors.Is(err, ErrSacctmgr) {
				t.Errorf("Err() not ErrSacctmgr: %v", err)
			}
		})
	}
}

// Texts captured on 22.05.8 while probing value semantics
// (testdata/real/sacctmgr_semantics_probe.txt), and the seed guide's own
// troubleshooting text.
func TestClassifySacctmgrTexts(t *testing.T) {
	tests := []struct {
		name           string
		stdout, stderr string
		rc             int
		outcome        Outcome
	}{
		{"invalid value", "", "sacctmgr: error: Invalid value for GraceTime (00:01:00)\n You didn't give me anything to set\n", 1, OutcomeInvalidArgument},
		{"empty qos list", "", "sacctmgr: error: You gave me an empty qos list\n", 1, OutcomeInvalidArgument},
		{"unknown flag", " Unknown QOS flag used in:\n  'Bogus'\n Valid QOS flags are\n  'DenyOnLimit,...'\n", "", 1, OutcomeInvalidArgument},
		{"bad maxwall", "", " Bad MaxWall time format: MaxWall=8h\n", 1, OutcomeInvalidArgument},
		{"unknown option", " Unknown option: Nonsense=1\n Use keyword 'where' to modify condition\n", "", 1, OutcomeInvalidArgument},
		{"seed privileges text", "", "Error: You are not running with sufficient privileges\n", 1, OutcomePermissionDenied},
		{"error with rc 0", " Modified qos...\n  moonlight\n", "sacctmgr: error: something odd\n", 0, OutcomeError},
		{"rc 1 silent", "", "", 1, OutcomeError},
		{"add account", " Adding Account(s)\n  hpc-users\n Settings\n  Description     = hpc users\n", "", 0, OutcomeAdded},
		{"add user", " Adding User(s)\n  koopark\n Associations =\n  U = koopark   A = hpc-users  C = testcluste\n", "", 0, OutcomeAdded},
		{"unknown gres tres", "", "sacctmgr: error: slurmdb_format_tres_str: no TRES known by type gres/gpu\n", 1, OutcomeUnknownTRES},
	}
	for _, tc := range tests {
		r := ClassifySacctmgr([]byte(tc.stdout), []byte(tc.stderr), tc.rc)
		if r.Outcome != tc.outcome {
			t.Errorf("%s: %v (%q), want %v", tc.name, r.Outcome, r.Detail, tc.outcome)
		}
		if r.Success {
			if tc.outcome != OutcomeAdded {
				t.Errorf("%s: unexpected success", tc.name)
			}
		} else if r.Err() == nil {
			t.Errorf("%s: failure without error", tc.name)
		}
	}
	r := ClassifySacctmgr(nil, []byte("sacctmgr: error: slurmdb_format_tres_str: no TRES known by type gres/gpu\n"), 1)
	if !strings.Contains(r.Hint, "AccountingStorageTRES") {
		t.Errorf("gres/gpu unknown hint = %q", r.Hint)
	}
	if s := Outcome(99).String(); s != "Outcome(99)" {
		t.Error(s)
	}
}

func TestSacctmgrErrorText(t *testing.T) {
	err := ClassifySacctmgr(nil, []byte("sacctmgr: error: slurmdb_format_tres_str: no TRES known by type gpu\n"), 1).Err()
	want := "sacctmgr: unknown-tres: sacctmgr: error: slurmdb_format_tres_str: no TRES known by type gpu (hint: write gres/gpu=2, not gpu=2; and AccountingStorageTRES in slurm.conf must list gres/gpu)"
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %q", err)
	}
	for _, s := range []string{ValueType(99).String(), ReasonKind(-1).String(), SubmitErrorKind(42).String(), EntityKind(9).String()} {
		if s == "" {
			t.Error("empty String()")
		}
	}
}
