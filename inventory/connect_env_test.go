package inventory

import (
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// TestConnectLocalHidesSecretEnv: the commands of a local host do not
// inherit the variable its become_password_env names, nor the ones the
// caller lists (a sensitive RUNBOOK_VAR_, another host's secret).
func TestConnectLocalHidesSecretEnv(t *testing.T) {
	opts := testOpts(t)
	inv := mustLoad(t, writeFile(t, t.TempDir(), "i.hcl", `
host "loc" {
  local               = true
  become_password_env = "RB_TEST_LOCAL_PW"
}
`), opts)
	t.Setenv("RB_TEST_LOCAL_PW", "local-become-s3cret")
	t.Setenv("RUNBOOK_VAR_pw", "sensitive-v4lue")
	t.Setenv("RB_TEST_OTHER_PW", "other-host-s3cret")
	t.Setenv("RB_TEST_PLAIN", "plain-value")
	tr, err := Connect(t.Context(), inv.Host("loc"), ConnectOptions{HideEnv: []string{"RUNBOOK_VAR_pw", "RB_TEST_OTHER_PW"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res, err := tr.Run(t.Context(), transport.Command{Argv: []string{"env"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("env: exit %d %v", res.ExitCode, err)
	}
	env := string(res.Stdout)
	for _, secret := range []string{"local-become-s3cret", "sensitive-v4lue", "other-host-s3cret"} {
		if strings.Contains(env, secret) {
			t.Errorf("a local command inherited %q", secret)
		}
	}
	if !strings.Contains(env, "RB_TEST_PLAIN=plain-value\n") {
		t.Errorf("the rest of the environment is missing:\n%s", env)
	}
}
