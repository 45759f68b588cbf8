package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fleet is N loopback "hosts" 127.0.0.1..N on one port, one sshd each.
// Each daemon runs in its own mount namespace with a private /tmp, so the
// hosts do not share what the workloads write there, and its own UTS
// namespace with a hostname of its own, so they do not share runbook's run
// lock (~/.runbook/locks/<uname -n>/: 50 "hosts" with one name would lock
// each other out). The work directory must therefore not be under /tmp.
// (OpenSSH accepts at most 16 ListenAddress entries per daemon; with a
// daemon per host that limit does not arise.)
type fleet struct {
	dir     string // work dir: ssh/, sshd/, hosttmp/
	port    int
	user    string
	hosts   int
	key     string // client private key
	known   string // known_hosts with every address
	pidfile []string
	started []int // pids of the daemons (stopped by down)
	// cg: the cpuacct cgroup the daemons are in ("" when the machine has
	// no cgroup v1 cpuacct hierarchy); see server.
	cg string
}

// cpuacctRoot is where the fleet's cgroup is made: accounting only (cpuacct
// is mounted on its own here, so the group limits nothing).
const cpuacctRoot = "/sys/fs/cgroup/cpuacct"

// account puts the daemons into a cpuacct cgroup of their own, so that a
// run's server-side CPU includes the commands its sessions run (sshd's
// reaped children do not carry it). Without cgroup v1 cpuacct the
// harness falls back to the listeners' cutime+cstime (sshd alone).
func (f *fleet) account() {
	if _, err := os.Stat(filepath.Join(cpuacctRoot, "cpuacct.usage")); err != nil {
		logf("no cgroup v1 cpuacct at %s: sshd CPU will not include the remote commands", cpuacctRoot)
		return
	}
	cg := filepath.Join(cpuacctRoot, "runbook-bench")
	if err := os.MkdirAll(cg, 0o755); err != nil {
		logf("cgroup %s: %v: sshd CPU will not include the remote commands", cg, err)
		return
	}
	for _, pid := range f.listenerPids() {
		if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			logf("cgroup %s: %v: sshd CPU will not include the remote commands", cg, err)
			return
		}
	}
	f.cg = cg
}

// server is the fleet as the side a run's server CPU is charged to.
func (f *fleet) server() *server { return &server{pids: f.listenerPids(), cg: f.cg} }

func (f *fleet) addr(i int) string { return fmt.Sprintf("127.0.0.%d", i) } // 1-based

func (f *fleet) daemons() int { return f.hosts }

func run(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// up creates the bench user, keys, sshd configs and known_hosts, and
// starts the daemons that are not already running.
func (f *fleet) up() error {
	if strings.HasPrefix(filepath.Clean(f.dir)+"/", "/tmp/") {
		return fmt.Errorf("the work directory %s must not be under /tmp (each host gets a private /tmp)", f.dir)
	}
	if f.hosts > 254 {
		return fmt.Errorf("at most 254 loopback hosts, not %d", f.hosts)
	}
	sshDir := filepath.Join(f.dir, "ssh")
	sshdDir := filepath.Join(f.dir, "sshd")
	for _, d := range []string{sshDir, sshdDir, "/run/sshd"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod("/run/sshd", 0o755); err != nil {
		return err
	}
	if _, err := run("id", "-u", f.user); err != nil {
		if _, err := run("useradd", "-m", "-s", "/bin/bash", f.user); err != nil {
			return err
		}
	}
	f.key = filepath.Join(sshDir, "id_ed25519")
	hostKey := filepath.Join(sshdDir, "ssh_host_ed25519_key")
	for _, k := range []string{f.key, hostKey} {
		if _, err := os.Stat(k); err != nil {
			if _, err := run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "runbook-bench", "-f", k); err != nil {
				return err
			}
		}
	}
	// authorized_keys for the bench user.
	home, err := run("getent", "passwd", f.user)
	if err != nil {
		return err
	}
	fields := strings.Split(strings.TrimSpace(home), ":")
	if len(fields) < 6 {
		return fmt.Errorf("getent passwd %s: %q", f.user, home)
	}
	homeDir := fields[5]
	pub, err := os.ReadFile(f.key + ".pub")
	if err != nil {
		return err
	}
	dotSSH := filepath.Join(homeDir, ".ssh")
	if err := os.MkdirAll(dotSSH, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dotSSH, "authorized_keys"), pub, 0o600); err != nil {
		return err
	}
	if _, err := run("chown", "-R", f.user+":", dotSSH); err != nil {
		return err
	}
	if err := os.Chmod(dotSSH, 0o700); err != nil {
		return err
	}
	hostPub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		return err
	}
	hp := strings.Fields(string(hostPub))
	var kh strings.Builder
	for i := 1; i <= f.hosts; i++ {
		fmt.Fprintf(&kh, "[%s]:%d %s %s\n", f.addr(i), f.port, hp[0], hp[1])
	}
	f.known = filepath.Join(sshDir, "known_hosts")
	if err := os.WriteFile(f.known, []byte(kh.String()), 0o644); err != nil {
		return err
	}

	f.pidfile = nil
	for d := 0; d < f.daemons(); d++ {
		cfg := filepath.Join(sshdDir, fmt.Sprintf("sshd_%03d.conf", d))
		pidf := filepath.Join(sshdDir, fmt.Sprintf("sshd_%03d.pid", d))
		logf := filepath.Join(sshdDir, fmt.Sprintf("sshd_%03d.log", d))
		f.pidfile = append(f.pidfile, pidf)
		if err := os.WriteFile(cfg, []byte(f.sshdConfig(d, hostKey, pidf, "ERROR")), 0o644); err != nil {
			return err
		}
		if pid := readPid(pidf); pid > 0 && alive(pid) {
			// Running from an earlier run: reload its config (SIGHUP re-execs sshd).
			if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
				return err
			}
			time.Sleep(200 * time.Millisecond)
			f.started = append(f.started, readPid(pidf))
			continue
		}
		// A private /tmp and hostname for this host: unshare a mount and a
		// UTS namespace, bind the host's own directory over /tmp and name
		// the host before sshd starts (it keeps the namespaces when it
		// daemonizes).
		tmp := filepath.Join(f.dir, "hosttmp", fmt.Sprintf("h%03d", d+1))
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(tmp, os.ModePerm|os.ModeSticky); err != nil {
			return err
		}
		if _, err := run("unshare", "--mount", "--uts", "--propagation", "private", "--", "/bin/sh", "-c",
			`mount --bind "$1" /tmp && hostname "$4" && exec /usr/sbin/sshd -f "$2" -E "$3"`,
			"sh", tmp, cfg, logf, fmt.Sprintf("rbbench-h%03d", d+1)); err != nil {
			return err
		}
		deadline := time.Now().Add(5 * time.Second)
		for readPid(pidf) <= 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("sshd %d did not write %s", d, pidf)
			}
			time.Sleep(20 * time.Millisecond)
		}
		f.started = append(f.started, readPid(pidf))
	}
	// Wait until every address answers.
	for i := 1; i <= f.hosts; i++ {
		if err := waitPort(f.addr(i), f.port, 5*time.Second); err != nil {
			return err
		}
	}
	f.account()
	return nil
}

// sshdConfig is daemon d's configuration (0-based) at logLevel.
func (f *fleet) sshdConfig(d int, hostKey, pidf, logLevel string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by the runbook benchmark (bench/): host %d of %d.\nPort %d\nListenAddress %s\n", d+1, f.daemons(), f.port, f.addr(d+1))
	fmt.Fprintf(&b, `HostKey %s
PidFile %s
AllowUsers %s
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
# useradd leaves the account locked; sshd without PAM refuses it.
UsePAM yes
UseDNS no
PrintMotd no
PrintLastLog no
LogLevel %s
MaxStartups 1000
MaxSessions 200
Subsystem sftp /usr/lib/openssh/sftp-server
`, hostKey, pidf, f.user, logLevel)
	return b.String()
}

// setLogLevel rewrites every daemon's configuration with logLevel and
// reloads it (SIGHUP: sshd re-executes itself, same pid, same mount
// namespace, same -E log file), then waits until every address answers.
// At VERBOSE sshd logs each connection ("Accepted publickey") and each
// session ("Starting session: command …", "… subsystem 'sftp' …"): the
// harness counts round trips with it, outside the measured runs.
func (f *fleet) setLogLevel(logLevel string) error {
	sshdDir := filepath.Join(f.dir, "sshd")
	hostKey := filepath.Join(sshdDir, "ssh_host_ed25519_key")
	for d := 0; d < f.daemons(); d++ {
		cfg := filepath.Join(sshdDir, fmt.Sprintf("sshd_%03d.conf", d))
		pidf := filepath.Join(sshdDir, fmt.Sprintf("sshd_%03d.pid", d))
		if err := os.WriteFile(cfg, []byte(f.sshdConfig(d, hostKey, pidf, logLevel)), 0o644); err != nil {
			return err
		}
		pid := readPid(pidf)
		if pid <= 0 || !alive(pid) {
			return fmt.Errorf("sshd %d is not running", d)
		}
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			return err
		}
	}
	time.Sleep(300 * time.Millisecond)
	for i := 1; i <= f.hosts; i++ {
		if err := waitPort(f.addr(i), f.port, 5*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// logFile is the -E log of host i (1-based).
func (f *fleet) logFile(i int) string {
	return filepath.Join(f.dir, "sshd", fmt.Sprintf("sshd_%03d.log", i-1))
}

// down stops the fleet's daemons (started by this run or an earlier one).
func (f *fleet) down() {
	for _, pid := range f.started {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	for _, pid := range f.started {
		for i := 0; i < 100 && alive(pid); i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	f.started = nil
	if f.cg != "" {
		// Empty now (the daemons and their children are gone), unless a
		// daemon of another run is in it; then it stays.
		_ = os.Remove(f.cg)
		f.cg = ""
	}
}

// listenerPids are the sshd listeners: their cutime+cstime grows by the
// CPU of every finished connection (server side).
func (f *fleet) listenerPids() []int {
	var out []int
	for _, p := range f.pidfile {
		if pid := readPid(p); pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func waitPort(addr string, port int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := netDial(addr, port)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s:%d does not answer: %v", addr, port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
