package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/report"
)

const checklistPhase2File = "../../runbooks/phase2.hcl"

func checklistItems(t *testing.T, args ...string) []report.BlankItem {
	t.Helper()
	r := runCLI(t, append([]string{"checklist"}, append(args, "--json")...)...)
	if r.code != exitOK {
		t.Fatalf("want exit 0:\n%s", r)
	}
	var doc struct {
		Items []report.BlankItem `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	return doc.Items
}

// TestChecklistProofCommands: each line names the commands its step runs,
// where they are known before any host is contacted.
func TestChecklistProofCommands(t *testing.T) {
	items := checklistItems(t, checklistPhase2File, "--lang", "ko", "--var", "qos_name=sunshine")
	byStep := map[string][]string{}
	for _, it := range items {
		byStep[it.Step] = it.Commands
	}
	for step, want := range map[string][]string{
		// A check: its command line.
		"qos_list": {"sacctmgr -P show qos format=Name,Priority,MaxWall,MaxTRESPerUser"},
		// A create: its probe, then the change, with sudo (become = true).
		"qos": {"sacctmgr -n -P show qos sunshine format=Name", "sudo sacctmgr -i add qos sunshine"},
		// Steps whose name comes from step.qos are only known on a host.
		"qos_limits": nil,
	} {
		if got := byStep[step]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s commands = %q, want %q", step, got, want)
		}
	}
	if got := byStep["gpu_test"]; len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), "sbatch --parsable --chdir=DIR /tmp/test_moonlight_qos.sh") {
		t.Errorf("gpu_test commands = %q", got)
	}
	if items[0].Text != "sacctmgr show qos로 현재 QoS 목록 확인" || items[0].Proof != "List the current QoS" {
		t.Errorf("first item = %+v", items[0])
	}

	// Markdown lists a step's commands once, under its first line.
	r := runCLI(t, "checklist", checklistPhase2File)
	for _, want := range []string{
		"- [ ] run `sudo sacctmgr add qos moonlight`\n  - proof: step `qos` (Create the moonlight QoS)\n    - `sacctmgr -n -P show qos moonlight format=Name`\n    - `sudo sacctmgr -i add qos moonlight`\n",
		"  - proof: step `gpu_test` (Submit the test job and wait for it), commands as above\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("checklist lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestChecklistRedactsSensitive: a sensitive variable in a step's command
// line, title or checklist line is not printed.
func TestChecklistRedactsSensitive(t *testing.T) {
	const secret = "pa55-w0rd-xyz"
	path := writeRunbook(t, `
runbook "secret" {}

variable "token" {
  type      = string
  sensitive = true
}

step "check" "login" {
  title     = "Log in with ${var.token}"
  checklist = "log in with ${var.token}"
  argv      = ["curl", "-H", "Authorization: ${var.token}", "http://localhost/"]
}
`)
	for _, format := range []string{"md", "json"} {
		r := runCLI(t, "checklist", path, "--var", "token="+secret, "--format", format)
		if r.code != exitOK {
			t.Fatalf("want exit 0:\n%s", r)
		}
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("--format %s prints the secret:\n%s", format, r.stdout)
		}
		if !strings.Contains(r.stdout, "Authorization: (sensitive)") {
			t.Errorf("--format %s lacks the redacted command:\n%s", format, r.stdout)
		}
	}
}
