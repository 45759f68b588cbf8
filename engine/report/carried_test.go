package report_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/report"
)

// carriedRun is an apply resumed from run-1: its test job was carried
// over, as the engine records it (resumed_from, the "evidence from run"
// note unlabelled in front of the earlier run's labelled notes), and a
// check ran in this run.
func carriedRun() *report.Run {
	job := testJobStep("ran the job with x=B", "job ran in QoS moonlight", "output names the QoS")
	job.ResumedFrom = "run-1"
	job.Notes = append([]string{"evidence from run run-1 (resumed)"}, job.Notes...)
	job.NoteProves = append([]int{0}, job.NoteProves...)
	check := &report.Step{Name: "check", Kind: "check", Status: report.StatusOK, Checklist: []string{"checked here"},
		Commands: []report.CommandRecord{cmd("true", 0, "")}}
	return &report.Run{ID: "run-2", Mode: "apply", Runbook: "rb", Result: report.ResultSuccess,
		Hosts: []*report.Host{{Name: "ctl", Steps: []*report.Step{job, check}}}}
}

// TestCarriedEvidenceIsLabelled (issue 15, finding 5): a line ticked on
// evidence carried over by --resume says so on the line itself, in
// report.json, checklist.md, report.html and junit.xml, and no rendering
// claims that every tick rests on evidence from this run.
func TestCarriedEvidenceIsLabelled(t *testing.T) {
	r := carriedRun()
	r.BuildChecklist()
	label := report.CarriedLabel("run-1")
	for _, it := range r.Checklist {
		if !it.Ticked {
			t.Fatalf("%q not ticked: %s", it.Text, it.Reason)
		}
		carried := it.Step == "gpu_test"
		if got := it.CarriedFrom == "run-1"; got != carried {
			t.Errorf("%q: carried_from %q", it.Text, it.CarriedFrom)
		}
		// The kind's labels leave the step's "evidence from run" note off
		// lines 2 and 3: the line's own evidence must still say it.
		if got := len(it.Evidence) > 0 && it.Evidence[0] == label; got != carried {
			t.Errorf("%q: evidence %q", it.Text, it.Evidence)
		}
	}

	const thisRunOnly = "items ticked on evidence from this run"
	want := "4 of 4 items ticked: 1 on evidence from this run, 3 on evidence carried over by --resume from run run-1"
	if got := r.TickedSummary(); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}

	js, err := report.JSON(r)
	if err != nil {
		t.Fatal(err)
	}
	var back report.Run
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.Checklist[0].CarriedFrom != "run-1" {
		t.Errorf("report.json checklist item: %+v", back.Checklist[0])
	}

	md := report.Markdown(r)
	if strings.Contains(md, thisRunOnly) || !strings.Contains(md, want) {
		t.Errorf("checklist.md header:\n%s", md)
	}
	if strings.Count(md, "- evidence: "+label) != 3 {
		t.Errorf("checklist.md does not label each carried line:\n%s", md)
	}

	html, err := report.HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(html), thisRunOnly) || strings.Count(string(html), "carried over by --resume from run <code>run-1</code>") != 3 {
		t.Errorf("report.html does not label the carried lines")
	}

	junit, err := report.JUnit(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(junit), label) != 3 {
		t.Errorf("junit.xml does not label the carried lines:\n%s", junit)
	}
}

// Without --resume nothing changes: every tick is on this run's evidence.
func TestNothingCarriedNothingLabelled(t *testing.T) {
	r := carriedRun()
	r.Hosts[0].Steps = r.Hosts[0].Steps[1:]
	r.BuildChecklist()
	if got := r.TickedSummary(); got != "1 of 1 items ticked on evidence from this run" {
		t.Errorf("summary %q", got)
	}
	if it := r.Checklist[0]; it.CarriedFrom != "" || strings.Contains(strings.Join(it.Evidence, "\n"), "carried") {
		t.Errorf("item %+v", it)
	}
}
