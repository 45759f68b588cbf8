// Command bench measures runbook against the raw-SSH floor and Ansible on
// this machine, and writes the results into docs/performance.md.
//
//	go run ./bench                      # everything (make bench)
//	go run ./bench -workloads 1x20 -runs 3 -ansible=false -phase2=false -files 0   # a quick look
//
// It starts its own sshd daemons on loopback addresses 127.0.0.1..N (port
// -port, one daemon per address, each with a private /tmp so that the
// "hosts" do not share runbook's run lock) for a user it creates (rbbench), installs ansible-core from Debian when
// ansible-playbook is missing, builds runbook and the raw x/crypto/ssh
// baseline (bench/rawssh), and runs, alternating, on the same hosts and
// steps: runbook, the raw baseline, ansible-playbook tuned and with
// defaults. Then the files workload (files.go: a file, template, line
// and copy step per host, first run and unchanged re-run, against tuned
// Ansible; -files 0 leaves it out). Then the facts workload (facts.go:
// host.facts for -facts hosts, one round trip each, against Ansible's
// setup; -facts 0 leaves it out). Then the for_each workload (foreach.go:
// the echo workload as one for_each step against 20 plain steps; -foreach 0
// leaves it out). Then Phase 2 on the Slurm testbed
// (testbed/reset before each run): runbook, bench/phase2/phase2.sh (one multiplexed ssh connection)
// and bench/phase2/phase2.yml. Then `runbook validate`/`plan` of large
// generated runbooks and the Go benchmarks (go test -bench -benchmem).
//
// It needs root (useradd, sshd) and, for Phase 2, a testbed that is up
// (testbed/up); it never stops the testbed's daemons.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

var (
	flagWork        = flag.String("work", "/var/tmp/runbook-bench", "work directory (keys, sshd configs, generated files, logs); not under /tmp")
	flagPort        = flag.Int("port", 2300, "port of the benchmark's sshd daemons")
	flagUser        = flag.String("user", "rbbench", "login user on the benchmark hosts (created when missing)")
	flagWorkloads   = flag.String("workloads", "1x20,50x20,200x20,1x200", "HOSTSxSTEPS, comma-separated")
	flagRuns        = flag.Int("runs", 5, "measured runs of runbook and the raw baseline per workload")
	flagAnsible     = flag.Bool("ansible", true, "run Ansible (installs ansible-core from Debian when missing)")
	flagAnsRuns     = flag.Int("ansible-runs", 3, "measured runs of tuned Ansible per workload")
	flagAnsDefRuns  = flag.Int("ansible-default-runs", 1, "measured runs of Ansible with defaults per workload")
	flagAnsBigHosts = flag.Int("ansible-big-hosts", 100, "workloads with more hosts get one tuned Ansible run and -ansible-big-default-runs with defaults")
	flagAnsBigDef   = flag.Int("ansible-big-default-runs", 0, "Ansible-defaults runs on workloads above -ansible-big-hosts (facts for 200 hosts take many minutes)")
	flagAnsForks    = flag.Int("ansible-forks", 50, "ansible-playbook -f (capped at the host count)")
	flagPhase2      = flag.Bool("phase2", true, "run the Phase 2 comparison on the testbed")
	flagP2Runs      = flag.Int("phase2-runs", 3, "measured runs of each Phase 2 tool")
	flagCLI         = flag.Bool("cli", true, "time runbook validate/plan of large generated runbooks")
	flagGoBench     = flag.Bool("gobench", true, "run the Go benchmarks (go test -bench . -benchmem)")
	flagOut         = flag.String("out", "docs/performance.md", "report to write (the part between the bench markers is replaced)")
	flagKeepFleet   = flag.Bool("keep-fleet", false, "leave the benchmark's sshd daemons running")
	flagTestbed     = flag.String("testbed", "/tmp/runbook-testbed", "testbed directory (env, inventory)")
	flagVariants    variants
)

func init() {
	flag.Var(&flagVariants, "variant", "NAME=PATH: also run this runbook binary on the echo workloads (repeatable), e.g. an engine change under test")
}

// variants are extra runbook binaries measured beside the one built here.
type variants []struct{ name, path string }

func (v *variants) String() string { return "" }
func (v *variants) Set(s string) error {
	name, path, ok := strings.Cut(s, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want NAME=PATH, not %q", s)
	}
	*v = append(*v, struct{ name, path string }{name, path})
	return nil
}

type runner struct {
	name string
	runs int
	run  func(rep int) sample
}

func main() {
	flag.Parse()
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func mainErr() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root (it creates a user and starts sshd)")
	}
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(repo, "cmd", "runbook")); err != nil {
		return fmt.Errorf("run from the repository root (cmd/runbook not found in %s)", repo)
	}
	workloads, err := parseWorkloads(*flagWorkloads)
	if err != nil {
		return err
	}
	work := *flagWork
	for _, d := range []string{"bin", "logs", "state", "cp"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return err
		}
	}
	res := &results{Started: time.Now(), Workloads: workloads, Phase2: map[string][]sample{}, Synthetic: map[string]map[string][]sample{}}

	if *flagAnsible || *flagPhase2 {
		if err := ensureAnsible(); err != nil {
			return err
		}
	}
	res.Facts = machineFacts()

	logf("building runbook and rawssh")
	rbBin := filepath.Join(work, "bin", "runbook")
	rawBin := filepath.Join(work, "bin", "rawssh")
	if _, err := run("go", "build", "-o", rbBin, "./cmd/runbook"); err != nil {
		return err
	}
	if _, err := run("go", "build", "-o", rawBin, "./bench/rawssh"); err != nil {
		return err
	}

	maxHosts := 0
	for _, w := range workloads {
		maxHosts = max(maxHosts, w.Hosts)
	}
	maxHosts = max(maxHosts, *flagFiles)
	maxHosts = max(maxHosts, *flagFacts)
	maxHosts = max(maxHosts, *flagForeach)
	f := &fleet{dir: work, port: *flagPort, user: *flagUser, hosts: maxHosts}
	if maxHosts > 0 {
		logf("starting %d sshd daemon(s) for %d loopback hosts on port %d", f.daemons(), maxHosts, f.port)
		if err := f.up(); err != nil {
			return err
		}
		if !*flagKeepFleet {
			defer f.down()
		}
	}
	ansTuned, ansDef, err := writeAnsibleConfigs(work)
	if err != nil {
		return err
	}
	seq := 0
	next := func() int { seq++; return seq }
	cleanEnv := benchEnv(nil)

	for _, w := range workloads {
		if err := w.write(work, f); err != nil {
			return err
		}
		tasks := w.Hosts * w.Steps
		ansForks := min(w.Hosts, *flagAnsForks)
		ansRuns, ansDefRuns := *flagAnsRuns, *flagAnsDefRuns
		if w.Hosts > *flagAnsBigHosts {
			ansRuns, ansDefRuns = min(ansRuns, 1), *flagAnsBigDef
		}
		runRunbookBin := func(bin, label string) func(int) sample {
			return func(int) sample {
				n := next()
				state := filepath.Join(work, "state", fmt.Sprint(n))
				cmd := exec.Command(bin, "apply", w.runbook, "-i", w.inventory, "--auto-approve",
					"--forks", fmt.Sprint(w.Hosts), "--state-dir", state)
				cmd.Env = cleanEnv
				s := measure(cmd, filepath.Join(work, "logs", fmt.Sprintf("%04d-%s-%s.log", n, label, w.Name())), f.server())
				os.RemoveAll(state)
				return s
			}
		}
		runRunbook := runRunbookBin(rbBin, "runbook")
		runRaw := func(int) sample {
			n := next()
			cmd := exec.Command(rawBin, "-hosts", w.hostsTxt, "-key", f.key, "-known-hosts", f.known,
				"-user", f.user, "-steps", fmt.Sprint(w.Steps), "-cmd", "echo 1")
			cmd.Env = cleanEnv
			return measure(cmd, filepath.Join(work, "logs", fmt.Sprintf("%04d-raw-%s.log", n, w.Name())), f.server())
		}
		runAnsible := func(cfg, play, label string) func(int) sample {
			return func(int) sample {
				n := next()
				cp := filepath.Join(work, "cp", fmt.Sprint(n))
				os.MkdirAll(cp, 0o700)
				cmd := exec.Command("ansible-playbook", "-i", w.ansibleInv, "-f", fmt.Sprint(ansForks), play)
				cmd.Env = benchEnv(map[string]string{"ANSIBLE_CONFIG": cfg, "ANSIBLE_SSH_CONTROL_PATH_DIR": cp})
				s := measureAnsible(cmd, filepath.Join(work, "logs", fmt.Sprintf("%04d-%s-%s.log", n, label, w.Name())), f.server(), cp)
				os.RemoveAll(cp)
				return s
			}
		}
		runners := []runner{
			{"runbook", *flagRuns, runRunbook},
			{"raw", *flagRuns, runRaw},
		}
		for _, v := range flagVariants {
			runners = append(runners, runner{"variant:" + v.name, *flagRuns, runRunbookBin(v.path, "variant-"+v.name)})
		}
		if *flagAnsible {
			runners = append(runners,
				runner{"ansible-tuned", ansRuns, runAnsible(ansTuned, w.playTuned, "ansible-tuned")},
				runner{"ansible-default", ansDefRuns, runAnsible(ansDef, w.playDefault, "ansible-default")})
		}
		logf("workload %s (%d host-tasks): warm-up", w.Name(), tasks)
		for _, r := range runners[:2] {
			if s := r.run(-1); !s.OK {
				return fmt.Errorf("%s warm-up on %s failed: %s", r.name, w.Name(), s.Err)
			}
		}
		res.Synthetic[w.Name()] = alternate(runners, w.Name())
	}

	var files *filesResults
	if *flagFiles > 0 {
		if files, err = runFiles(work, f, rbBin, rawBin, ansTuned, next); err != nil {
			return err
		}
	}

	var factsRes *factsResults
	if *flagFacts > 0 {
		if factsRes, err = runFacts(work, f, rawBin, ansTuned, ansDef, next); err != nil {
			return err
		}
	}

	var foreachRes *foreachResults
	if *flagForeach > 0 {
		if foreachRes, err = runForeach(work, f, rbBin, next); err != nil {
			return err
		}
	}

	if *flagPhase2 {
		if err := phase2(res, repo, work, rbBin, next); err != nil {
			logf("phase 2 skipped: %v", err)
			res.Phase2Err = err.Error()
		}
	}
	if *flagCLI {
		if err := cliTimings(res, work, rbBin); err != nil {
			return err
		}
	}
	if *flagGoBench {
		logf("go test -bench (engine, steps/slurm)")
		out, err := run("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1",
			"./engine/...", "./steps/slurm/", "./inventory/")
		if err != nil {
			logf("go benchmarks failed: %v", err)
		}
		res.GoBench = out
	}
	res.Ended = time.Now()
	// The main block only when something of it ran: a run of the files
	// workload alone leaves the last full results in place.
	if len(workloads) > 0 || *flagPhase2 || *flagCLI || *flagGoBench {
		md := res.markdown()
		fmt.Println(md)
		if *flagOut != "" {
			if err := writeReport(*flagOut, md); err != nil {
				return err
			}
			logf("wrote %s", *flagOut)
		}
	}
	if files != nil {
		md := files.markdown(res.Facts)
		fmt.Println(md)
		if *flagOut != "" {
			if err := writeBlock(*flagOut, filesBegin, filesEnd, md); err != nil {
				return err
			}
			logf("wrote the files workload's block of %s", *flagOut)
		}
	}
	if factsRes != nil {
		md := factsRes.markdown(res.Facts)
		fmt.Println(md)
		if *flagOut != "" {
			if err := writeBlock(*flagOut, factsBegin, factsEnd, md); err != nil {
				return err
			}
			logf("wrote the facts workload's block of %s", *flagOut)
		}
	}
	if foreachRes != nil {
		md := foreachRes.markdown(res.Facts)
		fmt.Println(md)
		if *flagOut != "" {
			if err := writeBlock(*flagOut, foreachBegin, foreachEnd, md); err != nil {
				return err
			}
			logf("wrote the for_each workload's block of %s", *flagOut)
		}
	}
	return nil
}

// alternate runs the runners round-robin, rotating who goes first, so slow
// drifts of the machine hit every tool alike.
func alternate(runners []runner, label string) map[string][]sample {
	out := map[string][]sample{}
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
			s := r.run(rep)
			out[r.name] = append(out[r.name], s)
			status := "ok"
			if !s.OK {
				status = "FAILED: " + s.Err
			}
			logf("%s run %d/%d %-15s %8.3fs cpu %7.3fs rss %5.1f MB  %s", label, rep+1, r.runs, r.name,
				s.Wall.Seconds(), (s.CPU + s.Detached).Seconds(), float64(s.MaxRSS)/1024, status)
		}
	}
	return out
}

// measureAnsible is measure for ansible-playbook: its ssh masters are
// ended after the run (their CPU is the run's), and the server side is
// read once their connections are gone.
func measureAnsible(cmd *exec.Cmd, logPath string, srv *server, cpDir string) sample {
	before := srv.cpu()
	s := measure(cmd, logPath, nil)
	s.Detached, s.DetachedRSS = reapDetached(cpDir)
	srv.settle()
	s.Server = srv.cpu() - before
	return s
}

// benchEnv is this environment without what would change a tool's
// behaviour between runs (an ssh-agent, a default inventory), plus extra.
func benchEnv(extra map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "SSH_AUTH_SOCK", "RUNBOOK_INVENTORY", "ANSIBLE_CONFIG", "ANSIBLE_SSH_CONTROL_PATH_DIR":
			continue
		}
		out = append(out, kv)
	}
	for k, v := range extra {
		out = append(out, k+"="+v)
	}
	return out
}

func ensureAnsible() error {
	if _, err := exec.LookPath("ansible-playbook"); err == nil {
		return nil
	}
	logf("installing ansible-core from Debian (apt-get)")
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	install := func() error {
		cmd := exec.Command("apt-get", "install", "-y", "--no-install-recommends", "ansible-core")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get install ansible-core: %v: %s", err, tail(string(out), 5))
		}
		return nil
	}
	if err := install(); err != nil {
		cmd := exec.Command("apt-get", "update")
		cmd.Env = env
		if out, uerr := cmd.CombinedOutput(); uerr != nil {
			return fmt.Errorf("apt-get update: %v: %s", uerr, tail(string(out), 5))
		}
		return install()
	}
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// facts is what the report says about the machine.
type facts struct {
	Host, CPU, Cores, RAM, Kernel, Go, OpenSSH, Ansible, Python, Slurm, Debian, GoArch string
}

func machineFacts() facts {
	first := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return "n/a"
		}
		return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	f := facts{Cores: fmt.Sprint(runtime.NumCPU()), GoArch: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				f.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "MemTotal:") {
				var kb int64
				fmt.Sscanf(strings.TrimPrefix(line, "MemTotal:"), "%d", &kb)
				f.RAM = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	f.Kernel = first("uname", "-r")
	f.Go = first("go", "version")
	f.OpenSSH = first("ssh", "-V")
	f.Ansible = first("ansible-playbook", "--version")
	f.Python = first("python3", "--version")
	f.Slurm = first("sinfo", "--version")
	if b, err := os.ReadFile("/etc/debian_version"); err == nil {
		f.Debian = "Debian " + strings.TrimSpace(string(b))
	}
	return f
}

// The markers of the generated blocks of docs/performance.md.
const (
	mainBegin, mainEnd   = "<!-- bench:begin -->", "<!-- bench:end -->"
	filesBegin, filesEnd = "<!-- bench:files:begin -->", "<!-- bench:files:end -->"
)

func writeReport(path, generated string) error {
	return writeBlock(path, mainBegin, mainEnd, generated)
}

// writeBlock replaces the part of path between begin and end (the
// markers included) with generated, or appends it when they are missing.
func writeBlock(path, begin, end, generated string) error {
	block := begin + "\n" + generated + "\n" + end + "\n"
	old, err := os.ReadFile(path)
	var body string
	switch {
	case err == nil && strings.Contains(string(old), begin) && strings.Contains(string(old), end):
		s := string(old)
		i := strings.Index(s, begin)
		j := strings.Index(s, end) + len(end)
		if j < len(s) && s[j] == '\n' {
			j++
		}
		body = s[:i] + block + s[j:]
	case err == nil:
		body = strings.TrimRight(string(old), "\n") + "\n\n" + block
	default:
		body = "# Performance\n\nMeasured by `make bench` (bench/). The section between the markers is rewritten by each run.\n\n" + block
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(body), 0o644)
}
