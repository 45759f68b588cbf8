package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// secretRenderings are the ways a secret can show in an artefact: as it
// is, coerced to valid UTF-8 (as records and JSON hold it), normalised
// (as HCL holds a string), shell-quoted or not (in a command line), and
// then as it is or escaped as a JSON or Go string, HTML or XML would
// write it (a command line in report.json is both). Written here
// independently of the redactor's own list, so that a form it misses is
// caught.
func secretRenderings(secret string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range []string{secret, strings.ToValidUTF8(secret, "\uFFFD"), coerceEachByte(secret), norm.NFC.String(secret)} {
		for _, inner := range []string{s, strings.ReplaceAll(s, "'", `'\''`)} {
			js, _ := json.Marshal(inner)
			var jsPlain bytes.Buffer
			enc := json.NewEncoder(&jsPlain)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(inner)
			goQuoted := strconv.Quote(inner)
			var x bytes.Buffer
			_ = xml.EscapeText(&x, []byte(inner))
			for _, f := range []string{
				inner,
				string(js[1 : len(js)-1]),
				strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(jsPlain.String(), "\n"), `"`), `"`),
				goQuoted[1 : len(goQuoted)-1],
				html.EscapeString(inner),
				x.String(),
			} {
				if len(f) >= 3 && !seen[f] {
					seen[f] = true
					out = append(out, f)
				}
			}
		}
	}
	return out
}

// coerceEachByte replaces each invalid byte with U+FFFD, as encoding/json
// does.
func coerceEachByte(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r) // ranging yields U+FFFD for each invalid byte
	}
	return b.String()
}

// secretLeak reports the first rendering of secret that text holds, with
// some context; "" when there is none.
func secretLeak(secret, text string) string {
	for _, f := range secretRenderings(secret) {
		if i := strings.Index(text, f); i >= 0 {
			return fmt.Sprintf("%q at …%q…", f, text[max(0, i-60):min(len(text), i+len(f)+20)])
		}
	}
	return ""
}

// randomSecret draws a secret from the whole byte range but NUL (which no
// environment variable or argument can hold), weighted towards what
// quoting and escaping treat specially. Four letters or digits among
// them keep it from being ordinary text (a run of spaces, "\n  ") that
// every JSON file holds for its own reasons.
func randomSecret(rng *rand.Rand) string {
	const special = "'\"\\\n\r\t<>&$%{}`;|*()#!= ~/"
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 8+rng.Intn(13))
	for i := range b {
		switch rng.Intn(3) {
		case 0:
			b[i] = special[rng.Intn(len(special))]
		case 1:
			b[i] = byte(1 + rng.Intn(255))
		default:
			b[i] = alnum[rng.Intn(len(alnum))]
		}
	}
	for _, i := range rng.Perm(len(b))[:4] {
		b[i] = alnum[rng.Intn(len(alnum))]
	}
	return string(b)
}

// redactionRunbook puts var.pw through every way a value reaches a host
// and comes back: argv, a shell line with shellquote(), env, stdin, JSON
// output, output long enough to be cut (the secret across the cut), the
// file kinds' content and diffs, a title, checklist lines, a failing
// command's stderr, an expression that fails in apply on a value it read
// (`cannot convert "…" to number`) and an assertion's message. @DIR@ is
// a scratch directory; @NAME@ a runbook name of this test process's own,
// so that two test runs at once don't meet at the run lock.
const redactionRunbook = `
runbook "@NAME@" {}

variable "pw" {
  type      = string
  sensitive = true
}

step "check" "argv" {
  title     = "Echo ${var.pw}"
  argv      = ["sh", "-c", "printf 'out %s\\n' \"$1\"; printf 'err %s\\n' \"$1\" >&2", "sh", var.pw]
  checklist = "Saw ${var.pw}"
}

step "check" "line" {
  command   = "printf '%s\\n' ${shellquote(var.pw)}"
  checklist = ["Quoted ${var.pw}", "Twice"]
}

step "check" "env" {
  env     = { PW = var.pw }
  command = "printf 'env %s\\n' \"$PW\"; printf '%s' \"$PW\" >&2"
}

step "check" "stdin" {
  argv  = ["cat"]
  stdin = var.pw
}

step "check" "json" {
  argv  = ["printf", "%s", jsonencode({ pw = var.pw })]
  parse = "json"
}

step "check" "big" {
  argv = ["sh", "-c", "head -c 4090 /dev/zero | tr '\\000' x; printf '%s' \"$1\"; head -c 9000 /dev/zero | tr '\\000' y", "sh", var.pw]
}

step "copy" "copied" {
  dest    = "@DIR@/copied"
  content = "pw=${var.pw}\n"
}

step "template" "templated" {
  dest   = "@DIR@/templated"
  source = "pw.tftpl"
  vars   = { pw = var.pw }
}

step "line" "lined" {
  path   = "@DIR@/lines"
  line   = "pw=${regex_replace(var.pw, "[\r\n]", " ")}"
  create = true
}

step "command" "fails" {
  title = "Fail with ${var.pw}"
  argv  = ["sh", "-c", "printf 'failed: %s\\n' \"$1\" >&2; exit 3", "sh", var.pw]
}

step "command" "emit" {
  argv  = ["cat"]
  stdin = var.pw
}

step "check" "convert" {
  argv = ["echo", tonumber(step.emit.stdout)]
}

step "assert" "holds_not" {
  condition     = !step.copied.changed
  error_message = "the assertion saw ${var.pw}"
}
`

// TestRedactionProperty: random secrets over the whole byte range, given
// as a sensitive variable, show in no artefact of a real run on this
// host: validate, checklist, plan (terminal, --show-commands, --json,
// --out), apply (-v, --json, the metrics file) and every file of every
// run record. Issue 15: a secret holding ' leaked in full, because
// redaction ran on command lines already quoted.
func TestRedactionProperty(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	secrets := []string{
		`Sup3r'Secr"et<&>X`,                // issue 15's
		"pa$$w0rd%{x}${y}\\'\"",            // template and shell syntax
		"multi\nline 'se\tcret'\r\n",       // control characters
		"n\xffon-\xfeutf8'\x80x",           // invalid UTF-8
		"cafe\u0301-'<\u2028>",             // not NFC; a JSON line separator
		`--password='a"b\c'`,               // an option with quotes
		"\x01\x02\x1b[31mred'\x7f",         // terminal escapes
		strings.Repeat("'", 3) + "quotes3", // quotes only, first
		"\"59y\xda~\x14WlI\n",              // a message trims the final newline
	}
	n := 8
	if testing.Short() {
		n = 2
	}
	for range n {
		secrets = append(secrets, randomSecret(rng))
	}
	for i, secret := range secrets {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			checkRunHidesSecret(t, secret)
		})
	}
}

func checkRunHidesSecret(t *testing.T, secret string) {
	t.Setenv("RUNBOOK_VAR_pw", secret)
	dir := t.TempDir()
	for _, f := range []string{"copied", "templated", "lines"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("old\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rb := writeRunbook(t, strings.NewReplacer("@DIR@", dir, "@NAME@", "redaction-"+uniqueName(t)).Replace(redactionRunbook))
	if err := os.WriteFile(filepath.Join(filepath.Dir(rb), "pw.tftpl"), []byte("pw=${pw}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state, out := t.TempDir(), t.TempDir()
	planFile, metrics := filepath.Join(out, "saved.plan"), filepath.Join(out, "run.prom")

	texts := map[string]string{}
	for _, args := range [][]string{
		{"validate", rb},
		{"checklist", rb},
		{"checklist", rb, "--json"},
		{"plan", rb, "--state-dir", state, "--show-commands", "-v", "--out", planFile},
		{"plan", rb, "--state-dir", state, "--json"},
		{"apply", rb, "--state-dir", state, "--auto-approve", "--keep-going", "-v", "--metrics-file", metrics},
		{"apply", rb, "--state-dir", state, "--auto-approve", "--keep-going", "--json"},
	} {
		r := runCLI(t, args...)
		noCrash(t, r)
		what := strings.Join(args[:min(len(args), 3)], " ")
		texts[what+": stdout"], texts[what+": stderr"] = r.stdout, r.stderr
		if strings.HasPrefix(args[0], "apply") && r.code != exitFailed {
			t.Errorf("%s: exit %d, want 1 (a step fails on purpose):\n%s", what, r.code, r)
		}
	}
	readRunArtefacts(t, texts, state, planFile, metrics)

	// The secret did reach the host and come back, so its absence above
	// means it was redacted, not lost.
	if b, err := os.ReadFile(filepath.Join(dir, "copied")); err != nil || string(b) != "pw="+norm.NFC.String(secret)+"\n" {
		t.Errorf("the copy step wrote %q (%v): the secret did not go through", b, err)
	}
	sawRedacted := false
	for what, text := range texts {
		if leak := secretLeak(secret, text); leak != "" {
			t.Errorf("secret %q shows in %s: %s", secret, what, leak)
		}
		sawRedacted = sawRedacted || strings.Contains(text, "(sensitive)")
	}
	if !sawRedacted {
		t.Errorf("no artefact shows (sensitive): nothing was redacted, so nothing was checked")
	}
	if !utf8.ValidString(texts[filepath.Join(filepath.Dir(planFile), "saved.plan")]) {
		t.Errorf("the plan file is not valid UTF-8")
	}
}

// readRunArtefacts adds to texts every file of the run records under
// state (at least every rendering of 3 runs) and the extra files, by path.
func readRunArtefacts(t *testing.T, texts map[string]string, state string, extra ...string) {
	t.Helper()
	var files []string
	filepath.Walk(state, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 3*4 {
		t.Errorf("%d files in the run records, want every rendering of 3 runs: %q", len(files), files)
	}
	for _, f := range append(files, extra...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		texts[f] = string(b)
	}
}
