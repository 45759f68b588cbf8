package main

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// diagRunbooks each make validate and plan print a diagnostic about a
// sensitive variable's value, in each way one can carry it: the value as
// given (a number variable given text, shown in the message and as the
// snippet of <RUNBOOK_VAR_pw> or the var file), a validation message that
// interpolates it, HCL's "with var.pw as …" and a function's message
// (`cannot convert "…" to number`), and a kind's message (`mode "…" is not
// an octal mode`).
var diagRunbooks = map[string]struct {
	src string
	// outOfContext: the message repeats the value, which is in no HCL
	// context of the diagnostic (a kind's own check).
	outOfContext bool
}{
	"number": {src: `
variable "pw" {
  type      = number
  sensitive = true
}
`},
	"validation": {src: `
variable "pw" {
  type      = string
  sensitive = true
  validation {
    condition     = length(var.pw) > 100
    error_message = "too short: ${var.pw}"
  }
}
`},
	"expression": {src: `
variable "pw" {
  type      = string
  sensitive = true
}

step "check" "x" {
  argv = ["echo", tonumber(var.pw)]
}

step "check" "y" {
  env     = { N = var.pw + 1 }
  command = "echo $N"
}
`},
	"kind": {outOfContext: true, src: `
variable "pw" {
  type      = string
  sensitive = true
}

step "file" "x" {
  path  = "/tmp/x"
  state = "directory"
  mode  = var.pw
}

step "check" "y" {
  argv    = ["true"]
  timeout = var.pw
}
`},
}

// TestDiagnosticsHideSensitiveValues: validate and plan print no value of
// a sensitive variable in a diagnostic, however it was given (issue 15:
// `with var.pw as "DiagSecret99"`, `cannot convert "DiagSecret99" to
// number` in CI logs).
func TestDiagnosticsHideSensitiveValues(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	secrets := []string{"DiagSecret99", `Diag'Sec"ret<&>99`, "multi\nline 'diag'", randomSecret(rng), randomSecret(rng)}
	for name, rb := range diagRunbooks {
		path := writeRunbook(t, `runbook "diag" {}`+"\n"+rb.src)
		for _, secret := range secrets {
			varFile := filepath.Join(t.TempDir(), "secret.hcl")
			quoted := hclwrite.TokensForValue(cty.StringVal(secret)).Bytes()
			if err := os.WriteFile(varFile, append([]byte("pw = "), quoted...), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, given := range []struct {
				how  string
				env  string
				args []string
			}{
				{how: "RUNBOOK_VAR_pw", env: secret},
				{how: "--var", args: []string{"--var", "pw=" + secret}},
				{how: "--var-file", args: []string{"--var-file", varFile}},
			} {
				if given.how == "--var-file" && !utf8.ValidString(secret) {
					continue // a var file is HCL, which is UTF-8
				}
				for _, cmd := range []string{"validate", "plan"} {
					t.Setenv("RUNBOOK_VAR_pw", given.env)
					if given.env == "" {
						os.Unsetenv("RUNBOOK_VAR_pw")
					}
					args := append([]string{cmd, path, "--state-dir", t.TempDir()}, given.args...)
					if cmd == "validate" {
						args = append([]string{cmd, path}, given.args...)
					}
					r := runCLI(t, args...)
					noCrash(t, r)
					if r.code != exitInvalid || !strings.Contains(r.stderr, "Error: ") {
						t.Errorf("%s, %s via %s: want a diagnostic and exit 3:\n%s", name, cmd, given.how, r)
						continue
					}
					if leak := secretLeak(secret, r.stdout+r.stderr); leak != "" {
						t.Errorf("%s, %s via %s: secret %q shows: %s\n%s", name, cmd, given.how, secret, leak, r.stderr)
					}
				}
			}
		}
	}
}
