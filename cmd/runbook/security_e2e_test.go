//go:build e2e

// Security, end to end on the testbed: values cannot change commands,
// secrets stay out of every artefact and of remote process arguments,
// host keys are checked strictly, and records are private.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
)

func e2eRandom(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// hclString quotes s as an HCL string literal.
func hclString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "${", "$${", "%{", "%%{")
	return `"` + r.Replace(s) + `"`
}

// injectionPayloads try every way a value could escape its argument.
// Each touches its own file when it gets to run.
func injectionPayloads(prefix string) (payloads, markers []string) {
	forms := []string{
		"; touch %s",
		"$(touch %s)",
		"`touch %s`",
		"a\ntouch %s",
		"'; touch %s; '",
		"\"; touch %s; \"",
		"| touch %s",
		"&& touch %s #",
		"\\'; touch %s #",
		"x' \"$(touch %s)\" 'y",
		"-o ProxyCommand=touch %s",
		"$IFS;touch$IFS%s",
	}
	for i, f := range forms {
		m := fmt.Sprintf("%s-%d", prefix, i)
		payloads = append(payloads, fmt.Sprintf(f, m))
		markers = append(markers, m)
	}
	return payloads, markers
}

// The generic kinds pass the payload through argv, shellquote(), env,
// stdin, creates, unless and a probe's output into later steps; each
// assert proves the command saw the payload as one intact value.
const injectionRunbook = `
runbook %q { hosts = %q }

variable "payload" {
  type = string
}

step "check" "argv" {
  become = %[3]v
  argv   = ["printf", "%%s", var.payload]
}

step "assert" "argv_intact" {
  condition     = step.argv.stdout == var.payload
  error_message = "argv changed the value"
}

step "check" "shellquote" {
  become  = %[3]v
  command = "printf %%s ${shellquote(var.payload)}"
}

step "assert" "shellquote_intact" {
  condition     = step.shellquote.stdout == var.payload
  error_message = "shellquote changed the value"
}

step "check" "env" {
  become  = %[3]v
  env     = { P = var.payload }
  command = "printf %%s \"$P\""
}

step "assert" "env_intact" {
  condition     = step.env.stdout == var.payload
  error_message = "env changed the value"
}

step "check" "stdin" {
  argv  = ["cat"]
  stdin = var.payload
}

step "assert" "stdin_intact" {
  condition     = step.stdin.stdout == var.payload
  error_message = "stdin changed the value"
}

step "command" "creates" {
  become  = %[3]v
  argv    = ["true"]
  creates = "/nonexistent/${var.payload}"
}

step "command" "unless" {
  become = %[3]v
  argv   = ["true"]
  unless = "test -e ${shellquote(var.payload)}"
}

step "command" "argv_command" {
  become = %[3]v
  argv   = ["printf", "%%s", var.payload]
}

step "assert" "argv_command_intact" {
  condition     = step.argv_command.stdout == var.payload
  error_message = "argv (command kind) changed the value"
}

step "check" "probe" {
  argv = ["printf", "%%s", var.payload]
}

step "check" "from_probe_argv" {
  become = %[3]v
  argv   = ["printf", "%%s", step.probe.stdout]
}

step "check" "from_probe_quoted" {
  become  = %[3]v
  command = "printf %%s ${shellquote(step.probe.stdout)}"
}

step "check" "from_host_vars" {
  become = %[3]v
  # try(): validation sees no host, hence no host.vars.payload
  argv = ["printf", "%%s", try(host.vars.payload, "")]
}

step "assert" "probe_intact" {
  condition     = step.from_probe_argv.stdout == var.payload && step.from_probe_quoted.stdout == var.payload && step.from_host_vars.stdout == var.payload
  error_message = "a probe's output or a host variable changed on its way into a command"
}
`

// Every Slurm kind's name-like attributes, fed the payload: validation
// must refuse all of them before any command is built.
const slurmInjectionRunbook = `
runbook %q { hosts = "ctl1" }

variable "payload" {
  type = string
}

step "create" "create_name" {
  entity = "qos"
  name   = var.payload
}

step "create" "create_account" {
  entity  = "user"
  name    = "koopark"
  account = var.payload
}

step "modify" "modify_name" {
  entity = "qos"
  name   = var.payload
  set    = { Priority = 1 }
}

step "modify" "modify_value" {
  entity = "qos"
  name   = "normal"
  set    = { MaxWall = var.payload }
}

step "verify" "verify_name" {
  entity = "qos"
  name   = var.payload
  expect = { Priority = 1 }
}

step "verify" "verify_users" {
  entity       = "association"
  account      = "hpc-users"
  users        = [var.payload]
  qos_includes = ["normal"]
}

step "grant" "grant_account" {
  account = var.payload
  qos     = "normal"
}

step "grant" "grant_qos" {
  account = "hpc-users"
  qos     = var.payload
}

step "test_job" "job_qos" {
  qos = var.payload
}

step "test_job" "job_partition" {
  partition = var.payload
}

step "test_job" "job_user" {
  user = var.payload
}

step "test_job" "job_gres" {
  gres = var.payload
}

step "test_job" "job_output" {
  output = var.payload
}

step "sacct_check" "sacct_job" {
  job_id = var.payload
}

step "sacct_check" "sacct_qos" {
  qos = var.payload
}

step "sacct_check" "sacct_user" {
  qos  = "normal"
  user = var.payload
}

step "preflight" "preflight_partition" {
  partition = var.payload
}

step "preflight" "preflight_qos" {
  qos = var.payload
}

step "prove_limit" "prove_qos" {
  qos           = var.payload
  partition     = "viz"
  jobs          = 2
  expect_reason = "QOSMaxGRESPerUser"
}

step "prove_limit" "prove_reason" {
  qos           = "normal"
  partition     = "viz"
  jobs          = 2
  expect_reason = var.payload
}
`

const slurmInjectionSteps = 20

// TestSecurityInjection feeds shell payloads through every kind, over SSH
// (with and without sudo) and locally, and checks that nothing extra ran.
func TestSecurityInjection(t *testing.T) {
	e2eRequireTestbed(t)
	prefix := "/tmp/pwned-" + e2eRandom(4)
	payloads, markers := injectionPayloads(prefix)
	t.Cleanup(func() {
		left, _ := filepath.Glob(prefix + "-*")
		for _, f := range left {
			os.Remove(f)
		}
	})
	checkNoneRan := func(t *testing.T) {
		t.Helper()
		time.Sleep(300 * time.Millisecond)
		for i, m := range markers {
			if e2eExists(m) {
				t.Errorf("payload %q ran: %s exists", payloads[i], m)
				os.Remove(m)
			}
		}
	}
	// The payload also comes in as a host variable of the inventory.
	inventory := func(t *testing.T, payload string) string {
		src, err := os.ReadFile(e2eInventory)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(src), "vars = { job_user = \"koopark\", has_nvidia_smi = false }",
			"vars = { job_user = \"koopark\", has_nvidia_smi = false, payload = "+hclString(payload)+" }")
		return e2eWrite(t, "inventory.hcl", s)
	}

	for _, target := range []struct {
		name, host string
		become     bool
		local      bool
	}{
		{"ssh", "ctl1", false, false},
		{"ssh+sudo", "ctl1-rbadmin", true, false},
		{"local", "localhost", false, true},
	} {
		t.Run(target.name, func(t *testing.T) {
			for i, payload := range payloads {
				t.Run(fmt.Sprint(i), func(t *testing.T) {
					rb := e2eWrite(t, "runbook.hcl", fmt.Sprintf(injectionRunbook, e2eName("sec-inj-"), target.host, target.become))
					args := []string{"apply", rb, "--auto-approve", "--state-dir", t.TempDir()}
					env := []string{"RUNBOOK_VAR_payload=" + payload}
					if !target.local {
						args = append(args, "-i", inventory(t, payload))
					} else {
						// No inventory: the local host, whose vars are empty;
						// give the host variable through a tiny inventory.
						inv := e2eWrite(t, "local.hcl", "host \"localhost\" {\n  local = true\n  vars  = { payload = "+hclString(payload)+" }\n}\n")
						args = append(args, "-i", inv)
					}
					r := e2eStart(t, env, args...).wait(t, 60*time.Second)
					if r.code != exitOK {
						t.Errorf("want exit 0 (every value intact):\n%s", r)
					}
					noCrash(t, r)
				})
			}
			checkNoneRan(t)
		})
	}

	t.Run("slurm kinds refuse", func(t *testing.T) {
		mark := e2eLogMark(t, e2eSSHDLog)
		for i, payload := range payloads {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				rb := e2eWrite(t, "runbook.hcl", fmt.Sprintf(slurmInjectionRunbook, e2eName("sec-slurm-")))
				state := t.TempDir()
				r := e2eStart(t, []string{"RUNBOOK_VAR_payload=" + payload}, "apply", rb, "-i", e2eInventory, "--auto-approve", "--state-dir", state).wait(t, 30*time.Second)
				if r.code != exitInvalid {
					t.Fatalf("want exit 3:\n%s", r)
				}
				noCrash(t, r)
				if n := strings.Count(r.stderr, "Error: Invalid step"); n != slurmInjectionSteps {
					t.Errorf("%d steps refused, want all %d:\n%s", n, slurmInjectionSteps, r.stderr)
				}
				if dirs := runDirs(t, state); len(dirs) != 0 {
					t.Errorf("a refused run left records %q", dirs)
				}
			})
		}
		time.Sleep(200 * time.Millisecond)
		if cmds := e2eCommandsSince(t, e2eSSHDLog, mark); len(cmds) != 0 {
			t.Errorf("refused runbooks ran commands on the host: %q", cmds)
		}
		checkNoneRan(t)
	})

	t.Run("test_job script_path", func(t *testing.T) {
		for i, payload := range payloads {
			rb := e2eWrite(t, "runbook.hcl", fmt.Sprintf(`
runbook %q { hosts = "ctl1" }

variable "payload" {
  type = string
}

step "test_job" "job" {
  qos         = "normal"
  partition   = "viz"
  script_path = "/tmp/rb-e2e-inj-${var.payload}"
  timeout     = "30s"
}
`, e2eName("sec-path-")))
			r := e2eStart(t, []string{"RUNBOOK_VAR_payload=" + payload}, "apply", rb, "-i", e2eInventory, "--auto-approve", "--state-dir", t.TempDir()).wait(t, 60*time.Second)
			noCrash(t, r)
			t.Logf("payload %d → exit %d", i, r.code)
			left, _ := filepath.Glob("/tmp/rb-e2e-inj-*")
			for _, f := range left {
				os.RemoveAll(f)
			}
		}
		e2eOut("scancel", "-u", "koopark")
		checkNoneRan(t)
	})

	// The control: the same payload put into a shell line raw does run,
	// so the checks above would have seen an injection.
	t.Run("control", func(t *testing.T) {
		rb := e2eWrite(t, "runbook.hcl", fmt.Sprintf(`
runbook %q { hosts = "ctl1" }

variable "payload" {
  type = string
}

step "command" "raw" {
  command = "echo ${var.payload}"
}
`, e2eName("sec-control-")))
		r := e2eStart(t, []string{"RUNBOOK_VAR_payload=" + payloads[0]}, "apply", rb, "-i", e2eInventory, "--auto-approve", "--state-dir", t.TempDir()).wait(t, 30*time.Second)
		if !strings.Contains(r.stderr, "Warning: Unquoted variable") {
			t.Errorf("no lint warning for the raw variable:\n%s", r.stderr)
		}
		if !e2eExists(markers[0]) {
			t.Fatalf("the control payload did not run: the checks cannot see an injection\n%s", r)
		}
		os.Remove(markers[0])
	})

	// A host variable is only known once the host is: validation must not
	// refuse a runbook for reading one (without try()).
	t.Run("host variable without try", func(t *testing.T) {
		rb := e2eWrite(t, "runbook.hcl", fmt.Sprintf(`
runbook %q { hosts = "ctl1" }

step "check" "from_host_vars" {
  argv = ["printf", "%%s", host.vars.payload]
}
`, e2eName("sec-hostvar-")))
		r := e2eStart(t, nil, "apply", rb, "-i", inventory(t, payloads[0]), "--auto-approve", "--state-dir", t.TempDir()).wait(t, 30*time.Second)
		if r.code != exitOK {
			t.Errorf("a runbook reading host.vars.payload (set in the inventory) is refused:\n%s", r)
		}
		checkNoneRan(t)
	})

	// A value put into a shell `command` without shellquote() CAN change
	// the command: that is the author's mistake, and validate must warn
	// about it wherever the value comes from (a variable, a probe's
	// output, a host variable).
	t.Run("lint warns", func(t *testing.T) {
		for _, c := range []struct{ name, expr string }{
			{"variable", "var.payload"},
			{"probe output", "step.probe.stdout"},
			{"host variable", "host.vars.payload"},
		} {
			t.Run(c.name, func(t *testing.T) {
				rb := e2eWrite(t, "runbook.hcl", fmt.Sprintf(`
runbook "lint" {}

variable "payload" {
  type    = string
  default = "x"
}

step "check" "probe" {
  argv = ["true"]
}

step "command" "raw" {
  command = "echo ${%s}"
}
`, c.expr))
				r := runCLI(t, "validate", rb)
				if !strings.Contains(r.stderr, "Warning: Unquoted") {
					t.Errorf("validate does not warn about ${%s} in a shell command:\n%s", c.expr, r)
				}
			})
		}
	})
}

// secretScan records every process command line on this machine (the
// testbed host) that contains one of the secrets, while a run goes on.
type secretScan struct {
	mu    sync.Mutex
	found map[string]string // secret name → a command line showing it
	stop  chan struct{}
	done  chan struct{}
}

func scanProcesses(secrets map[string]string) *secretScan {
	s := &secretScan{found: map[string]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	self := os.Getpid()
	go func() {
		defer close(s.done)
		for {
			entries, _ := os.ReadDir("/proc")
			for _, e := range entries {
				if e.Name() == fmt.Sprint(self) {
					continue
				}
				b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
				if err != nil || len(b) == 0 {
					continue
				}
				line := strings.ReplaceAll(string(b), "\x00", " ")
				for name, v := range secrets {
					if strings.Contains(line, v) {
						s.mu.Lock()
						if _, seen := s.found[name]; !seen {
							s.found[name] = line
						}
						s.mu.Unlock()
					}
				}
			}
			select {
			case <-s.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *secretScan) finish() map[string]string {
	close(s.stop)
	<-s.done
	return s.found
}

// TestSecuritySecrets: sensitive variables, the become password and a key
// passphrase appear in no terminal output, report, event, plan file or
// metrics file, and runbook puts none of them into a process's arguments
// (remote ps). A secret the author put in argv himself is his choice and
// is not checked in ps.
func TestSecuritySecrets(t *testing.T) {
	e2eRequireTestbed(t)
	become := os.Getenv("TESTBED_RBADMIN_SUDO_PASSWORD")
	passphrase := "pp-" + e2eRandom(12)
	secrets := map[string]string{
		"sensitive var (argv)":   "tokA-" + e2eRandom(12),
		"sensitive var (env)":    "tokE-" + e2eRandom(12),
		"sensitive number":       fmt.Sprint(700000000 + int(time.Now().UnixNano()%99999999)),
		"become password":        become,
		"key passphrase":         passphrase,
		"sensitive var (stdin)":  "tokS-" + e2eRandom(12),
		"sensitive var (failed)": "tokF-" + e2eRandom(12),
	}
	// An encrypted key for koopark, accepted by our own sshd.
	keyDir := t.TempDir()
	encKey := filepath.Join(keyDir, "id_enc")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "e2e-enc", "-f", encKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	encPub, _ := os.ReadFile(encKey + ".pub")
	sshd := e2eStartSSHD(t, strings.TrimSpace(string(encPub)))
	src, err := os.ReadFile(e2eInventory)
	if err != nil {
		t.Fatal(err)
	}
	rbadmin := string(src[strings.Index(string(src), `host "ctl1-rbadmin"`):])
	rbadmin = rbadmin[:strings.Index(rbadmin, "\n}\n")+3]
	encHost := e2eHostBlock("own-enc", "koopark", sshd.port, sshd.knownHosts, `passphrase_env = "E2E_KEY_PASSPHRASE"`)
	encHost = strings.Replace(encHost, e2eClientKey, encKey, 1)
	inv := e2eWrite(t, "inventory.hcl", rbadmin+"\n"+encHost+"\ngroup \"targets\" {\n  hosts = [\"ctl1-rbadmin\", \"own-enc\"]\n}\n")

	envStarted, becomeStarted := e2eMarker(t, "env"), e2eMarker(t, "become")
	name := e2eName("sec-secrets-")
	rb := e2eWrite(t, "runbook.hcl", fmt.Sprintf(`
runbook %q { hosts = "targets" }

variable "token_argv" {
  type      = string
  sensitive = true
}

variable "token_env" {
  type      = string
  sensitive = true
}

variable "token_stdin" {
  type      = string
  sensitive = true
}

variable "token_failed" {
  type      = string
  sensitive = true
}

variable "pin" {
  type      = number
  sensitive = true
}

step "check" "echo_argv" {
  argv      = ["sh", "-c", "echo \"out $1\"; echo \"err $1\" >&2", "sh", var.token_argv]
  checklist = "Saw the token ${var.token_argv}"
}

step "check" "echo_env" {
  env     = { TOKEN = var.token_env }
  command = "touch %s-$(id -un); echo \"out $TOKEN\"; echo \"err $TOKEN\" >&2; sleep 2"
}

step "check" "echo_stdin" {
  argv  = ["cat"]
  stdin = var.token_stdin
}

step "check" "echo_pin" {
  argv = ["echo", "pin", tostring(var.pin)]
}

step "command" "become_sleep" {
  when    = host.name == "ctl1-rbadmin"
  become  = true
  env     = { TOKEN = var.token_env }
  command = "printf %%s \"$TOKEN\" > %s; id -un; sleep 2"
}

step "assert" "fails_with_secret" {
  condition     = false
  error_message = "the token was ${var.token_failed} and ${step.echo_argv.stdout}"
  depends_on    = [step.become_sleep, step.echo_pin, step.echo_stdin, step.echo_env]
}
`, name, envStarted, becomeStarted))
	t.Cleanup(func() {
		for _, m := range []string{envStarted + "-koopark", envStarted + "-rbadmin"} {
			os.Remove(m)
		}
	})
	env := []string{
		"RUNBOOK_VAR_token_argv=" + secrets["sensitive var (argv)"],
		"RUNBOOK_VAR_token_env=" + secrets["sensitive var (env)"],
		"RUNBOOK_VAR_token_stdin=" + secrets["sensitive var (stdin)"],
		"RUNBOOK_VAR_token_failed=" + secrets["sensitive var (failed)"],
		"RUNBOOK_VAR_pin=" + secrets["sensitive number"],
		"E2E_KEY_PASSPHRASE=" + passphrase,
	}
	state := t.TempDir()
	planFile := filepath.Join(t.TempDir(), "saved.plan")
	metrics := filepath.Join(t.TempDir(), "run.prom")
	sshdMark, sudoLog := e2eLogMark(t, e2eSSHDLog), filepath.Join(e2eTestbedDir, "logs", "sudo.log")
	sudoMark := e2eLogMark(t, sudoLog)

	type out struct{ what, text string }
	var outputs []out
	run := func(what string, timeout time.Duration, args ...string) result {
		r := e2eStart(t, env, args...).wait(t, timeout)
		noCrash(t, r)
		outputs = append(outputs, out{what + " stdout", r.stdout}, out{what + " stderr", r.stderr})
		return r
	}
	// Both inventory hosts are this machine, so they share the runbook's
	// run lock: --forks 1 works them one after the other. The saved plan
	// is made for the host where the failing assert is still unknown (a
	// failed plan saves nothing).
	run("plan --out", time.Minute, "plan", rb, "-i", inv, "--state-dir", state, "--out", planFile, "--limit", "ctl1-rbadmin")
	run("plan --json", time.Minute, "plan", rb, "-i", inv, "--state-dir", state, "--json")
	run("validate", time.Minute, "validate", rb)
	run("checklist", time.Minute, "checklist", rb)

	// During apply, watch every process's arguments on the host.
	watched := map[string]string{}
	for k, v := range secrets {
		// argv and number: put in argv by the author. env values travel on
		// the command's stdin, so they are watched like the rest, with and
		// without sudo.
		if k != "sensitive var (argv)" && k != "sensitive number" {
			watched[k] = v
		}
	}
	scan := scanProcesses(watched)
	r := run("apply --json", 2*time.Minute, "apply", rb, "-i", inv, "--auto-approve", "--state-dir", state, "--json", "--metrics-file", metrics, "--forks", "1")
	inPS := scan.finish()
	if r.code != exitFailed {
		t.Errorf("apply: exit %d, want 1 (the last step fails on purpose)", r.code)
	}
	if !e2eExists(becomeStarted) || !e2eExists(envStarted+"-koopark") || !e2eExists(envStarted+"-rbadmin") {
		t.Errorf("the steps the process scan watches did not all run")
	}
	if b, _ := os.ReadFile(becomeStarted); string(b) != secrets["sensitive var (env)"] {
		t.Errorf("the env value did not reach the command under sudo with a password: got %q", b)
	}
	var rep *report.Run
	for _, d := range runDirs(t, state) {
		if r := readReport(t, d); r.Mode == "apply" {
			rep = r
		}
	}
	if rep == nil {
		t.Fatal("no apply record")
	}
	for _, h := range rep.Hosts {
		for _, s := range h.Steps {
			if s.Name != "fails_with_secret" && s.Status != report.StatusOK && s.Status != report.StatusChanged && s.Status != report.StatusSkipped {
				t.Errorf("%s: step %s is %s: %s", h.Name, s.Name, s.Status, s.Error)
			}
		}
	}
	for name, line := range inPS {
		t.Errorf("%s visible in a process's arguments: %.300s", name, line)
	}

	// Every artefact: outputs, every file under the state dir, the saved
	// plan, the metrics file.
	files := []string{planFile, metrics}
	filepath.Walk(state, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		outputs = append(outputs, out{f, string(b)})
	}
	if len(files) < 5 {
		t.Errorf("only %d files to check: %q", len(files), files)
	}
	for _, o := range outputs {
		for name, v := range secrets {
			if strings.Contains(o.text, v) {
				i := strings.Index(o.text, v)
				t.Errorf("%s appears in %s: …%s…", name, o.what, o.text[max(0, i-80):min(len(o.text), i+len(v)+20)])
			}
		}
	}
	// What runbook sends to the host: the sshd log holds every command
	// line, the sudo log every sudo call.
	for _, l := range []struct{ path, text string }{
		{e2eSSHDLog, e2eLogSince(t, e2eSSHDLog, sshdMark)},
		{sudoLog, e2eLogSince(t, sudoLog, sudoMark)},
	} {
		for name, v := range watched {
			if strings.Contains(l.text, v) {
				t.Errorf("%s appears in the host's %s", name, l.path)
			}
		}
	}
	b, _ := os.ReadFile(sshd.log)
	for name, v := range watched {
		if strings.Contains(string(b), v) {
			t.Errorf("%s appears in our sshd's log", name)
		}
	}
}

// TestSecurityHostKeys: host keys are checked strictly by default. A
// substituted key stops the run before any command is sent, even with
// --accept-new-host-keys; an unknown host is refused unless the user
// says otherwise.
func TestSecurityHostKeys(t *testing.T) {
	e2eRequireTestbed(t)
	wrong := filepath.Join(t.TempDir(), "k")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", wrong).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	wrongPub, _ := os.ReadFile(wrong + ".pub")
	f := strings.Fields(string(wrongPub))
	for _, c := range []struct {
		name, knownHosts string
		args             []string
		want             []string
	}{
		{"substituted", "# the testbed, reinstalled?\n[127.0.0.1]:2222 " + f[0] + " " + f[1] + "\n", nil,
			[]string{"has CHANGED", "known_hosts:2", "man-in-the-middle", "do NOT continue"}},
		{"substituted, accept-new", "# the testbed, reinstalled?\n[127.0.0.1]:2222 " + f[0] + " " + f[1] + "\n", []string{"--accept-new-host-keys"},
			[]string{"has CHANGED", "known_hosts:2"}},
		{"unknown", "", nil, []string{"is unknown", "--accept-new-host-keys"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			kh := e2eWrite(t, "known_hosts", c.knownHosts)
			inv := e2eWrite(t, "inventory.hcl", e2eHostBlock("ctl1", "koopark", 2222, kh))
			marker := e2eMarker(t, "hostkey")
			mark := e2eLogMark(t, e2eSSHDLog)
			p, state := e2eApply(t, fmt.Sprintf(`
runbook %q { hosts = "ctl1" }

step "command" "touch" {
  command = "touch %s"
}
`, e2eName("sec-hostkey-"), marker), inv, nil, c.args...)
			r := p.wait(t, 30*time.Second)
			if r.code != exitFailed {
				t.Errorf("exit %d, want 1", r.code)
			}
			noCrash(t, r)
			for _, w := range c.want {
				if !strings.Contains(r.stdout+r.stderr, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if e2eExists(marker) {
				t.Error("the step ran on a host whose key did not check out")
			}
			time.Sleep(200 * time.Millisecond)
			if cmds := e2eCommandsSince(t, e2eSSHDLog, mark); len(cmds) != 0 {
				t.Errorf("commands were sent: %q", cmds)
			}
			if b, _ := os.ReadFile(kh); string(b) != c.knownHosts {
				t.Errorf("known_hosts was changed:\n%s", b)
			}
			rep, _ := e2eRecord(t, state)
			if len(rep.Hosts) != 1 || rep.Hosts[0].Error == "" {
				t.Errorf("the record has no host error")
			}
		})
	}
}

// TestSecurityFileModes: the state dir, run directories and every record
// file are private (0700 / 0600) whatever the umask, the saved plan too,
// and the run lock on the host is 0600.
func TestSecurityFileModes(t *testing.T) {
	e2eRequireTestbed(t)
	root := t.TempDir()
	state := filepath.Join(root, "state", "deeper")
	planFile := filepath.Join(root, "saved.plan")
	name := e2eName("sec-modes-")
	started := e2eMarker(t, "modes")
	rb := e2eWrite(t, "runbook.hcl", fmt.Sprintf(`
runbook %q { hosts = "ctl1" }

step "command" "nap" {
  command = "touch %s; sleep 2"
}
`, name, started))
	old := syscall.Umask(0)
	p := e2eStart(t, nil, "apply", rb, "-i", e2eInventory, "--auto-approve", "--state-dir", state)
	syscall.Umask(old)
	lock := e2eLockPath(t, "koopark", name)
	e2eWaitFor(t, 20*time.Second, "the step to start", p, func() bool { return e2eExists(started) })
	if fi, err := os.Stat(lock); err != nil {
		t.Errorf("no run lock on the host during the run: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("run lock %s has mode %o, want 600", lock, fi.Mode().Perm())
	}
	if r := p.wait(t, 30*time.Second); r.code != exitOK {
		t.Fatalf("apply: exit %d", r.code)
	}
	old = syscall.Umask(0)
	p = e2eStart(t, nil, "plan", rb, "-i", e2eInventory, "--state-dir", state, "--out", planFile)
	syscall.Umask(old)
	if r := p.wait(t, 30*time.Second); r.code != exitOK {
		t.Fatalf("plan: exit %d", r.code)
	}
	for _, d := range []string{filepath.Join(root, "state"), state} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, mode %o, want 700", d, err, fi.Mode().Perm())
		}
	}
	e2eModes(t, state)
	if fi, err := os.Stat(planFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("saved plan: %v, mode %o, want 600", err, fi.Mode().Perm())
	}
}
