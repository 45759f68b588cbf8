package report_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/report"
)

func renderHTML(t *testing.T, r *report.Run) string {
	t.Helper()
	r.BuildChecklist()
	b, err := report.HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHTMLEscapes: whatever a host prints, or a runbook author writes,
// shows as text; nothing in a record becomes markup or script.
func TestHTMLEscapes(t *testing.T) {
	r := phase2Run()
	r.Title = `Phase 2 <b>bold</b>`
	s := r.Hosts[0].Steps[1]
	s.Commands[0].Stdout = "<script>alert('stdout')</script>\n"
	s.Commands[0].Stderr = `<img src=x onerror="alert(1)">`
	s.Commands[0].Command = `echo "</code><script>alert('cmd')</script>"`
	s.Notes = []string{"<iframe src=//evil>"}
	s.Checklist = []string{"tick `<script>alert('code')</script>` and <script>alert('text')</script>"}
	r.Hosts[0].Steps[3].Hint = `<a href="javascript:alert(1)">fix</a>`
	r.Hosts[0].Steps[3].Error = "`</code><script>x</script>` failed"
	r.Variables["evil"] = `"><script>alert('var')</script>`
	r.Hosts[0].Transport = "<svg onload=alert(1)>"
	page := renderHTML(t, r)

	for _, bad := range []string{"<script", "<img", "<iframe", "<svg", "<a href", "<b>bold"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds live markup %q", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(&#39;stdout&#39;)&lt;/script&gt;",
		"&lt;img src=x onerror=&#34;alert(1)&#34;&gt;",
		"&lt;script&gt;alert(&#39;cmd&#39;)&lt;/script&gt;",
		"&lt;iframe src=//evil&gt;",
		"<code>&lt;script&gt;alert(&#39;code&#39;)&lt;/script&gt;</code>",
		"&lt;script&gt;alert(&#39;text&#39;)&lt;/script&gt;",
		"&lt;script&gt;alert(&#39;var&#39;)&lt;/script&gt;",
		"Phase 2 &lt;b&gt;bold&lt;/b&gt;",
		"&lt;svg onload=alert(1)&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not show %q as text", want)
		}
	}
}

// TestHTMLSelfContained: one file that works offline and from an e-mail
// attachment: no script, no external stylesheet, font, image or link.
func TestHTMLSelfContained(t *testing.T) {
	page := renderHTML(t, phase2Run())
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script`),
		regexp.MustCompile(`(?i)<link`),
		regexp.MustCompile(`(?i)<img`),
		regexp.MustCompile(`(?i)<iframe`),
		regexp.MustCompile(`(?i)\bsrc\s*=`),
		regexp.MustCompile(`(?i)\bhref\s*=`),
		regexp.MustCompile(`(?i)@import`),
		regexp.MustCompile(`(?i)url\(`),
		regexp.MustCompile(`(?i)https?://`),
	} {
		if loc := bad.FindStringIndex(page); loc != nil {
			t.Errorf("the page is not self-contained: %q at %d", page[loc[0]:loc[1]], loc[0])
		}
	}
	for _, want := range []string{"<!DOCTYPE html>", `<meta charset="utf-8">`, `name="viewport"`, "<style>", ":root {", "@media (max-width: 760px)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestHTMLContent(t *testing.T) {
	r := phase2Run()
	r.Hosts[0].Steps[1].ResumedFrom = "20260313T080000.000Z-phase2"
	page := renderHTML(t, r)
	for _, want := range []string{
		"<title>Failed · Phase 2: Slurm QoS for Moonlight/Sunshine · 20260314T092653.000Z-phase2</title>",
		`<header class="banner res-failed">`,
		// The tally: 2 of the 8 Korean lines are ticked.
		`<div class="card-value">2<span class="of"> / 8</span></div>`,
		`style="width: 25%"`,
		"2 of 8 ticked",
		// Per-host table with kind, status, duration, error and hint.
		"<h3>moonlight-ctl</h3>", "ssh koopark@10.0.0.5:22",
		`<code class="name">qos_limits</code>`, `<span class="kind">modify</span>`,
		`<span class="pill st-failed">failed</span>`, `<span class="pill st-changed">changed</span>`,
		`<span class="pill st-notrun">not run</span>`, `<span class="pill st-skipped">skipped</span>`,
		">2.3s<", "Slurm 22.05 knows no TRES", "Unknown option: MaxTRESPerUser=gpu=2",
		"<del>00:00:00</del> → <ins>60</ins>",
		// The first failure is the banner's headline.
		"Step qos_limits failed on moonlight-ctl:",
		// Evidence under <details>; a failed step's is unfolded.
		"<summary>Evidence: 2 commands, 2 notes</summary>",
		`<details class="evidence" open>`,
		`<span class="exit exit-bad">exit 1</span>`,
		"Name|Priority|MaxWall|MaxTRESPerUser",
		// The ticked checklist, Korean lines as they are.
		`<li class="item-ok">`, `<li class="item-fail">`, `<li class="item-open">`,
		"sacctmgr show qos로 현재 QoS 목록 확인", "테스트 작업 제출 (sbatch /tmp/test_moonlight_qos.sh)",
		"작업 QoS 확인 (scontrol show job &lt;JOBID&gt; | grep QOS)",
		"<summary>Evidence (2)</summary>",
		`not run: step &#34;qos_limits&#34; failed before it`,
		`evidence reused from run <code>20260313T080000.000Z-phase2</code>`,
		// Variables.
		"<th><code>qos_name</code></th><td><code>moonlight</code></td>",
		`<span class="muted">(empty)</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(page, `class="mark"`); n != 8 {
		t.Errorf("%d checklist marks, want 8", n)
	}
	if n := strings.Count(page, "<tr class=\"row "); n != 10 {
		t.Errorf("%d step rows, want 10", n)
	}
	// The single host is not repeated on every checklist line.
	if strings.Contains(page, `<span class="host-tag">`) {
		t.Error("a single-host run tags checklist lines with the host")
	}
}

// TestHTMLEveryShape renders the other results and shapes a record can
// have: success, plan, interrupted, a record written at the start of a run,
// an unreachable host among several, and an empty run.
func TestHTMLEveryShape(t *testing.T) {
	success := phase2Run()
	success.Result = "success"
	for _, s := range success.Hosts[0].Steps {
		s.Status, s.Error, s.Hint = report.StatusOK, "", ""
		s.Commands = append(s.Commands, cmd("true", 0, ""))
	}
	plan := phase2Run()
	plan.Mode, plan.Result = "plan", "planned"
	plan.Hosts[0].Steps[3].Status, plan.Hosts[0].Steps[3].Error = report.StatusPlanned, ""
	plan.Hosts[0].Steps[4].Status = report.StatusUnknown
	interrupted := sampleRun("apply")
	interrupted.Result = "interrupted"
	running := phase2Run()
	running.Result = "running"
	unreachable := sampleRun("apply")
	unreachable.Hosts = append(unreachable.Hosts, &report.Host{Name: "node03", Transport: "ssh node03:22",
		Error: "dial tcp 10.0.0.3:22: connection refused", Hint: "is sshd running on node03?",
		Steps: []*report.Step{{Name: "kernel", Kind: "check", Status: report.StatusNotRun, Summary: "host could not be reached", Checklist: []string{"Read the kernel"}}}})
	for name, tc := range map[string]struct {
		run  *report.Run
		want []string
	}{
		"success":     {success, []string{`res-success`, "10 steps on 1 host finished without a failure.", `8<span class="of"> / 8`, `style="width: 100%"`}},
		"plan":        {plan, []string{`res-planned`, "Plan only: 1 step would change or run on 1 host", "plan only: nothing was applied", `<span class="pill st-unknown">after apply</span>`}},
		"interrupted": {interrupted, []string{`res-interrupted`, "Interrupted", `<span class="pill st-interrupted">interrupted</span>`}},
		"running":     {running, []string{`res-running`, "cut off before it could write its final record"}},
		"unreachable": {unreachable, []string{"Host unreachable:", "connection refused", "is sshd running on node03?", `<span class="host-tag">node03</span>`}},
		"empty":       {&report.Run{SchemaVersion: 1, Runbook: "empty", Mode: "apply", Result: "success"}, []string{"This runbook has no checklist lines.", "<h1>empty</h1>"}},
	} {
		t.Run(name, func(t *testing.T) {
			page := renderHTML(t, tc.run)
			for _, want := range tc.want {
				if !strings.Contains(page, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
		})
	}
}
