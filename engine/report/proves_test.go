package report_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/report"
)

// testJobStep is a finished test_job as the recorder leaves it: a whoami,
// the submission, the polled scontrol, the log read, and the notes drawn
// from them, each labelled with the checklist line it proves (0: none).
func testJobStep(lines ...string) *report.Step {
	c := func(command string, proves int, stdout string) report.CommandRecord {
		r := cmd(command, 0, stdout)
		r.Proves = proves
		return r
	}
	return &report.Step{Name: "gpu_test", Kind: "test_job", Status: report.StatusChanged, Changed: true, Checklist: lines,
		Commands: []report.CommandRecord{
			c("id -un", 0, "koopark\n"),
			c("sbatch --parsable /tmp/t.sh", 1, "42\n"),
			c("scontrol show job 42", 2, "JobId=42 JobName=t\n   UserId=koopark(1000)\n"),
			c("scontrol show job 42", 2, "JobId=42 JobName=t\n   UserId=koopark(1000)\n"),
			c("cat /tmp/out-42.out", 3, "QoS: moonlight\n"),
		},
		Notes: []string{"uploaded /tmp/t.sh (10 bytes, 0755)", "submitted job 42 as koopark",
			"job 42: QOS=moonlight Partition=viz JobState=COMPLETED", `job 42 output has "QoS: moonlight"`},
		NoteProves: []int{1, 1, 2, 3},
	}
}

func evidenceOf(t *testing.T, st *report.Step) [][]string {
	t.Helper()
	r := &report.Run{Mode: "apply", Hosts: []*report.Host{{Name: "ctl", Steps: []*report.Step{st}}}}
	r.BuildChecklist()
	var out [][]string
	for _, it := range r.Checklist {
		if !it.Ticked {
			t.Fatalf("%q not ticked: %s", it.Text, it.Reason)
		}
		var short []string
		for _, e := range it.Evidence {
			// Only the command or note, not the time and output.
			if _, rest, ok := strings.Cut(e, " `"); ok && strings.HasPrefix(e, "2026-") {
				e = "`" + rest
				if i := strings.Index(e, " → "); i > 0 {
					e = e[:i]
				}
			}
			short = append(short, e)
		}
		out = append(out, short)
	}
	return out
}

// Bug 6 of issue 14: each of test_job's three lines repeated every piece
// of the step's evidence; now each shows what proves it.
func TestChecklistLineShowsItsOwnEvidence(t *testing.T) {
	got := evidenceOf(t, testJobStep("submit", "confirm the QoS", "check the log"))
	want := [][]string{
		{"`sbatch --parsable /tmp/t.sh`", "uploaded /tmp/t.sh (10 bytes, 0755)", "submitted job 42 as koopark"},
		{"`scontrol show job 42`", "job 42: QOS=moonlight Partition=viz JobState=COMPLETED"},
		{"`cat /tmp/out-42.out`", `job 42 output has "QoS: moonlight"`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("evidence per line:\n got %q\nwant %q", got, want)
	}
}

func TestChecklistLabelsFallBack(t *testing.T) {
	all := []string{"`id -un`", "`sbatch --parsable /tmp/t.sh`", "`scontrol show job 42`", "`cat /tmp/out-42.out`",
		"uploaded /tmp/t.sh (10 bytes, 0755)", "submitted job 42 as koopark",
		"job 42: QOS=moonlight Partition=viz JobState=COMPLETED", `job 42 output has "QoS: moonlight"`}

	// One line: it is proved by everything the step did.
	if got := evidenceOf(t, testJobStep("run the test job")); !reflect.DeepEqual(got, [][]string{all}) {
		t.Errorf("one line: %q", got)
	}

	// Two lines for three labels: the last line takes the labels past it.
	got := evidenceOf(t, testJobStep("submit", "confirm and check"))
	want := [][]string{
		{"`sbatch --parsable /tmp/t.sh`", "uploaded /tmp/t.sh (10 bytes, 0755)", "submitted job 42 as koopark"},
		{"`scontrol show job 42`", "`cat /tmp/out-42.out`", "job 42: QOS=moonlight Partition=viz JobState=COMPLETED", `job 42 output has "QoS: moonlight"`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("two lines:\n got %q\nwant %q", got, want)
	}

	// Four lines: the fourth has no evidence of its own and shows all.
	got = evidenceOf(t, testJobStep("a", "b", "c", "d"))
	if len(got) != 4 || !reflect.DeepEqual(got[3], all) || len(got[0]) != 3 {
		t.Errorf("four lines: %q", got)
	}

	// A kind that labels nothing: every line has everything (as before).
	st := testJobStep("a", "b")
	for i := range st.Commands {
		st.Commands[i].Proves = 0
	}
	st.NoteProves = nil
	if got := evidenceOf(t, st); !reflect.DeepEqual(got, [][]string{all, all}) {
		t.Errorf("unlabelled: %q", got)
	}

	// A kind that labels only its commands: its notes are under every line.
	notes := all[4:]
	st = testJobStep("submit", "confirm the QoS", "check the log")
	st.NoteProves = nil
	got = evidenceOf(t, st)
	want = [][]string{
		append([]string{"`sbatch --parsable /tmp/t.sh`"}, notes...),
		append([]string{"`scontrol show job 42`"}, notes...),
		append([]string{"`cat /tmp/out-42.out`"}, notes...),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("commands labelled, notes not:\n got %q\nwant %q", got, want)
	}

	// Note labels that no longer line up with the notes (a note added
	// without its label, as a resumed step's "evidence from run X") are
	// not trusted: the notes count as unlabelled.
	st = testJobStep("submit", "confirm the QoS", "check the log")
	st.Notes = append([]string{"evidence from run X (resumed)"}, st.Notes...)
	got = evidenceOf(t, st)
	if len(got) != 3 || !reflect.DeepEqual(got[1], append([]string{"`scontrol show job 42`"}, st.Notes...)) {
		t.Errorf("misaligned labels: %q", got)
	}

	// Only notes labelled: commands are under every line.
	st = testJobStep("submit", "confirm the QoS", "check the log")
	for i := range st.Commands {
		st.Commands[i].Proves = 0
	}
	got = evidenceOf(t, st)
	if want := append(append([]string(nil), all[:4]...), "job 42: QOS=moonlight Partition=viz JobState=COMPLETED"); !reflect.DeepEqual(got[1], want) {
		t.Errorf("notes labelled, commands not: line 2 = %q, want %q", got[1], want)
	}
}

// The labels are part of the record, so a checklist rebuilt from a loaded
// report.json (runbook report, --resume) is the same.
func TestProvesRoundTrip(t *testing.T) {
	st := testJobStep("submit", "confirm", "check")
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"proves":1`) || !strings.Contains(string(b), `"note_proves":[1,1,2,3]`) {
		t.Errorf("labels not serialised: %s", b)
	}
	var back report.Step
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(evidenceOf(t, &back), evidenceOf(t, st)) {
		t.Error("evidence differs after a JSON round trip")
	}
	// Unlabelled evidence adds nothing to the record.
	b, _ = json.Marshal(report.CommandRecord{Command: "true"})
	if strings.Contains(string(b), "proves") {
		t.Errorf("unlabelled command record: %s", b)
	}
}
