package evidence_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/transport"
)

// quoteSecret is issue 15's: a single quote, a double quote and the
// characters HTML and JSON escape.
const quoteSecret = `Sup3r'Secr"et<&>X`

// TestRedactorFindsEscapedForms: a secret is found however a rendering
// escaped it, not only as it was given.
func TestRedactorFindsEscapedForms(t *testing.T) {
	red := evidence.NewRedactor(quoteSecret)
	js, _ := json.Marshal(quoteSecret)
	for what, text := range map[string]string{
		"as is":                  "pw=" + quoteSecret + ";",
		"shell-quoted":           "mysql " + transport.ShellQuote("--password="+quoteSecret),
		"shell-quoted argv":      transport.JoinArgv([]string{"sh", "-c", "echo $1", "sh", quoteSecret}),
		"quoted twice (sh -c)":   transport.ShellQuote(transport.JoinArgv([]string{"echo", quoteSecret})),
		"JSON":                   `{"pw":` + string(js) + `}`,
		"Go %q":                  fmt.Sprintf("cannot convert %q to number", quoteSecret),
		"%q of a command line":   fmt.Sprintf("timeout before %q", transport.JoinArgv([]string{"echo", quoteSecret})),
		"HTML":                   "<td>Sup3r&#39;Secr&#34;et&lt;&amp;&gt;X</td>",
		"JSON of a command line": mustJSON(transport.JoinArgv([]string{"echo", quoteSecret})),
	} {
		got := red.Redact(text)
		if !strings.Contains(got, evidence.Redacted) {
			t.Errorf("%s: %q not redacted: %q", what, text, got)
		}
		for _, part := range []string{"Sup3r", "Secr", "et<&>X", "et\\u003c"} {
			if strings.Contains(got, part) {
				t.Errorf("%s: %q keeps %q of the secret", what, got, part)
			}
		}
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestRedactorFindsTrimmedSecret: a message that trims a command's output
// ("exited 3: " + stderr) trims a secret at its end too; what is left is
// still hidden.
func TestRedactorFindsTrimmedSecret(t *testing.T) {
	const secret = "\"59y\xda~WlI\n"
	red := evidence.NewRedactor(secret)
	for _, text := range []string{
		"exited 3: failed: " + strings.TrimSpace(secret),
		"exited 3: failed: " + strings.ToValidUTF8(strings.TrimSpace(secret), "\uFFFD") + "\n\n$ sh -c …",
	} {
		if got := red.Redact(text); strings.Contains(got, "59y") {
			t.Errorf("Redact(%q) = %q", text, got)
		}
	}
}

// TestRedactorOverlappingSecrets: two secrets sharing a stretch of text
// are both hidden whole, whichever is replaced first.
func TestRedactorOverlappingSecrets(t *testing.T) {
	red := evidence.NewRedactor("alpha-bravo", "bravo-charlie")
	if got := red.Redact("x alpha-bravo-charlie y"); got != "x "+evidence.Redacted+" y" {
		t.Errorf("Redact = %q", got)
	}
	if got := red.Redact("nothing here"); got != "nothing here" {
		t.Errorf("Redact changed a text without secrets: %q", got)
	}
	var none *evidence.Redactor
	if got := none.Redact("alpha-bravo"); got != "alpha-bravo" {
		t.Errorf("a nil Redactor changed the text: %q", got)
	}
	if got := evidence.NewRedactor("ab", "").Redact("ab"); got != "ab" {
		t.Errorf("a secret shorter than 3 was redacted: %q", got)
	}
}

// TestRedactorMaskKeepsOffsets: Mask hides a secret byte for byte and
// keeps its newlines, so ranges and line numbers into the text still hold.
func TestRedactorMaskKeepsOffsets(t *testing.T) {
	secret := "line1\nlíne2\xff"
	red := evidence.NewRedactor(secret)
	text := "pw = \"" + secret + "\"\nnext = 1\n"
	got := red.Mask(text)
	if len(got) != len(text) || strings.Count(got, "\n") != strings.Count(text, "\n") {
		t.Fatalf("Mask moved bytes or lines: %q → %q", text, got)
	}
	if strings.Contains(got, "line1") || strings.Contains(got, "líne2") || !strings.HasSuffix(got, "\"\nnext = 1\n") {
		t.Errorf("Mask = %q", got)
	}
}

// TestRecorderRedactsQuotedArgv: a secret with a single quote in argv is
// redacted in the recorded command line (issue 15: quoting had rewritten
// its quote before redaction looked, and the whole secret was recorded).
func TestRecorderRedactsQuotedArgv(t *testing.T) {
	r := &evidence.Recorder{Transport: nop{}, Redactor: evidence.NewRedactor(quoteSecret)}
	ctx := context.Background()
	r.Run(ctx, transport.Command{Argv: []string{"sh", "-c", `echo "$1"`, "sh", quoteSecret}})
	r.Run(ctx, transport.Command{Argv: []string{"mysql", "--password=" + quoteSecret}, Become: true, BecomeUser: "db"})
	r.Run(ctx, transport.Command{Line: "echo " + transport.ShellQuote(quoteSecret)})
	for _, c := range r.Commands() {
		if strings.Contains(c.Command, "Sup3r") || strings.Contains(c.Command, "Secr") || !strings.Contains(c.Command, evidence.Redacted) {
			t.Errorf("recorded command %q shows the secret", c.Command)
		}
	}
}

// echo answers every command with out as its stdout.
type echo struct{ out []byte }

func (e echo) Run(context.Context, transport.Command) (transport.Result, error) {
	return transport.Result{Stdout: e.out}, nil
}
func (echo) Describe() string { return "echo" }
func (echo) Close() error     { return nil }

// TestExcerptRedactsBeforeCut: output longer than ExcerptLimit is cut in
// the middle; a secret across either end of the cut is hidden whole, not
// redacted after the cut left part of it (issue 15: 19 of 21 characters
// were kept).
func TestExcerptRedactsBeforeCut(t *testing.T) {
	const secret = "cutSecret-0123456789z" // 21 characters
	half := evidence.ExcerptLimit / 2
	for _, size := range []int{evidence.ExcerptLimit + 64, 3 * evidence.ExcerptLimit} {
		// The secret straddles where the head ends and where the tail
		// begins, at every split of its characters.
		for split := 1; split < len(secret); split++ {
			out := bytes.Repeat([]byte{'.'}, size)
			copy(out[half-split:], secret)
			copy(out[size-half-split:], secret)
			r := &evidence.Recorder{Transport: echo{out}, Redactor: evidence.NewRedactor(secret)}
			r.Run(context.Background(), transport.Command{Argv: []string{"cat", "big"}})
			got := r.Commands()[0].Stdout
			if !strings.Contains(got, "bytes cut") {
				t.Fatalf("size %d: the output was not cut", size)
			}
			for n := 4; n < len(secret); n++ {
				if strings.Contains(got, secret[:n]) || strings.Contains(got, secret[len(secret)-n:]) {
					t.Errorf("size %d, secret split %d|%d at the cut: %d of its %d characters kept", size, split, len(secret)-split, n, len(secret))
					break
				}
			}
		}
	}
}
