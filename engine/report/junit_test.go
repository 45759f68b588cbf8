package report_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/report"
)

// The JUnit shape CI systems read, declared here independently of the
// renderer's own types.
type xSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []xSuite `xml:"testsuite"`
	// Skipped is the suites' sum: junit-10.xsd has no skipped attribute
	// on <testsuites>.
	Skipped int `xml:"-"`
}

type xSuite struct {
	Name       string `xml:"name,attr"`
	Hostname   string `xml:"hostname,attr"`
	Tests      int    `xml:"tests,attr"`
	Failures   int    `xml:"failures,attr"`
	Skipped    int    `xml:"skipped,attr"`
	Time       string `xml:"time,attr"`
	Properties []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"properties>property"`
	Cases []xCase `xml:"testcase"`
}

type xCase struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Time      string `xml:"time,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
	SystemOut string `xml:"system-out"`
}

func parseJUnit(t *testing.T, r *report.Run) xSuites {
	t.Helper()
	r.BuildChecklist()
	b, err := report.JUnit(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML declaration: %.60q", b)
	}
	var doc xSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, b)
	}
	var root struct {
		Attrs []xml.Attr `xml:",any,attr"`
	}
	_ = xml.Unmarshal(b, &root)
	for _, a := range root.Attrs {
		if a.Name.Local == "skipped" {
			t.Errorf("<testsuites> has skipped=%q, which junit-10.xsd does not allow", a.Value)
		}
	}
	// The counts agree with the cases.
	tests, failures, skipped := 0, 0, 0
	for _, s := range doc.Suites {
		f, sk := 0, 0
		for _, c := range s.Cases {
			if c.Failure != nil {
				f++
			}
			if c.Skipped != nil {
				sk++
			}
			if c.Failure != nil && c.Skipped != nil {
				t.Errorf("case %q both failed and skipped", c.Name)
			}
		}
		if s.Tests != len(s.Cases) || s.Failures != f || s.Skipped != sk {
			t.Errorf("suite %s counts tests=%d failures=%d skipped=%d, cases say %d/%d/%d", s.Name, s.Tests, s.Failures, s.Skipped, len(s.Cases), f, sk)
		}
		tests, failures, skipped = tests+len(s.Cases), failures+f, skipped+sk
	}
	if doc.Tests != tests || doc.Failures != failures {
		t.Errorf("testsuites counts %d/%d, suites say %d/%d", doc.Tests, doc.Failures, tests, failures)
	}
	doc.Skipped = skipped
	return doc
}

func TestJUnitPhase2(t *testing.T) {
	doc := parseJUnit(t, phase2Run())
	if doc.Name != "phase2" || len(doc.Suites) != 1 {
		t.Fatalf("testsuites %q with %d suites, want phase2 with 1", doc.Name, len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Hostname != "moonlight-ctl" || s.Name != "phase2 on moonlight-ctl" {
		t.Errorf("suite %q host %q", s.Name, s.Hostname)
	}
	if s.Time != "5.400" {
		t.Errorf("suite time %s, want the steps' 5.400 s", s.Time)
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if props["run_id"] != "20260314T092653.000Z-phase2" || props["result"] != "failed" || props["mode"] != "apply" {
		t.Errorf("properties %v", props)
	}
	// One case per checklist item, in checklist order.
	if len(s.Cases) != 8 {
		t.Fatalf("%d cases, want one per checklist item (8)", len(s.Cases))
	}
	want := []struct {
		name, class, outcome string
	}{
		{"sacctmgr show qos로 현재 QoS 목록 확인", "phase2.qos_list", "pass"},
		{"sudo sacctmgr add qos moonlight 실행", "phase2.qos", "pass"},
		{"QoS 파라미터 설정 (GraceTime, MaxWall, MaxTRESPerUser)", "phase2.qos_limits", "failure"},
		{"sacctmgr show qos moonlight로 설정 확인", "phase2.qos_settings", "skipped"},
		{"테스트 작업 제출 (sbatch /tmp/test_moonlight_qos.sh)", "phase2.gpu_test", "skipped"},
		{"작업 QoS 확인 (scontrol show job <JOBID> | grep QOS)", "phase2.gpu_test", "skipped"},
		{"작업 로그 확인 (QoS=moonlight 출력)", "phase2.gpu_test", "skipped"},
		{"sacct --qos=moonlight로 통계 확인", "phase2.accounting", "skipped"},
	}
	for i, w := range want {
		c := s.Cases[i]
		outcome := "pass"
		switch {
		case c.Failure != nil:
			outcome = "failure"
		case c.Skipped != nil:
			outcome = "skipped"
		}
		if c.Name != w.name || c.Classname != w.class || outcome != w.outcome {
			t.Errorf("case %d = %q %q %s, want %q %q %s", i, c.Name, c.Classname, outcome, w.name, w.class, w.outcome)
		}
	}
	// A passed item carries its evidence.
	if !strings.Contains(s.Cases[1].SystemOut, "`sudo sacctmgr -i add qos moonlight` → exit 0") {
		t.Errorf("passed case system-out = %q", s.Cases[1].SystemOut)
	}
	if s.Cases[1].Time != "1.400" {
		t.Errorf("case time %s, want the step's 1.400", s.Cases[1].Time)
	}
	// The failure carries the cause: error and hint in the message, the
	// failed command and its stderr in the body.
	f := s.Cases[2].Failure
	for _, want := range []string{"step qos_limits failed:", "Unknown option: MaxTRESPerUser=gpu=2", "hint: Slurm 22.05 knows no TRES"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("failure message lacks %q: %q", want, f.Message)
		}
	}
	for _, want := range []string{"$ sudo sacctmgr -i modify qos moonlight set", "exit 1", "stderr:\n Unknown option: MaxTRESPerUser=gpu=2"} {
		if !strings.Contains(f.Text, want) {
			t.Errorf("failure body lacks %q:\n%s", want, f.Text)
		}
	}
	if f.Type != "failed" {
		t.Errorf("failure type %q", f.Type)
	}
	if m := s.Cases[3].Skipped.Message; m != `not run: step "qos_limits" failed before it` {
		t.Errorf("skipped message %q", m)
	}
}

func TestJUnitFailureIsNeverInvisible(t *testing.T) {
	// A failed step with no checklist line (phase2's preflight) still
	// fails the suite.
	r := phase2Run()
	pre := r.Hosts[0].Steps[0]
	pre.Status, pre.Error, pre.Hint = report.StatusFailed, "preflight: AccountingStorageEnforce lacks qos", "set AccountingStorageEnforce=associations,limits,qos"
	for _, s := range r.Hosts[0].Steps[1:] {
		s.Status, s.Error, s.Summary = report.StatusNotRun, "", `not run: step "cluster" failed before it`
	}
	doc := parseJUnit(t, r)
	if doc.Failures != 1 {
		t.Fatalf("%d failures, want 1 (the preflight)", doc.Failures)
	}
	last := doc.Suites[0].Cases[len(doc.Suites[0].Cases)-1]
	if last.Name != "step cluster: Check that Slurm will enforce the QoS" || last.Classname != "phase2.cluster" ||
		last.Failure == nil || !strings.Contains(last.Failure.Message, "AccountingStorageEnforce lacks qos") ||
		!strings.Contains(last.Failure.Message, "hint: set AccountingStorageEnforce") {
		t.Errorf("preflight case = %+v", last)
	}

	// An unreachable host fails its items and carries the transport hint.
	r = sampleRun("apply")
	r.Hosts = append(r.Hosts, &report.Host{Name: "node03", Transport: "ssh node03:22",
		Error: "dial tcp 10.0.0.3:22: connection refused", Hint: "is sshd running on node03?",
		Steps: []*report.Step{{Name: "kernel", Kind: "check", Status: report.StatusNotRun, Summary: "host could not be reached", Checklist: []string{"Read the kernel"}}}})
	doc = parseJUnit(t, r)
	if len(doc.Suites) != 3 {
		t.Fatalf("%d suites, want one per host", len(doc.Suites))
	}
	n3 := doc.Suites[2]
	if n3.Hostname != "node03" || len(n3.Cases) != 1 || n3.Cases[0].Failure == nil ||
		!strings.Contains(n3.Cases[0].Failure.Message, "connection refused") || !strings.Contains(n3.Cases[0].Failure.Message, "is sshd running") {
		t.Errorf("unreachable host suite = %+v", n3)
	}
	// Several hosts: the host is in the name, so flattened views keep
	// the cases apart.
	if n3.Cases[0].Name != "Read the kernel [node03]" {
		t.Errorf("multi-host case name %q", n3.Cases[0].Name)
	}
	// The sample's other outcomes: a step that succeeded without evidence
	// fails as no_evidence; an interrupted step fails; skipped is skipped.
	byStep := map[string]xCase{}
	for _, c := range doc.Suites[0].Cases {
		byStep[strings.TrimPrefix(c.Classname, "demo.")] = c
	}
	if c := byStep["noevidence"]; c.Failure == nil || c.Failure.Type != "no_evidence" {
		t.Errorf("noevidence case = %+v", c)
	}
	if c := byStep["cut"]; c.Failure == nil || c.Failure.Type != "interrupted" {
		t.Errorf("interrupted case = %+v", c)
	}
	if c := byStep["skipped"]; c.Skipped == nil || c.Skipped.Message != "skipped: when is false" {
		t.Errorf("skipped case = %+v", c)
	}

	// A run interrupted between steps has no failing step: the run itself
	// is the failing case.
	r = phase2Run()
	r.Result = "interrupted"
	for _, s := range r.Hosts[0].Steps[3:] {
		s.Status, s.Error, s.Summary = report.StatusNotRun, "", "the run was interrupted before this step"
	}
	doc = parseJUnit(t, r)
	if doc.Failures != 1 {
		t.Fatalf("interrupted run: %d failures, want 1", doc.Failures)
	}
	lastSuite := doc.Suites[len(doc.Suites)-1]
	if lastSuite.Cases[0].Name != "run" || lastSuite.Cases[0].Failure.Type != "interrupted" {
		t.Errorf("interrupted run case = %+v", lastSuite.Cases[0])
	}
}

func TestJUnitPlanSkipsEverything(t *testing.T) {
	r := phase2Run()
	r.Mode, r.Result = "plan", "planned"
	r.Hosts[0].Steps[3].Status, r.Hosts[0].Steps[3].Error = report.StatusPlanned, ""
	doc := parseJUnit(t, r)
	if doc.Failures != 0 || doc.Skipped != 8 || doc.Tests != 8 {
		t.Errorf("plan: tests=%d failures=%d skipped=%d, want 8/0/8", doc.Tests, doc.Failures, doc.Skipped)
	}
	if m := doc.Suites[0].Cases[0].Skipped.Message; m != "plan only: nothing was applied" {
		t.Errorf("plan skip message %q", m)
	}
}

// TestJUnitHostileText: markup, quotes and control characters in outputs
// stay well-formed XML and come back as they were (control characters,
// which XML 1.0 cannot hold, as U+FFFD).
func TestJUnitHostileText(t *testing.T) {
	r := phase2Run()
	s := r.Hosts[0].Steps[3]
	s.Error = `bad "quote" & <tag> ]]> end`
	s.Commands[1].Stderr = "colour \x1b[31mred\x1b[0m\x00 </failure><testcase name=\"x\"/>"
	doc := parseJUnit(t, r)
	f := doc.Suites[0].Cases[2].Failure
	if !strings.Contains(f.Message, `bad "quote" & <tag> ]]> end`) {
		t.Errorf("message = %q", f.Message)
	}
	if !strings.Contains(f.Text, "colour \uFFFD[31mred\uFFFD[0m\uFFFD </failure><testcase name=\"x\"/>") {
		t.Errorf("body = %q", f.Text)
	}
	if len(doc.Suites[0].Cases) != 8 {
		t.Errorf("the output injected cases: %d", len(doc.Suites[0].Cases))
	}
}
