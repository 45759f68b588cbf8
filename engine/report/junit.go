package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"github.com/runbook-hpc/runbook/steps"
	"strings"
	"time"
)

// JUnit renders the run as JUnit XML (junit.xml) for CI systems: one
// <testsuite> per host, one <testcase> per checklist item (name = the line,
// classname = runbook.step). An item is
//
//   - passed when it is ticked (its evidence in <system-out>);
//   - a <failure> when its step failed or was interrupted, or its host could
//     not be reached (message: the error and the hint), or when its step
//     succeeded in an apply but left no evidence (type "no_evidence");
//   - <skipped> otherwise: when = false, not run after an earlier failure,
//     or a plan.
//
// So that a failure is never invisible, a failed step without checklist
// lines, and an unreachable host, get a testcase of their own, and a run
// that failed with no failing testcase yet gets one named "run".
//
// The document is valid against Jenkins xUnit's junit-10.xsd, the schema
// CI systems' JUnit readers follow (testdata/junit-10.xsd; the test runs
// xmllint --schema).
func JUnit(r *Run) ([]byte, error) {
	doc := junitSuites{Name: r.Runbook, Time: seconds(r.Started, r.Ended)}
	multi := len(r.Hosts) > 1
	for _, h := range r.Hosts {
		s := junitSuite{
			Name:      r.Runbook + " on " + h.Name,
			Hostname:  h.Name,
			Timestamp: junitTime(r.Started),
			Properties: &junitProperties{Props: []junitProperty{
				{"run_id", r.ID}, {"mode", r.Mode}, {"result", r.Result}, {"file", r.File}, {"transport", h.Transport},
			}},
		}
		var total time.Duration
		failedCase := map[string]bool{}
		for _, st := range h.Steps {
			if !st.Started.IsZero() && st.Ended.After(st.Started) {
				total += st.Ended.Sub(st.Started)
			}
		}
		s.Time = fmt.Sprintf("%.3f", total.Seconds())
		for _, it := range r.Checklist {
			if it.Host != h.Name {
				continue
			}
			st := stepNamed(h, it.Step)
			c := junitCase{Name: it.Text, Classname: r.Runbook + "." + it.Step}
			if multi {
				c.Name += " [" + h.Name + "]"
			}
			if st != nil {
				c.Time = seconds(st.Started, st.Ended)
			}
			switch {
			case it.Ticked:
				c.SystemOut = strings.Join(it.Evidence, "\n")
			case st != nil && (st.Status == StatusFailed || st.Status == StatusInterrupted):
				c.Failure = stepFailure(st)
				failedCase[st.Name] = true
			case h.Error != "":
				c.Failure = hostFailure(h)
			case st != nil && st.Succeeded() && r.Mode == "apply":
				c.Failure = &junitResult{Type: "no_evidence", Message: "not ticked: " + it.Reason,
					Text: "The step succeeded but gathered no evidence, so the line cannot be ticked."}
			default:
				c.Skipped = &junitResult{Message: it.Reason}
			}
			s.add(c)
		}
		for _, st := range h.Steps {
			if (st.Status == StatusFailed || st.Status == StatusInterrupted) && !failedCase[st.Name] {
				name := "step " + st.Name
				if st.Title != "" && st.Title != steps.DefaultTitle(st.Kind, st.Name) {
					name += ": " + st.Title
				}
				if multi {
					name += " [" + h.Name + "]"
				}
				s.add(junitCase{Name: name, Classname: r.Runbook + "." + st.Name, Time: seconds(st.Started, st.Ended), Failure: stepFailure(st)})
			}
		}
		if h.Error != "" && s.Failures == 0 {
			s.add(junitCase{Name: "reach host " + h.Name, Classname: r.Runbook + ".host", Failure: hostFailure(h)})
		}
		doc.add(s)
	}
	if doc.Failures == 0 && (r.Result == "failed" || r.Result == "interrupted" || r.Result == "running") {
		msg := "the run " + r.Result
		if r.Result == "running" {
			msg = "the run has not written its final record: it is still running, or it was killed"
		}
		s := junitSuite{Name: r.Runbook, Timestamp: junitTime(r.Started), Time: doc.Time}
		s.add(junitCase{Name: "run", Classname: r.Runbook, Failure: &junitResult{Type: r.Result, Message: msg}})
		doc.add(s)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// junitSuites is the root. It has no skipped count: the schema CI systems
// validate against (Jenkins xUnit's junit-10.xsd) has none there, only on
// each <testsuite>.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	Hostname   string           `xml:"hostname,attr,omitempty"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Time       string           `xml:"time,attr"`
	Timestamp  string           `xml:"timestamp,attr,omitempty"`
	Properties *junitProperties `xml:"properties,omitempty"`
	Cases      []junitCase      `xml:"testcase"`
}

type junitProperties struct {
	Props []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string       `xml:"name,attr"`
	Classname string       `xml:"classname,attr"`
	Time      string       `xml:"time,attr"`
	Failure   *junitResult `xml:"failure,omitempty"`
	Skipped   *junitResult `xml:"skipped,omitempty"`
	SystemOut string       `xml:"system-out,omitempty"`
}

type junitResult struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func (s *junitSuite) add(c junitCase) {
	if c.Time == "" {
		c.Time = "0.000"
	}
	s.Tests++
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Skipped != nil:
		s.Skipped++
	}
	s.Cases = append(s.Cases, c)
}

func (d *junitSuites) add(s junitSuite) {
	d.Tests += s.Tests
	d.Failures += s.Failures
	d.Errors += s.Errors
	d.Suites = append(d.Suites, s)
}

func stepNamed(h *Host, name string) *Step {
	for _, s := range h.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// stepFailure carries the cause: the step's error and hint in the
// message, and the commands it ran with their output in the body.
func stepFailure(s *Step) *junitResult {
	msg := "step " + s.Name + " " + s.Status + ": " + s.Error
	if s.Hint != "" {
		msg += " (hint: " + s.Hint + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "error: %s\n", s.Error)
	if s.Hint != "" {
		fmt.Fprintf(&b, "hint: %s\n", s.Hint)
	}
	for _, c := range s.Commands {
		fmt.Fprintf(&b, "\n$ %s\nexit %d", c.Command, c.ExitCode)
		if c.Error != "" {
			fmt.Fprintf(&b, " (%s)", c.Error)
		}
		b.WriteString("\n")
		if out := strings.TrimRight(c.Stdout, "\n"); out != "" {
			fmt.Fprintf(&b, "stdout:\n%s\n", out)
		}
		if out := strings.TrimRight(c.Stderr, "\n"); out != "" {
			fmt.Fprintf(&b, "stderr:\n%s\n", out)
		}
	}
	for _, n := range s.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return &junitResult{Type: s.Status, Message: msg, Text: b.String()}
}

func hostFailure(h *Host) *junitResult {
	msg := "host " + h.Name + " could not be reached: " + h.Error
	text := "error: " + h.Error + "\n"
	if h.Hint != "" {
		msg += " (hint: " + h.Hint + ")"
		text += "hint: " + h.Hint + "\n"
	}
	return &junitResult{Type: "unreachable", Message: msg, Text: text}
}

func seconds(from, to time.Time) string {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return "0.000"
	}
	return fmt.Sprintf("%.3f", to.Sub(from).Seconds())
}

func junitTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}
