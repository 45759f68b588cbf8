//go:build e2e

// Package testbed holds the shell scripts that build the one-node Slurm testbed
// (up, reset, down, status) and this test of them. The test needs root on a
// Debian 12 machine; it never skips: if the testbed cannot come up, it fails.
package testbed

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// run runs a command with a deadline and returns stdout, stderr and the error.
func run(timeout time.Duration, name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = nil // /dev/null: nothing may wait for input
	// A daemon that kept our pipes open must not make Wait hang.
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%v (timeout %s)", err, timeout)
	}
	return stdout.String(), stderr.String(), err
}

// mustRun fails the test when the command fails, showing both outputs.
func mustRun(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, errOut, err := run(timeout, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

var (
	upOnce      sync.Once
	upInventory string
	upErr       error
)

// up runs ./up once per test binary (it is idempotent, but a cold install takes a
// while) and returns the inventory path it printed as its last stdout line.
func up(t *testing.T) string {
	t.Helper()
	upOnce.Do(func() {
		start := time.Now()
		out, errOut, err := run(15*time.Minute, "./up")
		if err != nil {
			upErr = fmt.Errorf("./up failed after %s: %v\nstdout:\n%s\nstderr:\n%s", time.Since(start).Round(time.Millisecond), err, out, errOut)
			return
		}
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		upInventory = strings.TrimSpace(lines[len(lines)-1])
		if !filepath.IsAbs(upInventory) {
			upErr = fmt.Errorf("./up: last stdout line %q is not an absolute path\nstdout:\n%s\nstderr:\n%s", upInventory, out, errOut)
			return
		}
		t.Logf("./up took %s; inventory %s", time.Since(start).Round(time.Millisecond), upInventory)
	})
	if upErr != nil {
		t.Fatal(upErr)
	}
	return upInventory
}

// eventually polls f every 100 ms until it returns "" or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, f func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := f()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestUpClusterReady(t *testing.T) {
	inv := up(t)
	if _, err := os.Stat(inv); err != nil {
		t.Fatalf("inventory: %v", err)
	}

	// Partition viz, idle, with the two fake GPUs.
	eventually(t, 30*time.Second, func() string {
		out, errOut, err := run(30*time.Second, "sinfo", "-h", "-p", "viz", "-o", "%P %t %G")
		if err != nil {
			return fmt.Sprintf("sinfo: %v %s", err, errOut)
		}
		f := strings.Fields(out)
		if len(f) != 3 || strings.TrimSuffix(f[0], "*") != "viz" || f[1] != "idle" || f[2] != "gpu:2" {
			return fmt.Sprintf("sinfo -p viz: got %q, want \"viz* idle gpu:2\"", strings.TrimSpace(out))
		}
		return ""
	})

	// The gres/gpu TRES exists in the accounting database ("gres|gpu|1001").
	out := mustRun(t, time.Minute, "sacctmgr", "-n", "-P", "show", "tres")
	var tres []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "|")
		if len(f) >= 2 && f[1] != "" {
			tres = append(tres, f[0]+"/"+f[1])
		} else if len(f) >= 1 {
			tres = append(tres, f[0])
		}
	}
	if !contains(tres, "gres/gpu") {
		t.Fatalf("sacctmgr show tres: no gres/gpu in %v\n%s", tres, out)
	}

	// AccountingStorageEnforce is the full one after a plain up.
	out = mustRun(t, time.Minute, "scontrol", "show", "config")
	if !regexp.MustCompile(`(?m)^AccountingStorageEnforce\s*=\s*associations,limits,qos\s*$`).MatchString(out) {
		t.Errorf("scontrol show config: AccountingStorageEnforce is not associations,limits,qos")
	}
}

func TestUpBatchJobWithGPU(t *testing.T) {
	up(t)
	outFile := fmt.Sprintf("/tmp/runbook-testbed-test-%d.out", os.Getpid())
	defer os.Remove(outFile)
	start := time.Now()
	out := mustRun(t, 5*time.Minute, "runuser", "-u", "koopark", "--",
		"sbatch", "--parsable", "--wait", "--gres=gpu:1", "-p", "viz", "--time=00:05:00",
		"--output="+outFile, "--wrap=echo CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES; hostname")
	jobID := strings.TrimSpace(strings.Split(strings.TrimSpace(out), ";")[0])
	if !regexp.MustCompile(`^[0-9]+$`).MatchString(jobID) {
		t.Fatalf("sbatch --parsable printed %q, want a job id", out)
	}
	t.Logf("job %s finished after %s", jobID, time.Since(start).Round(time.Millisecond))

	eventually(t, 30*time.Second, func() string {
		out, errOut, err := run(30*time.Second, "scontrol", "-o", "show", "job", jobID)
		if err != nil {
			return fmt.Sprintf("scontrol show job %s: %v %s", jobID, err, errOut)
		}
		if !strings.Contains(out, "JobState=COMPLETED") {
			return fmt.Sprintf("job %s is not COMPLETED: %s", jobID, out)
		}
		if !strings.Contains(out, "UserId=koopark(") {
			return fmt.Sprintf("job %s does not belong to koopark: %s", jobID, out)
		}
		return ""
	})
	data, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatalf("job output: %v", err)
	}
	if !strings.Contains(string(data), "CUDA_VISIBLE_DEVICES=0") && !strings.Contains(string(data), "CUDA_VISIBLE_DEVICES=1") {
		t.Errorf("job output has no fake GPU in CUDA_VISIBLE_DEVICES:\n%s", data)
	}
}

// inventoryPaths takes identity_file and known_hosts of the first host block.
func inventoryPaths(t *testing.T, inv string) (key, knownHosts string) {
	t.Helper()
	data, err := os.ReadFile(inv)
	if err != nil {
		t.Fatalf("inventory: %v", err)
	}
	k := regexp.MustCompile(`identity_file\s*=\s*"([^"]+)"`).FindStringSubmatch(string(data))
	h := regexp.MustCompile(`known_hosts\s*=\s*"([^"]+)"`).FindStringSubmatch(string(data))
	if k == nil || h == nil {
		t.Fatalf("inventory %s: no identity_file/known_hosts:\n%s", inv, data)
	}
	return k[1], h[1]
}

func sshArgs(key, knownHosts, user string, command ...string) []string {
	return append([]string{"-p", "2222", "-i", key,
		"-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
		user + "@127.0.0.1"}, command...)
}

func TestUpSSH(t *testing.T) {
	inv := up(t)
	key, knownHosts := inventoryPaths(t, inv)
	out := mustRun(t, time.Minute, "ssh", sshArgs(key, knownHosts, "koopark", "id", "-un")...)
	if strings.TrimSpace(out) != "koopark" {
		t.Fatalf("ssh koopark@127.0.0.1 id -un: got %q", out)
	}
}

func TestUpSudoRules(t *testing.T) {
	inv := up(t)
	key, knownHosts := inventoryPaths(t, inv)
	env, err := os.ReadFile(filepath.Join(filepath.Dir(inv), "env"))
	if err != nil {
		t.Fatalf("env file: %v", err)
	}
	m := regexp.MustCompile(`(?m)^export TESTBED_RBADMIN_SUDO_PASSWORD='([^']+)'$`).FindSubmatch(env)
	if m == nil {
		t.Fatalf("env file has no TESTBED_RBADMIN_SUDO_PASSWORD:\n%s", env)
	}

	// koopark: sacctmgr without a password.
	out := mustRun(t, time.Minute, "ssh", sshArgs(key, knownHosts, "koopark", "sudo", "-n", "sacctmgr", "-n", "-P", "show", "qos", "format=Name")...)
	if !strings.Contains(out, "normal") {
		t.Errorf("koopark: sudo -n sacctmgr show qos: %q", out)
	}
	// rbadmin: a password is required, and the one in the env file works.
	if _, errOut, err := run(time.Minute, "ssh", sshArgs(key, knownHosts, "rbadmin", "sudo", "-n", "true")...); err == nil || !strings.Contains(errOut, "a password is required") {
		t.Errorf("rbadmin: sudo -n true: err=%v stderr=%q, want 'a password is required'", err, errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", sshArgs(key, knownHosts, "rbadmin", "sudo -S -p '' id -un")...)
	cmd.Stdin = strings.NewReader(string(m[1]) + "\n")
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "root" {
		t.Errorf("rbadmin: sudo -S id -un with the password: err=%v output=%q", err, out)
	}
	// rbnosudo: nothing.
	if _, errOut, err := run(time.Minute, "ssh", sshArgs(key, knownHosts, "rbnosudo", "sudo", "-n", "sacctmgr", "-n", "show", "qos")...); err == nil {
		t.Errorf("rbnosudo: sudo -n sacctmgr succeeded; stderr=%q", errOut)
	}
}

func TestResetLeavesOnlyNormalQoS(t *testing.T) {
	up(t)
	mustRun(t, time.Minute, "sacctmgr", "-i", "add", "qos", "tbtest")
	mustRun(t, time.Minute, "sacctmgr", "-i", "modify", "user", "where", "account=hpc-users", "set", "qos+=tbtest")
	out := mustRun(t, time.Minute, "sacctmgr", "-n", "-P", "show", "qos", "format=Name")
	if !contains(strings.Fields(out), "tbtest") {
		t.Fatalf("QoS tbtest was not created: %q", out)
	}
	start := time.Now()
	mustRun(t, 5*time.Minute, "./reset")
	t.Logf("./reset took %s", time.Since(start).Round(time.Millisecond))

	out = mustRun(t, time.Minute, "sacctmgr", "-n", "-P", "show", "qos", "format=Name")
	if strings.TrimSpace(out) != "normal" {
		t.Fatalf("after reset: QoS list %q, want only normal", out)
	}
	out = mustRun(t, time.Minute, "sacctmgr", "-n", "-P", "show", "assoc", "where", "account=hpc-users", "format=User,QOS")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Split(line, "|"); len(f) != 2 || f[1] != "normal" {
			t.Errorf("after reset: association %q, want QOS normal", line)
		}
	}
	if out := mustRun(t, time.Minute, "squeue", "-h"); strings.TrimSpace(out) != "" {
		t.Errorf("after reset: jobs left:\n%s", out)
	}
}

// TestDaemonsHoldNoInheritedFiles starts every daemon afresh from ./up run
// with an extra open file, then checks that no process still has that file
// or the scripts' own lock open once ./up has returned. A daemon keeps what
// it inherits for its whole life: a mariadbd started as `… &` left a copy of
// ./up holding the scripts' lock, and on a fresh CI machine every later
// testbed script waited ten minutes and failed.
func TestDaemonsHoldNoInheritedFiles(t *testing.T) {
	up(t)
	mustRun(t, 5*time.Minute, "./down")

	inherited, err := os.CreateTemp(t.TempDir(), "inherited-*")
	if err != nil {
		t.Fatal(err)
	}
	defer inherited.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "./up")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.ExtraFiles = []*os.File{inherited} // fd 3 in ./up, as a caller's flock would be
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("./up after ./down: %v\n%s", err, out.String())
	}

	lock := filepath.Join(os.Getenv("TESTBED_DIR"), ".testbed-scripts.lock")
	if os.Getenv("TESTBED_DIR") == "" {
		lock = "/tmp/runbook-testbed/.testbed-scripts.lock"
	}
	for _, file := range []string{inherited.Name(), lock} {
		if holders := openedBy(t, file); len(holders) > 0 {
			t.Errorf("after ./up returned, %s is still open in:\n  %s", file, strings.Join(holders, "\n  "))
		}
	}
}

// openedBy lists "pid: command line" of every other process with file open.
func openedBy(t *testing.T, file string) []string {
	t.Helper()
	fds, err := filepath.Glob("/proc/[0-9]*/fd/*")
	if err != nil {
		t.Fatal(err)
	}
	self := fmt.Sprint(os.Getpid())
	seen := map[string]bool{}
	var holders []string
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err != nil || target != file {
			continue
		}
		pid := strings.Split(fd, "/")[2]
		if pid == self || seen[pid] {
			continue
		}
		seen[pid] = true
		cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		holders = append(holders, pid+": "+strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return holders
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
