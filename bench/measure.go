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

// measure runs cmd to the end and returns its wall time and rusage.
// serverPids are sshd listeners whose children's CPU is charged to the run.
func measure(cmd *exec.Cmd, logPath string, serverPids []int) sample {
	var s sample
	logf, err := os.Create(logPath)
	if err != nil {
		s.Err = err.Error()
		return s
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	before := childrenCPU(serverPids)
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
	// sshd reaps a connection's process a moment after the client left.
	time.Sleep(150 * time.Millisecond)
	s.Server = childrenCPU(serverPids) - before
	return s
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
