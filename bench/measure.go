package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clkTck is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clkTck = 100

// sample is one measured run of one tool.
type sample struct {
	Wall time.Duration
	// CPU is user+sys of the process tree (wait4 rusage: the process and
	// every descendant it waited for), plus Detached (see below).
	CPU time.Duration
	// Detached is the CPU of processes that left the tree and were ended
	// by the harness after the run (Ansible's ControlPersist ssh masters).
	Detached time.Duration
	// MaxRSS is the peak resident set of the largest single process of the
	// tree (ru_maxrss), in KiB.
	MaxRSS int64
	// DetachedRSS is the sum of the detached processes' peak RSS, KiB.
	DetachedRSS int64
	// Server is the CPU the sshd daemons spent on this run's connections.
	Server time.Duration
	// Load is the 1-minute load average when the run started: other work
	// on the machine (this is a shared 2-core box) shows up here.
	Load float64
	OK   bool
	Err  string
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscanf(string(b), "%f", &l)
	return l
}

func netDial(addr string, port int) (net.Conn, error) {
	return net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(port)), time.Second)
}

// server is the sshd side whose CPU a run is charged with.
type server struct {
	pids []int // the sshd listeners
	// cg is a cgroup v1 cpuacct directory holding the listeners, and so
	// every process they start: the per-connection sshd processes and the
	// commands the sessions run. "": no cgroup, the listeners'
	// cutime+cstime instead, which holds sshd's own CPU only (OpenSSH's
	// processes do not pass the sessions' commands' CPU up to the
	// listener).
	cg string
	// shared: other sessions use this server too (the testbed's sshd),
	// whose children are never all gone.
	shared bool
}

// cpu is the server side's CPU so far.
func (s *server) cpu() time.Duration {
	if s == nil {
		return 0
	}
	if s.cg != "" {
		if b, err := os.ReadFile(filepath.Join(s.cg, "cpuacct.usage")); err == nil {
			ns, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			return time.Duration(ns)
		}
	}
	return childrenCPU(s.pids)
}

// settle waits until the run's connections have ended on the server
// (sshd ends and reaps a connection's processes a moment after the
// client left): every connection is gone, or, on a shared server, a
// fixed short while.
func (s *server) settle() {
	if s == nil {
		return
	}
	if s.shared {
		time.Sleep(150 * time.Millisecond)
		return
	}
	waitReaped(s.pids, 10*time.Second)
}

// measure runs cmd to the end and returns its wall time and rusage, and
// the CPU srv (nil: none) spent meanwhile.
func measure(cmd *exec.Cmd, logPath string, srv *server) sample {
	var s sample
	logf, err := os.Create(logPath)
	if err != nil {
		s.Err = err.Error()
		return s
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	before := srv.cpu()
	s.Load = loadAvg()
	start := time.Now()
	err = cmd.Run()
	s.Wall = time.Since(start)
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			s.MaxRSS = ru.Maxrss
		}
	}
	if err != nil {
		s.Err = fmt.Sprintf("%v; log %s: %s", err, logPath, tailFile(logPath, 6))
	} else {
		s.OK = true
	}
	srv.settle()
	s.Server = srv.cpu() - before
	return s
}

// waitReaped waits (at most max) until none of pids has a child left:
// every connection of the run has ended and been reaped, so all of its
// CPU is counted and none of it lands in the next run's (connections can
// close late under load, e.g. once Ansible's ssh masters are ended).
func waitReaped(pids []int, max time.Duration) {
	if len(pids) == 0 {
		return
	}
	parents := map[string]bool{}
	for _, pid := range pids {
		parents[strconv.Itoa(pid)] = true
	}
	deadline := time.Now().Add(max)
	for {
		busy := false
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if e.Name()[0] < '0' || e.Name()[0] > '9' {
				continue
			}
			pid, _ := strconv.Atoi(e.Name())
			if f := procStat(pid); len(f) > 3 && parents[f[3]] {
				busy = true
				break
			}
		}
		if !busy || time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// childrenCPU sums cutime+cstime (CPU of reaped children) of pids.
func childrenCPU(pids []int) time.Duration {
	var t int64
	for _, pid := range pids {
		f := procStat(pid)
		if len(f) > 16 {
			u, _ := strconv.ParseInt(f[15], 10, 64)
			s, _ := strconv.ParseInt(f[16], 10, 64)
			t += u + s
		}
	}
	return time.Duration(t) * time.Second / clkTck
}

// procStat returns the fields of /proc/pid/stat with the command name
// removed, numbered as in proc(5) minus one (f[0] = pid, f[13] = utime).
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	rest := strings.Fields(s[i+1:])
	return append([]string{strings.Fields(s)[0], "comm"}, rest...)
}

// reapDetached finds processes whose command line mentions marker (the
// ControlPersist masters Ansible leaves behind, which rename themselves
// "ssh: <control path> [mux]"), adds up their CPU and peak RSS, and ends
// them with SIGTERM, waiting until they are gone. They were started by the
// measured run, so their cost is the run's.
func reapDetached(marker string) (cpu time.Duration, rssKB int64) {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), marker) {
			continue
		}
		f := procStat(pid)
		if len(f) > 14 {
			u, _ := strconv.ParseInt(f[13], 10, 64)
			s, _ := strconv.ParseInt(f[14], 10, 64)
			cpu += time.Duration(u+s) * time.Second / clkTck
		}
		rssKB += vmHWM(pid)
		pids = append(pids, pid)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	for _, pid := range pids {
		for i := 0; i < 250 && alive(pid); i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return cpu, rssKB
}

func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// stats summarises the successful samples of one tool on one workload.
type stats struct {
	N, Failed          int
	Wall, Min, Max     time.Duration
	Load               float64 // median 1-minute load average at the starts
	CPU, Detached      time.Duration
	Server             time.Duration
	MaxRSS, DetachedKB int64
}

func summarise(ss []sample) stats {
	var st stats
	var walls, cpus, dets, srv []time.Duration
	var rss, drss []int64
	var loads []time.Duration
	for _, s := range ss {
		if !s.OK {
			st.Failed++
			continue
		}
		walls = append(walls, s.Wall)
		loads = append(loads, time.Duration(s.Load*1000))
		cpus = append(cpus, s.CPU+s.Detached)
		dets = append(dets, s.Detached)
		srv = append(srv, s.Server)
		rss = append(rss, s.MaxRSS)
		drss = append(drss, s.DetachedRSS)
	}
	st.N = len(walls)
	if st.N == 0 {
		return st
	}
	st.Wall, st.Min, st.Max = medianD(walls), minD(walls), maxD(walls)
	st.Load = float64(medianD(loads)) / 1000
	st.CPU, st.Detached, st.Server = medianD(cpus), medianD(dets), medianD(srv)
	st.MaxRSS, st.DetachedKB = medianI(rss), medianI(drss)
	return st
}

func medianD(v []time.Duration) time.Duration {
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianI(v []int64) int64 {
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minD(v []time.Duration) time.Duration {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxD(v []time.Duration) time.Duration {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
