package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 15, finding 6: `plan` ran a --var's payload through a check
// step's command, on this machine for a runbook without hosts. A value
// that would change a command plan runs is now refused with exit 3
// before anything runs; a harmless value still plans, with the warning.
func TestPlanRefusesAValueThatWouldChangeACheckCommand(t *testing.T) {
	for _, c := range []struct{ name, command, payload string }{
		{"unquoted through a local", `"printf %s ${local.lx}"`, "a; touch %s"},
		{"shellquote inside quotes", `"printf %s \"${shellquote(var.x)}\""`, "$(touch %s)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			rb := filepath.Join(dir, "runbook.hcl")
			src := fmt.Sprintf(`runbook "lint_refusal" {}

variable "x" {
  type = string
}

locals {
  lx = "pre-${var.x}"
}

step "check" "probe" {
  command = %s
}
`, c.command)
			if err := os.WriteFile(rb, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			pwned := filepath.Join(dir, "pwned")
			r := runCLI(t, "plan", rb, "--state-dir", t.TempDir(), "--var", "x="+fmt.Sprintf(c.payload, pwned))
			if _, err := os.Stat(pwned); err == nil {
				t.Errorf("plan ran the payload: %s exists", pwned)
			}
			if r.code != exitInvalid || !strings.Contains(r.stderr, "Error: Variable value would change a command that plan runs") {
				t.Errorf("want exit %d and the refusal:\n%s", exitInvalid, r)
			}

			r = runCLI(t, "plan", rb, "--state-dir", t.TempDir(), "--var", "x=harmless")
			if r.code != exitOK || !strings.Contains(r.stderr, "Warning:") {
				t.Errorf("a harmless value: want exit %d with a warning:\n%s", exitOK, r)
			}
		})
	}
}
