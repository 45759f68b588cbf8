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
// hosts do not share what runbook keeps on a host (its run lock
// /tmp/runbook-<name>.lock: 50 "hosts" sharing one /tmp would lock each
// other out). The work directory must therefore not be under /tmp.
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
}

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
LogLevel ERROR
MaxStartups 1000
MaxSessions 200
Subsystem sftp /usr/lib/openssh/sftp-server
`, hostKey, pidf, f.user)
		if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
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
		// A private /tmp for this host: unshare a mount namespace and bind
		// the host's own directory over /tmp before sshd starts (it keeps
		// the namespace when it daemonizes).
		tmp := filepath.Join(f.dir, "hosttmp", fmt.Sprintf("h%03d", d+1))
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(tmp, os.ModePerm|os.ModeSticky); err != nil {
			return err
		}
		if _, err := run("unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
			`mount --bind "$1" /tmp && exec /usr/sbin/sshd -f "$2" -E "$3"`, "sh", tmp, cfg, logf); err != nil {
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
	return nil
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
