package main

// The facts workload (issue 17): host.facts for H hosts, one round trip
// each, against what Ansible's fact gathering costs on the same hosts.
//
// Measured, alternating (rotating who goes first), on the fleet's first
// -facts hosts:
//
//   - runbook: bench/factsgather, i.e. runbook's inventory reader and SSH
//     transport, rbfacts.Script() as one command per host, facts.Parse,
//     every host's facts checked (its hostname is the one its daemon's
//     UTS namespace has);
//   - raw, facts script: the raw x/crypto/ssh floor (bench/rawssh) running
//     the same script, one session per host;
//   - raw, echo 1: the same floor running `echo 1`, the cost of one round
//     trip with nothing in it;
//   - Ansible setup: `ansible bench -m ansible.builtin.setup`, tuned as the
//     echo workloads' Ansible (pipelining, ControlPersist, fixed
//     interpreter, -f hosts): what `gather_facts: true` runs;
//   - Ansible setup, gather_subset=min: the least Ansible gathers (no CPU
//     count or memory, which runbook's facts have);
//   - Ansible setup with Ansible's default configuration (no pipelining),
//     what most playbooks pay.
//
// Then, not timed, a counting pass at sshd LogLevel VERBOSE (connections
// and sessions per host for one run of runbook and of Ansible setup), and
// a comparison of runbook's facts of h001 with Ansible's.

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	rbfacts "github.com/runbook-hpc/runbook/engine/facts"
)

var (
	flagFacts        = flag.Int("facts", 50, "hosts of the facts workload (host.facts, one round trip per host, against Ansible's setup); 0: not run")
	flagFactsRuns    = flag.Int("facts-runs", 7, "measured runs of runbook and the raw floors on the facts workload")
	flagFactsAnsRuns = flag.Int("facts-ansible-runs", 3, "measured runs of each Ansible setup variant on the facts workload")
)

const factsBegin, factsEnd = "<!-- bench:facts:begin -->", "<!-- bench:facts:end -->"

type factsResults struct {
	Hosts              int
	Started, Ended     time.Time
	LoadStart, LoadEnd string
	Runs               map[string][]sample
	// Sessions: tool → what sshd logged for one run, all hosts.
	Sessions map[string]sessionCount
	CountErr string
	// Ours and Ansible's facts of h001, side by side.
	Compare    [][3]string
	CompareErr string
	ScriptLen  int
}

// The tools in the order of the report.
var factsTools = []struct{ name, desc string }{
	{"runbook", "runbook (inventory + SSH transport + `facts.Script`/`Parse`; bench/factsgather)"},
	{"raw-script", "raw x/crypto/ssh, the facts script"},
	{"raw-echo", "raw x/crypto/ssh, `echo 1` (one empty round trip)"},
	{"ansible-setup", "Ansible `setup` (what `gather_facts: true` runs), tuned"},
	{"ansible-setup-min", "Ansible `setup gather_subset=min`, tuned"},
	{"ansible-setup-default", "Ansible `setup`, Ansible's default configuration"},
}

func runFacts(work string, f *fleet, rawBin, ansTuned, ansDef string, next func() int) (*factsResults, error) {
	hosts := *flagFacts
	dir := filepath.Join(work, fmt.Sprintf("facts%d", hosts))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	inv, hostsTxt, ini := inventories(hosts, f)
	invPath, hostsPath, iniPath := filepath.Join(dir, "inventory.hcl"), filepath.Join(dir, "hosts.txt"), filepath.Join(dir, "hosts.ini")
	for p, body := range map[string]string{invPath: inv, hostsPath: hostsTxt, iniPath: ini} {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	unname, err := nameHosts(f, hosts, dir)
	if err != nil {
		return nil, err
	}
	defer unname()
	gatherBin := filepath.Join(work, "bin", "factsgather")
	if _, err := run("go", "build", "-o", gatherBin, "./bench/factsgather"); err != nil {
		return nil, err
	}
	fr := &factsResults{Hosts: hosts, Started: time.Now(), LoadStart: loadAvg3(), Runs: map[string][]sample{},
		Sessions: map[string]sessionCount{}, ScriptLen: len(rbfacts.Script())}
	label := fmt.Sprintf("facts%d", hosts)
	cleanEnv := benchEnv(nil)
	logPath := func(n int, tool string) string {
		return filepath.Join(work, "logs", fmt.Sprintf("%04d-%s-%s.log", n, tool, label))
	}
	ourJSON := filepath.Join(dir, "h001-runbook.json")

	runRunbook := func() sample {
		n := next()
		cmd := exec.Command(gatherBin, "-i", invPath, "-group", "bench", "-json", ourJSON, "-fqdn-suffix", factsDomain)
		cmd.Env = cleanEnv
		return measure(cmd, logPath(n, "runbook"), f.server())
	}
	// rawRun runs line once per host with the raw client; want is its
	// stdout ("": not checked; the facts script's depends on the host).
	rawRun := func(tool, line, want string) func() sample {
		return func() sample {
			n := next()
			cmd := exec.Command(rawBin, "-hosts", hostsPath, "-key", f.key, "-known-hosts", f.known,
				"-user", f.user, "-steps", "1", "-cmd", line, "-want", want)
			cmd.Env = cleanEnv
			return measure(cmd, logPath(n, tool), f.server())
		}
	}
	// ansOnce runs `ansible -m setup` (one line of JSON per host with -o)
	// and checks that every host answered SUCCESS.
	ansOnce := func(tool, cfg string, args ...string) (sample, string) {
		n := next()
		cp := filepath.Join(work, "cp", fmt.Sprint(n))
		os.MkdirAll(cp, 0o700)
		defer os.RemoveAll(cp)
		lp := logPath(n, tool)
		argv := append([]string{"bench", "-i", iniPath, "-f", fmt.Sprint(min(hosts, *flagAnsForks)), "-o", "-m", "ansible.builtin.setup"}, args...)
		cmd := exec.Command("ansible", argv...)
		cmd.Env = benchEnv(map[string]string{"ANSIBLE_CONFIG": cfg, "ANSIBLE_SSH_CONTROL_PATH_DIR": cp})
		s := measureAnsible(cmd, lp, f.server(), cp)
		if ok := countSuccess(lp); s.OK && ok != hosts {
			failSample(&s, "%d of %d hosts SUCCESS (log %s)", ok, hosts, lp)
		}
		return s, lp
	}
	runAnsible := func(tool, cfg string, args ...string) func() sample {
		return func() sample { s, _ := ansOnce(tool, cfg, args...); return s }
	}

	type factsRunner struct {
		name string
		runs int
		run  func() sample
	}
	runners := []factsRunner{
		{"runbook", *flagFactsRuns, runRunbook},
		{"raw-script", *flagFactsRuns, rawRun("raw-script", rbfacts.Script(), "")},
		{"raw-echo", *flagFactsRuns, rawRun("raw-echo", "echo 1", "1\n")},
	}
	if *flagAnsible {
		runners = append(runners,
			factsRunner{"ansible-setup", *flagFactsAnsRuns, runAnsible("ansible-setup", ansTuned)},
			factsRunner{"ansible-setup-min", *flagFactsAnsRuns, runAnsible("ansible-setup-min", ansTuned, "-a", "gather_subset=min")},
			factsRunner{"ansible-setup-default", *flagFactsAnsRuns, runAnsible("ansible-setup-default", ansDef)})
	}
	logf("facts workload (%d hosts): warm-up", hosts)
	for _, r := range runners[:3] {
		if s := r.run(); !s.OK {
			return nil, fmt.Errorf("%s warm-up on the facts workload failed: %s", r.name, s.Err)
		}
	}
	maxRuns := 0
	for _, r := range runners {
		maxRuns = max(maxRuns, r.runs)
	}
	for rep := 0; rep < maxRuns; rep++ {
		for k := range runners {
			r := runners[(rep+k)%len(runners)]
			if rep >= r.runs {
				continue
			}
			s := r.run()
			fr.Runs[r.name] = append(fr.Runs[r.name], s)
			status := "ok"
			if !s.OK {
				status = "FAILED: " + s.Err
			}
			logf("%s run %d/%d %-17s %8.3fs cpu %7.3fs sshd %7.3fs rss %5.1f MB load %.1f  %s", label, rep+1, r.runs, r.name,
				s.Wall.Seconds(), (s.CPU + s.Detached).Seconds(), s.Server.Seconds(), float64(s.MaxRSS)/1024, s.Load, status)
		}
	}

	// Not timed: sessions per host as sshd logs them, and the facts of
	// h001 as each tool has them.
	var ansLog string
	err = withVerbose(f, func() error {
		count := func(tool string, once func() sample) error {
			from := logSizes(f, hosts)
			if s := once(); !s.OK {
				return fmt.Errorf("%s: %s", tool, s.Err)
			}
			c, err := countSessions(f, hosts, from)
			if err != nil {
				return err
			}
			if c.Conns == 0 {
				return fmt.Errorf("sshd logged no connection for %s: is LogLevel VERBOSE in effect?", tool)
			}
			fr.Sessions[tool] = c
			logf("%s count %-13s connections %d, sessions %d (commands %d, sftp %d, other %d)", label, tool, c.Conns, c.sessions(), c.Commands, c.SFTP, c.Other)
			return nil
		}
		if err := count("runbook", runRunbook); err != nil {
			return err
		}
		if *flagAnsible {
			return count("ansible-setup", func() sample { s, lp := ansOnce("ansible-setup", ansTuned); ansLog = lp; return s })
		}
		return nil
	})
	if err != nil {
		logf("facts workload: counting pass: %v", err)
		fr.CountErr = err.Error()
	}
	if ansLog != "" {
		if fr.Compare, err = compareWithAnsible(ourJSON, ansLog, "h001"); err != nil {
			fr.CompareErr = err.Error()
		}
	}
	fr.Ended, fr.LoadEnd = time.Now(), loadAvg3()
	return fr, nil
}

// factsDomain is the domain of the fleet's hosts while the facts workload
// runs (a reserved test TLD).
const factsDomain = ".bench.test"

// nameHosts makes each host's name resolvable on that host, as a cluster's
// /etc/hosts or DNS does: in each daemon's mount namespace (nsenter) it
// binds, over /etc/hosts, a copy of the machine's with a line
// "127.0.0.N rbbench-hNNN.bench.test rbbench-hNNN". Without it, hostname
// -f (runbook's fqdn) and Python's getfqdn (Ansible's) ask this machine's
// DNS server for 50 unknown names at once, and about 20 of those lookups
// take 5 s (measured: 21 of 50 parallel `hostname -f`): the resolver, not
// either tool. The returned function undoes it.
func nameHosts(f *fleet, hosts int, dir string) (func(), error) {
	base, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return nil, err
	}
	var bound []int
	undo := func() {
		for _, pid := range bound {
			if _, err := run("nsenter", "-t", fmt.Sprint(pid), "-m", "--", "umount", "/etc/hosts"); err != nil {
				logf("facts workload: %v", err)
			}
		}
	}
	for i := 1; i <= hosts; i++ {
		pid := readPid(f.pidfile[i-1])
		if pid <= 0 {
			undo()
			return nil, fmt.Errorf("no sshd pid for host %d", i)
		}
		name := fmt.Sprintf("rbbench-h%03d", i)
		p := filepath.Join(dir, "hosts."+name)
		body := strings.TrimRight(string(base), "\n") + fmt.Sprintf("\n%s\t%s%s %s\n", f.addr(i), name, factsDomain, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			undo()
			return nil, err
		}
		if _, err := run("nsenter", "-t", fmt.Sprint(pid), "-m", "--", "mount", "--bind", p, "/etc/hosts"); err != nil {
			undo()
			return nil, err
		}
		bound = append(bound, pid)
	}
	return undo, nil
}

func withVerbose(f *fleet, fn func() error) (err error) {
	if err := f.setLogLevel("VERBOSE"); err != nil {
		return err
	}
	defer func() {
		if e := f.setLogLevel("ERROR"); e != nil && err == nil {
			err = e
		}
	}()
	return fn()
}

func logSizes(f *fleet, hosts int) []int64 {
	out := make([]int64, hosts+1)
	for i := 1; i <= hosts; i++ {
		if st, err := os.Stat(f.logFile(i)); err == nil {
			out[i] = st.Size()
		}
	}
	return out
}

// countSessions adds up what the first hosts' sshd logged since from.
func countSessions(f *fleet, hosts int, from []int64) (sessionCount, error) {
	// sshd writes a connection's last lines as it ends, a moment after
	// the client has gone.
	time.Sleep(300 * time.Millisecond)
	var c sessionCount
	for i := 1; i <= hosts; i++ {
		b, err := os.ReadFile(f.logFile(i))
		if err != nil {
			return c, err
		}
		if int64(len(b)) < from[i] {
			return c, fmt.Errorf("%s shrank", f.logFile(i))
		}
		for _, line := range strings.Split(string(b[from[i]:]), "\n") {
			switch {
			case strings.Contains(line, "Accepted publickey for"):
				c.Conns++
			case strings.Contains(line, "Starting session: command "):
				c.Commands++
			case strings.Contains(line, "Starting session: subsystem 'sftp'"):
				c.SFTP++
			case strings.Contains(line, "Starting session:"):
				c.Other++
			}
		}
	}
	return c, nil
}

// countSuccess counts the "NAME | SUCCESS =>" lines of `ansible -o`.
func countSuccess(logPath string) int {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, " | SUCCESS => ") {
			n++
		}
	}
	return n
}

// compareWithAnsible puts runbook's facts of host beside Ansible's
// (setup's one-line JSON in the -o log).
func compareWithAnsible(ourJSON, ansLog, host string) ([][3]string, error) {
	b, err := os.ReadFile(ourJSON)
	if err != nil {
		return nil, err
	}
	var ours rbfacts.Facts
	if err := json.Unmarshal(b, &ours); err != nil {
		return nil, err
	}
	lf, err := os.Open(ansLog)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	var theirs struct {
		Facts map[string]any `json:"ansible_facts"`
	}
	sc := bufio.NewScanner(lf)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	found := false
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), host+" | SUCCESS => "); ok {
			if err := json.Unmarshal([]byte(rest), &theirs); err != nil {
				return nil, err
			}
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("no %s | SUCCESS line in %s", host, ansLog)
	}
	a := func(k string) string {
		v, ok := theirs.Facts[k]
		if !ok {
			return "(none)"
		}
		return fmt.Sprint(v)
	}
	return [][3]string{
		{"os.id / ansible_distribution", ours.OS.ID, a("ansible_distribution")},
		{"os.version_id / ansible_distribution_version", ours.OS.VersionID, a("ansible_distribution_version")},
		{"os.version_major / ansible_distribution_major_version", ours.OS.VersionMajor, a("ansible_distribution_major_version")},
		{"os.codename / ansible_distribution_release", ours.OS.Codename, a("ansible_distribution_release")},
		{"os.family / ansible_os_family", ours.OS.Family, a("ansible_os_family")},
		{"package_manager / ansible_pkg_mgr", ours.PackageManager, a("ansible_pkg_mgr")},
		{"init_system / ansible_service_mgr", ours.InitSystem, a("ansible_service_mgr")},
		{"architecture / ansible_architecture", ours.Architecture, a("ansible_architecture")},
		{"hostname / ansible_hostname", ours.Hostname, a("ansible_hostname")},
		{"fqdn / ansible_fqdn", ours.FQDN, a("ansible_fqdn")},
		{"kernel / ansible_kernel", ours.Kernel, a("ansible_kernel")},
		{"cpus / ansible_processor_nproc", fmt.Sprint(ours.CPUs), a("ansible_processor_nproc")},
		{"memory_mb / ansible_memtotal_mb", fmt.Sprint(ours.MemoryMB), a("ansible_memtotal_mb")},
	}, nil
}

func (fr *factsResults) markdown(m facts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Facts workload: %d hosts, one round trip each (generated %s)\n\n", fr.Hosts, fr.Ended.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Run %s – %s UTC; load average (1 / 5 / 15 min) %s at the start, %s at the end.\n\n",
		fr.Started.UTC().Format("2006-01-02 15:04"), fr.Ended.UTC().Format("15:04"), fr.LoadStart, fr.LoadEnd)
	b.WriteString("| machine | |\n| --- | --- |\n")
	for _, kv := range [][2]string{
		{"CPU", fmt.Sprintf("%s × %s cores", m.CPU, m.Cores)}, {"RAM", m.RAM}, {"OS", m.Debian + ", Linux " + m.Kernel},
		{"Go", m.Go}, {"OpenSSH", m.OpenSSH}, {"Ansible", m.Ansible + " (" + m.Python + ")"},
	} {
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], strings.ReplaceAll(kv[1], "|", "/"))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Each tool gathers the facts of all %d hosts at once (Ansible `-f %d`); the facts script is %d bytes, sent as the command line. "+
		"Wall time median (min–max); × runbook is the ratio of medians (in brackets: of the fastest runs); controller CPU is user+sys of the tool's process tree "+
		"(for Ansible with its ssh masters); sshd CPU is the hosts' side (the daemons' cgroup: sshd, the login shell and the commands); load is the median 1-minute load average when the runs started.\n\n",
		fr.Hosts, min(fr.Hosts, *flagAnsForks), fr.ScriptLen)
	b.WriteString("| tool | runs | wall | min–max | × runbook | controller CPU | sshd CPU / host | peak RSS | load |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	base := summarise(fr.Runs["runbook"])
	for _, t := range factsTools {
		ss, ok := fr.Runs[t.name]
		if !ok {
			continue
		}
		st := summarise(ss)
		if st.N == 0 {
			fmt.Fprintf(&b, "| %s | 0 of %d ok | | | | | | | |\n", t.desc, len(ss))
			continue
		}
		ratio, fast := "1", "1"
		if t.name != "runbook" && base.N > 0 {
			ratio = fmt.Sprintf("%.2f", st.Wall.Seconds()/base.Wall.Seconds())
			fast = fmt.Sprintf("%.2f", st.Min.Seconds()/base.Min.Seconds())
		}
		rss := mb(st.MaxRSS)
		if st.DetachedKB > 0 {
			rss += " + masters " + mb(st.DetachedKB)
		}
		failed := ""
		if st.Failed > 0 {
			failed = fmt.Sprintf(" (%d failed)", st.Failed)
		}
		fmt.Fprintf(&b, "| %s | %d%s | **%s** | %s–%s | %s (%s) | %s | %.1f ms | %s | %.1f |\n", t.desc, st.N, failed, secs(st.Wall), secs(st.Min), secs(st.Max),
			ratio, fast, secs(st.CPU), st.Server.Seconds()*1000/float64(fr.Hosts), rss, st.Load)
	}
	if len(fr.Sessions) > 0 {
		b.WriteString("\nWhat the hosts' sshd logged for one more run of each (LogLevel VERBOSE meanwhile), per host:\n\n| tool | connections | sessions | of them commands | sftp |\n| --- | --- | --- | --- | --- |\n")
		for _, t := range factsTools {
			if c, ok := fr.Sessions[t.name]; ok {
				h := float64(fr.Hosts)
				fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.1f | %.1f |\n", t.name, float64(c.Conns)/h, float64(c.sessions())/h, float64(c.Commands)/h, float64(c.SFTP)/h)
			}
		}
	}
	if fr.CountErr != "" {
		fmt.Fprintf(&b, "\nCounting pass failed: %s\n", fr.CountErr)
	}
	if len(fr.Compare) > 0 {
		b.WriteString("\nThe facts of h001 as runbook and Ansible's `setup` have them (same host, same run):\n\n| fact (runbook / Ansible) | runbook | Ansible |\n| --- | --- | --- |\n")
		for _, r := range fr.Compare {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", r[0], r[1], r[2])
		}
	}
	if fr.CompareErr != "" {
		fmt.Fprintf(&b, "\nComparison with Ansible's facts failed: %s\n", fr.CompareErr)
	}
	return strings.TrimRight(b.String(), "\n")
}
