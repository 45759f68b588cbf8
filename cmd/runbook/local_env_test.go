package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocalCommandsDoNotInheritSecrets: a step on a local host does not
// see the run's secrets in its environment, neither a sensitive
// variable's RUNBOOK_VAR_ nor the variable become_password_env names.
func TestLocalCommandsDoNotInheritSecrets(t *testing.T) {
	dir := t.TempDir()
	dump := filepath.Join(dir, "env")
	rb := writeRunbook(t, fmt.Sprintf(`
runbook "envdump" {
  title = "Dump the environment"
}

variable "pw" {
  type      = string
  sensitive = true
}

variable "plain" {
  type = string
}

step "command" "dump" {
  command = "env > %s"
}
`, dump))
	inv := filepath.Join(dir, "inventory.hcl")
	if err := os.WriteFile(inv, []byte(`
host "here" {
  local               = true
  become_password_env = "RB_CLI_TEST_BECOME_PW"
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RUNBOOK_VAR_pw", "sensitive-v4lue")
	t.Setenv("RUNBOOK_VAR_plain", "plain-value")
	t.Setenv("RB_CLI_TEST_BECOME_PW", "become-s3cret")
	r := runCLI(t, "apply", rb, "-i", inv, "--state-dir", t.TempDir(), "--auto-approve")
	if r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	env, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"sensitive-v4lue", "become-s3cret"} {
		if strings.Contains(string(env), secret) {
			t.Errorf("the local command inherited %q", secret)
		}
	}
	if !strings.Contains(string(env), "RUNBOOK_VAR_plain=plain-value\n") {
		t.Errorf("the rest of the environment is missing:\n%s", env)
	}
}
