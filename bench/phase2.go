package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// testbedEnv reads the testbed's env file (export K='V' lines).
func testbedEnv(dir string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(dir, "env"))
	if err != nil {
		return nil, fmt.Errorf("the testbed is not up (testbed/up): %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		out[k] = strings.Trim(v, "'\"")
	}
	return out, sc.Err()
}

// phase2 runs the seed's Phase 2 on the testbed with runbook, the shell
// script and the Ansible playbook, alternating, testbed/reset before each.
func phase2(res *results, repo, work, rbBin string, next func() int) error {
	env, err := testbedEnv(*flagTestbed)
	if err != nil {
		return err
	}
	// Other sessions' end-to-end tests serialise on this lock (see
	// cmd/runbook/e2e_helpers_test.go): hold it, or their resets and
	// fault injections (slurmdbd restarts) land in the middle of our runs.
	unlock, err := lockTestbed(e2eLock)
	if err != nil {
		return err
	}
	defer unlock()
	if out, err := run(filepath.Join(repo, "testbed", "status")); err != nil {
		return fmt.Errorf("testbed/status: %v: %s", err, tail(out, 3))
	}
	inv := env["TESTBED_INVENTORY"]
	if inv == "" {
		inv = filepath.Join(*flagTestbed, "inventory.hcl")
	}
	envList := benchEnv(env)
	key := filepath.Join(*flagTestbed, "ssh", "id_ed25519")
	known := filepath.Join(*flagTestbed, "ssh", "known_hosts")
	ini := filepath.Join(work, "phase2-hosts.ini")
	if err := os.WriteFile(ini, []byte(fmt.Sprintf(`[slurm_controller]
ctl1 ansible_host=127.0.0.1 ansible_port=2222 ansible_user=koopark
[slurm_controller:vars]
ansible_ssh_private_key_file=%s
ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'
`, key, known)), 0o644); err != nil {
		return err
	}
	tunedCfg := filepath.Join(work, "ansible-tuned.cfg")
	sshdPid := readPid(filepath.Join(*flagTestbed, "sshd", "sshd.pid"))
	srv := &server{pids: []int{sshdPid}, shared: true}

	reset := func() error {
		if out, err := run(filepath.Join(repo, "testbed", "reset")); err != nil {
			return fmt.Errorf("testbed/reset: %v: %s", err, tail(out, 3))
		}
		return nil
	}
	// The testbed is shared (other sessions' e2e tests reset it, restart
	// slurmdbd...): a failed run is retried once, and the failure is kept
	// in the record (the "failed" count of the table).
	withReset := func(f func() sample) func(int) sample {
		return func(int) sample {
			var s sample
			for try := 0; try < 2; try++ {
				if err := reset(); err != nil {
					s = sample{Err: err.Error()}
					time.Sleep(5 * time.Second)
					continue
				}
				if s = f(); s.OK {
					return s
				}
				res.Phase2Retried = append(res.Phase2Retried, s.Err)
			}
			return s
		}
	}
	runbookRun := func(bin, label string) func(int) sample {
		return withReset(func() sample {
			n := next()
			state := filepath.Join(work, "state", fmt.Sprint(n))
			cmd := exec.Command(bin, "apply", filepath.Join(repo, "runbooks", "phase2.hcl"), "-i", inv,
				"--var", "account=hpc-users", "--auto-approve", "--state-dir", state)
			cmd.Env = envList
			s := measure(cmd, filepath.Join(work, "logs", fmt.Sprintf("%04d-phase2-%s.log", n, label)), srv)
			os.RemoveAll(state)
			return s
		})
	}
	runners := []runner{
		{"runbook", *flagP2Runs, runbookRun(rbBin, "runbook")},
		{"shell", *flagP2Runs, withReset(func() sample {
			n := next()
			cmd := exec.Command("bash", filepath.Join(repo, "bench", "phase2", "phase2.sh"))
			cmd.Env = envList
			return measure(cmd, filepath.Join(work, "logs", fmt.Sprintf("%04d-phase2-shell.log", n)), srv)
		})},
		{"ansible", *flagP2Runs, withReset(func() sample {
			n := next()
			cp := filepath.Join(work, "cp", fmt.Sprint(n))
			os.MkdirAll(cp, 0o700)
			cmd := exec.Command("ansible-playbook", "-i", ini, filepath.Join(repo, "bench", "phase2", "phase2.yml"))
			cmd.Env = benchEnv(mergeEnv(env, map[string]string{"ANSIBLE_CONFIG": tunedCfg, "ANSIBLE_SSH_CONTROL_PATH_DIR": cp}))
			s := measureAnsible(cmd, filepath.Join(work, "logs", fmt.Sprintf("%04d-phase2-ansible.log", n)), srv, cp)
			os.RemoveAll(cp)
			return s
		})},
	}
	if !*flagAnsible {
		runners = runners[:2]
	}
	for _, v := range flagVariants {
		runners = append(runners, runner{"variant:" + v.name, *flagP2Runs, runbookRun(v.path, "variant-"+v.name)})
	}
	logf("phase 2 on the testbed: %d run(s) per tool, testbed/reset before each", *flagP2Runs)
	res.Phase2 = alternate(runners, "phase2")
	return reset()
}

const e2eLock = "/tmp/testbed-e2e.flock"

// lockTestbed takes the e2e tests' flock, waiting for it.
func lockTestbed(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		logf("waiting for %s (another session's e2e tests use the testbed)", path)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, err
		}
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

func mergeEnv(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// cliTiming is the wall time of one runbook command on a generated runbook.
type cliTiming struct {
	What  string
	Steps int
	Wall  time.Duration // median of 3
	CPU   time.Duration
	RSSKB int64
}

// cliTimings times `runbook validate` and an offline `runbook plan` (no
// inventory: the local host, and command steps that plan without running
// anything) on large generated runbooks.
func cliTimings(res *results, work, rbBin string) error {
	logf("timing runbook validate / plan on generated runbooks")
	env := benchEnv(nil)
	for _, c := range []struct {
		n     int
		chain bool
	}{{250, false}, {1000, false}, {4000, false}, {1000, true}} {
		path, err := bigRunbook(work, c.n, c.chain)
		if err != nil {
			return err
		}
		shape := "flat"
		if c.chain {
			shape = "reference chain"
		}
		for _, verb := range []string{"validate", "plan"} {
			var ss []sample
			for i := 0; i < 3; i++ {
				args := []string{verb, path}
				state := filepath.Join(work, "state", "cli")
				if verb == "plan" {
					args = append(args, "--state-dir", state)
				}
				cmd := exec.Command(rbBin, args...)
				cmd.Env = env
				cmd.Dir = filepath.Dir(path)
				s := measure(cmd, filepath.Join(work, "logs", fmt.Sprintf("cli-%s-%d-%v.log", verb, c.n, c.chain)), nil)
				os.RemoveAll(state)
				if !s.OK {
					return fmt.Errorf("runbook %s %s: %s", verb, path, s.Err)
				}
				ss = append(ss, s)
			}
			st := summarise(ss)
			res.CLI = append(res.CLI, cliTiming{What: fmt.Sprintf("%s, %s", verb, shape), Steps: c.n, Wall: st.Wall, CPU: st.CPU, RSSKB: st.MaxRSS})
		}
	}
	return nil
}
