package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
)

const (
	secretVar  = "s3cr3t-Passw0rd!" // a sensitive variable's value
	becomePW   = "b3come-pw-42"     // a become (sudo) password
	secretJSON = `tok"<&>en-9`      // one that JSON and HTML escape
)

// secretForms are the ways a secret can appear in a file: as is, escaped
// in JSON, escaped in HTML or XML.
func secretForms() []string {
	var out []string
	for _, s := range []string{secretVar, becomePW, secretJSON} {
		js, _ := json.Marshal(s)
		out = append(out, s, string(js[1:len(js)-1]), html.EscapeString(s), xmlEscape(s))
	}
	return out
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// leakyHost answers every command by echoing the secrets back, the way a
// careless script or an error message would.
type leakyHost struct{}

func (leakyHost) Run(_ context.Context, cmd transport.Command) (transport.Result, error) {
	res := transport.Result{
		Stdout:   []byte("connected with password " + secretVar + "\n"),
		Stderr:   []byte("[sudo] password for admin: " + becomePW + "\n"),
		ExitCode: 0,
		Started:  t0, Ended: t1,
	}
	if cmd.Become {
		res.ExitCode = 1
		return res, errors.New("sudo refused password " + becomePW + ": " + transport.ErrBecome.Error())
	}
	return res, nil
}
func (leakyHost) Describe() string { return "ssh admin@node01:22" }
func (leakyHost) Close() error     { return nil }

// secretRun builds a run the way the engine does: commands and notes
// through an evidence.Recorder with the run's Redactor, errors redacted
// where they are recorded. Some fields the engine fills from step kinds
// without redaction (summary, planned commands, changes, title, the host's
// hint) also carry the secrets: only Run.Redactor guards those.
func secretRun(t *testing.T, red *evidence.Redactor) *report.Run {
	t.Helper()
	rec := &evidence.Recorder{Transport: leakyHost{}, Redactor: red}
	ctx := context.Background()
	if _, err := rec.Run(ctx, transport.Command{Argv: []string{"mysql", "--password=" + secretVar, "-e", "select 1"}}); err != nil {
		t.Fatal(err)
	}
	_, err := rec.Run(ctx, transport.Command{Line: "echo " + becomePW + " | sudo -S true", Become: true})
	if err == nil {
		t.Fatal("the become command did not fail")
	}
	rec.Note("set the database password to %s", secretVar)

	step := &report.Step{
		Name: "db", Kind: "command", Title: "Set the password " + secretVar, Status: report.StatusFailed,
		Summary:   "will run: mysql --password=" + secretVar,
		Planned:   []string{"sudo mysqladmin password " + secretVar},
		Changes:   []steps.Change{{Field: "password", Current: "old-" + becomePW, Desired: secretVar}},
		Error:     red.Redact(err.Error()),
		Hint:      "check the sudo password " + becomePW,
		Commands:  rec.Commands(),
		Notes:     rec.Notes(),
		Checklist: []string{"set the database password to " + secretVar},
		Started:   t0, Ended: t1,
	}
	// Step outputs are kept as cty JSON; left unredacted here, as if the
	// engine had missed them, so Run.Redactor must find a secret that JSON
	// escapes inside the encoded document.
	val, _ := json.Marshal(map[string]string{"stdout": "token " + secretJSON + " and " + secretVar})
	step.Outputs = &report.Outputs{Type: json.RawMessage(`["object",{"stdout":"string"}]`), Value: json.RawMessage(val)}
	ok := &report.Step{Name: "read", Kind: "check", Status: report.StatusOK, Checklist: []string{"read it back"},
		Commands: rec.Commands()[:1], Notes: rec.Notes(), Started: t0, Ended: t1}
	return &report.Run{
		SchemaVersion: report.SchemaVersion, ID: "20260314T092653.000Z-secrets", Mode: "apply",
		Runbook: "secrets", File: "secrets.hcl", Started: t0, Ended: t1, Result: "failed",
		Variables: map[string]string{"db_password": "(sensitive)", "dsn": "admin:" + secretVar + "@db"},
		Hosts: []*report.Host{
			{Name: "node01", Transport: "ssh admin@node01:22", Steps: []*report.Step{ok, step}},
			{Name: "node02", Transport: "ssh admin@node02:22", Error: "sudo: password " + becomePW + " refused", Hint: "the become password " + becomePW + " is wrong",
				Steps: []*report.Step{{Name: "read", Kind: "check", Status: report.StatusNotRun, Summary: "host could not be reached"}}},
		},
	}
}

func TestReportsHoldNoSecret(t *testing.T) {
	red := evidence.NewRedactor(secretVar)
	red.Add(becomePW)
	red.Add(secretJSON)
	dir := filepath.Join(t.TempDir(), "runs", "20260314T092653.000Z-secrets")
	if err := report.Prepare(dir); err != nil {
		t.Fatal(err)
	}
	r := secretRun(t, red)
	r.Redactor = red
	if err := report.Write(dir, r); err != nil {
		t.Fatal(err)
	}
	metrics := filepath.Join(t.TempDir(), "secrets.prom")
	if err := report.WriteMetrics(metrics, r); err != nil {
		t.Fatal(err)
	}

	if m := mode(t, dir); m != 0o700 {
		t.Errorf("run dir mode %o, want 700", m)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		seen[e.Name()] = true
		if m := mode(t, path); m != 0o600 {
			t.Errorf("%s mode %o, want 600", e.Name(), m)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		assertNoSecret(t, e.Name(), b)
		if !bytes.Contains(b, []byte("(sensitive)")) {
			t.Errorf("%s shows no (sensitive) placeholder: was anything recorded?", e.Name())
		}
	}
	for _, want := range []string{"report.json", "checklist.md", "report.html", "junit.xml"} {
		if !seen[want] {
			t.Errorf("the run dir has no %s", want)
		}
	}
	b, _ := os.ReadFile(metrics)
	assertNoSecret(t, "metrics", b)

	// Re-rendered from the record, in every format.
	back, err := report.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range report.Formats {
		out, err := report.Render(back, f)
		if err != nil {
			t.Fatal(err)
		}
		assertNoSecret(t, "runbook report --format "+f, out)
	}
	// The run handed to Write keeps its own values: Write redacts a copy.
	if !strings.Contains(r.Hosts[0].Steps[1].Summary, secretVar) {
		t.Error("Write changed the caller's run")
	}
}

// TestSecretCheckCanFail: the same run written without a Redactor does
// leak (the fields the recorder does not see), so the test above would
// notice a renderer or a field that bypasses redaction.
func TestSecretCheckCanFail(t *testing.T) {
	red := evidence.NewRedactor(secretVar)
	red.Add(becomePW)
	red.Add(secretJSON)
	dir := t.TempDir()
	if err := report.Write(dir, secretRun(t, red)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"report.json", "checklist.md", "report.html", "junit.xml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(secretVar)) && !bytes.Contains(b, []byte(becomePW)) {
			t.Errorf("%s holds no secret even unredacted: the secret test proves nothing for it", name)
		}
	}
	js, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	if !bytes.Contains(js, []byte(`tok\"\u003c\u0026\u003een-9`)) {
		t.Errorf("unredacted report.json lacks the JSON-escaped secret in the step outputs: the check proves nothing for it")
	}
	// What the recorder saw is redacted even so.
	r := secretRun(t, red)
	for _, c := range r.Hosts[0].Steps[1].Commands {
		for _, s := range []string{c.Command, c.Stdout, c.Stderr, c.Error} {
			if strings.Contains(s, secretVar) || strings.Contains(s, becomePW) {
				t.Errorf("the recorder kept a secret: %q", s)
			}
		}
	}
}

func assertNoSecret(t *testing.T, name string, b []byte) {
	t.Helper()
	for _, s := range secretForms() {
		if i := bytes.Index(b, []byte(s)); i >= 0 {
			lo, hi := max(0, i-60), min(len(b), i+len(s)+20)
			t.Errorf("%s holds the secret %q: …%s…", name, s, b[lo:hi])
		}
	}
}
