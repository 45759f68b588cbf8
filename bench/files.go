package main

// The files workload (issue 16): on each of H hosts one step of each file
// kind — a `file` directory, a `template`, a `line` (key=value) and a
// `copy` — measured as a first run (nothing there: every step changes)
// and an unchanged re-run (nothing to do), against the same four tasks
// as a tuned Ansible playbook (file, template, lineinfile, copy) and the
// raw x/crypto/ssh floor with as many sessions per host (8 and 4), and
// on the re-run also the raw client replaying runbook's probe commands.
//
// The paths are in each host's private /tmp (the fleet's hosts share
// everything else, the bench user's home included), without become.
// Between two runs of a tool the harness removes them from the
// controller side (hosttmp/hNNN/rbfiles); after a first run it checks
// every file's bytes and mode on every host, after a re-run that the
// tool reported nothing changed (runbook's report.json, Ansible's
// PLAY RECAP). Round trips: the commands of each step in runbook's
// report.json (every measured run), and, in a counting pass after the
// measured runs, the sessions and connections sshd itself logs at
// LogLevel VERBOSE for one first run and one re-run of each tool.

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	flagFiles        = flag.Int("files", 50, "hosts of the files workload (file + template + line + copy on each host; first run and unchanged re-run); 0: not run")
	flagFilesRuns    = flag.Int("files-runs", 5, "measured runs of runbook and the raw floor on the files workload (each a first run and an unchanged re-run)")
	flagFilesAnsRuns = flag.Int("files-ansible-runs", 3, "measured runs of tuned Ansible on the files workload")
	flagFilesCount   = flag.Bool("files-count", true, "after the measured runs, count sshd's sessions per host for one first run and one re-run of each tool (LogLevel VERBOSE meanwhile)")
)

const (
	filesSteps = 4
	filesTop   = "/tmp/rbfiles" // on each host: its private /tmp
	filesDir   = filesTop + "/etc"
)

// The content both tools must produce on host name.
func filesWantConf(name string) string {
	return fmt.Sprintf("# %s: written by the runbook benchmark\n[cluster]\nname = moonlight\nport = 8080\n\n[nodes]\n"+
		"n01 = moonlight-n01\nn02 = moonlight-n02\nn03 = moonlight-n03\n", name)
}

const (
	filesWantDefaults = "THREADS=8\n"
	filesWantMotd     = "Welcome to the runbook benchmark\n"
)

const filesTemplateHCL = `# ${name}: written by the runbook benchmark
[cluster]
name = ${cluster}
port = ${port}

[nodes]
%{ for n in nodes ~}
${n} = ${cluster}-${n}
%{ endfor ~}
`

const filesTemplateJinja = `# {{ name }}: written by the runbook benchmark
[cluster]
name = {{ cluster }}
port = {{ port }}

[nodes]
{% for n in nodes %}
{{ n }} = {{ cluster }}-{{ n }}
{% endfor %}
`

const filesRunbook = `# The files workload of bench/ (issue 16), generated: one step of each
# file kind per host, in the host's private /tmp, no become.
runbook "files" {
  hosts = "bench"
}

step "file" "dir" {
  path  = "` + filesDir + `"
  state = "directory"
  mode  = "0750"
}

step "template" "conf" {
  dest   = "` + filesDir + `/app.conf"
  source = "app.conf.tftpl"
  vars   = { name = host.name, cluster = "moonlight", port = 8080, nodes = ["n01", "n02", "n03"] }
  mode   = "0644"
}

step "line" "threads" {
  path   = "` + filesDir + `/defaults"
  key    = "THREADS"
  value  = "8"
  create = true
  mode   = "0644"
}

step "copy" "motd" {
  dest    = "` + filesDir + `/motd"
  content = "Welcome to the runbook benchmark\n"
  mode    = "0644"
}
`

const filesPlaybook = `# The files workload of bench/ (issue 16), generated: the runbook's four
# steps as Ansible tasks. Tuned: no facts here; pipelining, ControlPersist
# and a fixed interpreter in ansible-tuned.cfg.
- hosts: bench
  gather_facts: false
  tasks:
    - name: dir
      ansible.builtin.file:
        path: ` + filesDir + `
        state: directory
        mode: "0750"
    - name: conf
      ansible.builtin.template:
        src: app.conf.j2
        dest: ` + filesDir + `/app.conf
        mode: "0644"
      vars:
        name: "{{ inventory_hostname }}"
        cluster: moonlight
        port: 8080
        nodes: [n01, n02, n03]
    - name: threads
      ansible.builtin.lineinfile:
        path: ` + filesDir + `/defaults
        regexp: '^THREADS='
        line: THREADS=8
        create: true
        mode: "0644"
    - name: motd
      ansible.builtin.copy:
        dest: ` + filesDir + `/motd
        content: "Welcome to the runbook benchmark\n"
        mode: "0644"
`

// filesWorkload is the generated runbook, playbook and inventories.
type filesWorkload struct {
	Hosts                                           int
	f                                               *fleet
	dir, runbook, inventory, hostsTxt, ansInv, play string
}

func (w *filesWorkload) write(root string) error {
	w.dir = filepath.Join(root, fmt.Sprintf("files%d", w.Hosts))
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return err
	}
	inv, hosts, ini := inventories(w.Hosts, w.f)
	w.runbook = filepath.Join(w.dir, "bench.hcl") // the name BenchmarkApplyLoopback reads
	w.inventory = filepath.Join(w.dir, "inventory.hcl")
	w.hostsTxt = filepath.Join(w.dir, "hosts.txt")
	w.ansInv = filepath.Join(w.dir, "hosts.ini")
	w.play = filepath.Join(w.dir, "play-tuned.yml")
	for p, body := range map[string]string{
		w.runbook: filesRunbook, filepath.Join(w.dir, "app.conf.tftpl"): filesTemplateHCL,
		w.play: filesPlaybook, filepath.Join(w.dir, "app.conf.j2"): filesTemplateJinja,
		w.inventory: inv, w.hostsTxt: hosts, w.ansInv: ini,
	} {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostDir is where host i's /tmp/rbfiles is on the controller.
func (w *filesWorkload) hostDir(i int) string {
	return filepath.Join(w.f.dir, "hosttmp", fmt.Sprintf("h%03d", i), strings.TrimPrefix(filesTop, "/tmp/"))
}

// clean removes what a run left on every host (not timed).
func (w *filesWorkload) clean() error {
	for i := 1; i <= w.Hosts; i++ {
		if err := os.RemoveAll(w.hostDir(i)); err != nil {
			return err
		}
	}
	return nil
}

// verify checks every host's files after a first run: bytes and modes.
func (w *filesWorkload) verify() error {
	var bad []string
	for i := 1; i <= w.Hosts; i++ {
		name := fmt.Sprintf("h%03d", i)
		etc := filepath.Join(w.hostDir(i), "etc")
		if st, err := os.Stat(etc); err != nil || !st.IsDir() || st.Mode().Perm() != 0o750 {
			bad = append(bad, fmt.Sprintf("%s: %s is not a directory of mode 0750 (%v)", name, filesDir, statDesc(st, err)))
			continue
		}
		for base, want := range map[string]string{"app.conf": filesWantConf(name), "defaults": filesWantDefaults, "motd": filesWantMotd} {
			p := filepath.Join(etc, base)
			st, err := os.Stat(p)
			if err != nil || st.Mode().Perm() != 0o644 {
				bad = append(bad, fmt.Sprintf("%s: %s/%s is not a file of mode 0644 (%v)", name, filesDir, base, statDesc(st, err)))
				continue
			}
			if got, err := os.ReadFile(p); err != nil || string(got) != want {
				bad = append(bad, fmt.Sprintf("%s: %s/%s holds %q, not %q", name, filesDir, base, got, want))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d problem(s) on the hosts, first: %s", len(bad), bad[0])
	}
	return nil
}

func statDesc(st os.FileInfo, err error) string {
	if err != nil {
		return err.Error()
	}
	return st.Mode().String()
}

// filesRun is one measured run of a tool: a first run and a re-run.
type filesRun struct {
	First, Again sample
	// From runbook's report.json: host-steps, the commands they ran,
	// how many changed; Ansible: changed= of the PLAY RECAP.
	HostSteps                  int
	NoFirst                    bool // only a re-run (the raw replay of runbook's probes)
	FirstCmds, AgainCmds       int
	FirstChanged, AgainChanged int
}

// sessionCount is what sshd logged at VERBOSE for one run, all hosts.
type sessionCount struct {
	Conns, Commands, SFTP, Other int
}

func (c sessionCount) sessions() int { return c.Commands + c.SFTP + c.Other }

type filesResults struct {
	Hosts              int
	Started, Ended     time.Time
	LoadStart, LoadEnd string
	Runs               map[string][]filesRun
	// Sessions: tool → [first run, re-run] of the counting pass.
	Sessions map[string][2]sessionCount
	CountErr string
}

func loadAvg3() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " / ")
}

// rbReport counts the host-steps, commands and changed steps of the run
// recorded under state (its one runs/*/report.json).
type rbTally struct {
	hostSteps, cmds, changed, unchanged, other int
	// byHost: each host's command lines in order, as sent (no become).
	byHost map[string][]string
}

func readRunbookReport(state string) (rbTally, error) {
	var t rbTally
	paths, _ := filepath.Glob(filepath.Join(state, "runs", "*", "report.json"))
	if len(paths) != 1 {
		return t, fmt.Errorf("want one report.json under %s, found %d", state, len(paths))
	}
	b, err := os.ReadFile(paths[0])
	if err != nil {
		return t, err
	}
	var r struct {
		Result string `json:"result"`
		Hosts  []struct {
			Name  string `json:"name"`
			Steps []struct {
				Status   string `json:"status"`
				Commands []struct {
					Command string `json:"command"`
				} `json:"commands"`
			} `json:"steps"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return t, fmt.Errorf("%s: %v", paths[0], err)
	}
	t.byHost = map[string][]string{}
	for _, h := range r.Hosts {
		for _, s := range h.Steps {
			t.hostSteps++
			t.cmds += len(s.Commands)
			for _, c := range s.Commands {
				t.byHost[h.Name] = append(t.byHost[h.Name], c.Command)
			}
			switch s.Status {
			case "changed":
				t.changed++
			case "unchanged":
				t.unchanged++
			default:
				t.other++
			}
		}
	}
	return t, nil
}

var recapLine = regexp.MustCompile(`^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// ansibleRecap sums the PLAY RECAP of an ansible-playbook log.
func ansibleRecap(logPath string) (hosts, ok, changed, bad int, err error) {
	fh, err := os.Open(logPath)
	if err != nil {
		return
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		m := recapLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		hosts++
		ok += n(2)
		changed += n(3)
		bad += n(4) + n(5)
	}
	return hosts, ok, changed, bad, sc.Err()
}

func failSample(s *sample, format string, args ...any) {
	if s.OK {
		s.OK = false
		s.Err = fmt.Sprintf(format, args...)
	}
}

// runFiles measures the files workload: runbook, the raw floor and tuned
// Ansible, alternating (rotating who goes first), then the counting pass.
func runFiles(work string, f *fleet, rbBin, rawBin, ansTuned string, next func() int) (*filesResults, error) {
	w := &filesWorkload{Hosts: *flagFiles, f: f}
	if err := w.write(work); err != nil {
		return nil, err
	}
	fr := &filesResults{Hosts: w.Hosts, Started: time.Now(), LoadStart: loadAvg3(), Runs: map[string][]filesRun{}, Sessions: map[string][2]sessionCount{}}
	label := fmt.Sprintf("files%d", w.Hosts)
	hostSteps := w.Hosts * filesSteps
	cleanEnv := benchEnv(nil)
	logPath := func(n int, tool, phase string) string {
		return filepath.Join(work, "logs", fmt.Sprintf("%04d-%s-%s-%s.log", n, tool, label, phase))
	}

	// runbookOnce is one apply, its sample and what its report says.
	runbookOnce := func(phase string) (sample, rbTally) {
		n := next()
		state := filepath.Join(work, "state", fmt.Sprint(n))
		defer os.RemoveAll(state)
		cmd := exec.Command(rbBin, "apply", w.runbook, "-i", w.inventory, "--auto-approve",
			"--forks", fmt.Sprint(w.Hosts), "--state-dir", state)
		cmd.Env = cleanEnv
		s := measure(cmd, logPath(n, "runbook", phase), f.server())
		t, err := readRunbookReport(state)
		if err != nil {
			failSample(&s, "%v", err)
		}
		return s, t
	}
	var lastAgain rbTally // the last re-run's report (its commands)
	runRunbook := func() filesRun {
		var r filesRun
		if err := w.clean(); err != nil {
			r.First.Err = err.Error()
			return r
		}
		var t1, t2 rbTally
		r.First, t1 = runbookOnce("first")
		if err := w.verify(); err != nil {
			failSample(&r.First, "after the first run: %v", err)
		}
		if t1.hostSteps != hostSteps || t1.changed != hostSteps {
			failSample(&r.First, "first run: %d of %d host-steps changed (report.json)", t1.changed, hostSteps)
		}
		r.Again, t2 = runbookOnce("again")
		if t2.hostSteps != hostSteps || t2.unchanged != hostSteps {
			failSample(&r.Again, "re-run: %d of %d host-steps unchanged (report.json)", t2.unchanged, hostSteps)
		}
		lastAgain = t2
		r.HostSteps, r.FirstCmds, r.AgainCmds = t1.hostSteps, t1.cmds, t2.cmds
		r.FirstChanged, r.AgainChanged = t1.changed, t2.changed
		return r
	}
	rawOnce := func(phase string, steps int) sample {
		n := next()
		cmd := exec.Command(rawBin, "-hosts", w.hostsTxt, "-key", f.key, "-known-hosts", f.known,
			"-user", f.user, "-steps", fmt.Sprint(steps), "-cmd", "echo 1")
		cmd.Env = cleanEnv
		return measure(cmd, logPath(n, "raw", phase), f.server())
	}
	runRaw := func() filesRun {
		return filesRun{First: rawOnce("first", 2*filesSteps), Again: rawOnce("again", filesSteps), HostSteps: hostSteps}
	}
	// runbook's re-run probes replayed by the raw client: what the probes
	// cost on the hosts without runbook around them.
	probesFile := filepath.Join(w.dir, "probes.txt")
	runRawProbes := func() filesRun {
		n := next()
		cmd := exec.Command(rawBin, "-hosts", w.hostsTxt, "-key", f.key, "-known-hosts", f.known,
			"-user", f.user, "-cmd-file", probesFile)
		cmd.Env = cleanEnv
		return filesRun{NoFirst: true, Again: measure(cmd, logPath(n, "raw-probes", "again"), f.server()), HostSteps: hostSteps}
	}
	ansOnce := func(phase string) (sample, int) {
		n := next()
		cp := filepath.Join(work, "cp", fmt.Sprint(n))
		os.MkdirAll(cp, 0o700)
		defer os.RemoveAll(cp)
		lp := logPath(n, "ansible-tuned", phase)
		cmd := exec.Command("ansible-playbook", "-i", w.ansInv, "-f", fmt.Sprint(min(w.Hosts, *flagAnsForks)), w.play)
		cmd.Env = benchEnv(map[string]string{"ANSIBLE_CONFIG": ansTuned, "ANSIBLE_SSH_CONTROL_PATH_DIR": cp})
		s := measureAnsible(cmd, lp, f.server(), cp)
		hosts, ok, changed, bad, err := ansibleRecap(lp)
		switch {
		case err != nil:
			failSample(&s, "%v", err)
		case hosts != w.Hosts || bad > 0 || ok != hostSteps:
			failSample(&s, "PLAY RECAP: %d hosts, ok=%d, unreachable+failed=%d (log %s)", hosts, ok, bad, lp)
		}
		return s, changed
	}
	runAnsible := func() filesRun {
		var r filesRun
		if err := w.clean(); err != nil {
			r.First.Err = err.Error()
			return r
		}
		r.First, r.FirstChanged = ansOnce("first")
		if err := w.verify(); err != nil {
			failSample(&r.First, "after the first run: %v", err)
		}
		if r.FirstChanged != hostSteps {
			failSample(&r.First, "first run: changed=%d in the PLAY RECAP, not %d", r.FirstChanged, hostSteps)
		}
		r.Again, r.AgainChanged = ansOnce("again")
		if r.AgainChanged != 0 {
			failSample(&r.Again, "re-run: changed=%d in the PLAY RECAP, not 0", r.AgainChanged)
		}
		r.HostSteps = hostSteps
		return r
	}

	type filesRunner struct {
		name string
		runs int
		run  func() filesRun
	}
	runners := []filesRunner{{"runbook", *flagFilesRuns, runRunbook}, {"raw", *flagFilesRuns, runRaw}, {"raw-probes", *flagFilesRuns, runRawProbes}}
	if *flagAnsible {
		runners = append(runners, filesRunner{"ansible-tuned", *flagFilesAnsRuns, runAnsible})
	}

	logf("files workload (%d hosts × %d steps): warm-up", w.Hosts, filesSteps)
	if r := runRunbook(); !r.First.OK || !r.Again.OK {
		return nil, fmt.Errorf("runbook warm-up on the files workload failed: %s%s", r.First.Err, r.Again.Err)
	}
	if r := runRaw(); !r.First.OK || !r.Again.OK {
		return nil, fmt.Errorf("raw warm-up on the files workload failed: %s%s", r.First.Err, r.Again.Err)
	}
	if err := writeProbes(probesFile, lastAgain, f); err != nil {
		return nil, err
	}
	if r := runRawProbes(); !r.Again.OK {
		return nil, fmt.Errorf("raw replay of runbook's probes failed: %s", r.Again.Err)
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
			fr1 := r.run()
			fr.Runs[r.name] = append(fr.Runs[r.name], fr1)
			for _, ph := range []struct {
				name string
				s    sample
			}{{"first", fr1.First}, {"again", fr1.Again}} {
				if ph.name == "first" && fr1.NoFirst {
					continue
				}
				status := "ok"
				if !ph.s.OK {
					status = "FAILED: " + ph.s.Err
				}
				logf("%s run %d/%d %-15s %-5s %8.3fs cpu %7.3fs rss %5.1f MB load %.1f  %s", label, rep+1, r.runs, r.name, ph.name,
					ph.s.Wall.Seconds(), (ph.s.CPU + ph.s.Detached).Seconds(), float64(ph.s.MaxRSS)/1024, ph.s.Load, status)
			}
		}
	}

	if *flagFilesCount {
		if err := countFilesSessions(fr, w, f, runbookOnce, ansOnce); err != nil {
			logf("files workload: counting pass: %v", err)
			fr.CountErr = err.Error()
		}
	}
	_ = w.clean()
	fr.Ended, fr.LoadEnd = time.Now(), loadAvg3()
	return fr, nil
}

// writeProbes writes the commands of a runbook re-run (one probe per
// host-step) as rawssh's -cmd-file: "ADDRESS<TAB>COMMAND" lines.
func writeProbes(path string, t rbTally, f *fleet) error {
	if len(t.byHost) == 0 {
		return fmt.Errorf("no runbook re-run to take the probe commands from")
	}
	var b strings.Builder
	for name, cmds := range t.byHost {
		var i int
		if _, err := fmt.Sscanf(name, "h%d", &i); err != nil || i < 1 {
			return fmt.Errorf("host %q is not hNNN", name)
		}
		for _, c := range cmds {
			if strings.ContainsAny(c, "\n\t") {
				return fmt.Errorf("a command of %s has a newline or tab: %q", name, c)
			}
			fmt.Fprintf(&b, "%s\t%s\n", f.addr(i), c)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// countFilesSessions runs one first run and one re-run of runbook and of
// Ansible with sshd at LogLevel VERBOSE and counts, over all hosts, the
// connections and sessions the daemons logged. Not timed.
func countFilesSessions(fr *filesResults, w *filesWorkload, f *fleet,
	runbookOnce func(string) (sample, rbTally), ansOnce func(string) (sample, int)) (err error) {
	logf("files workload: counting sshd sessions (LogLevel VERBOSE)")
	if err := f.setLogLevel("VERBOSE"); err != nil {
		return err
	}
	defer func() {
		if e := f.setLogLevel("ERROR"); e != nil && err == nil {
			err = e
		}
	}()
	// sshd's log sizes before a run, and what it logged since (facts.go).
	sizes := func() []int64 { return logSizes(f, w.Hosts) }
	count := func(from []int64) (sessionCount, error) { return countSessions(f, w.Hosts, from) }
	type tool struct {
		name string
		once func(phase string) (sample, string)
	}
	tools := []tool{{"runbook", func(ph string) (sample, string) {
		s, t := runbookOnce(ph)
		return s, fmt.Sprintf("%d commands in report.json", t.cmds)
	}}}
	if *flagAnsible {
		tools = append(tools, tool{"ansible-tuned", func(ph string) (sample, string) {
			s, ch := ansOnce(ph)
			return s, fmt.Sprintf("changed=%d", ch)
		}})
	}
	for _, t := range tools {
		if err := w.clean(); err != nil {
			return err
		}
		var pair [2]sessionCount
		for k, ph := range []string{"first", "again"} {
			from := sizes()
			s, what := t.once(ph)
			if !s.OK {
				return fmt.Errorf("%s %s run: %s", t.name, ph, s.Err)
			}
			c, err := count(from)
			if err != nil {
				return err
			}
			if c.Conns == 0 {
				return fmt.Errorf("sshd logged no connection for %s's %s run: is LogLevel VERBOSE in effect?", t.name, ph)
			}
			pair[k] = c
			logf("files%d count %-13s %-5s connections %d, sessions %d (commands %d, sftp %d, other %d); %s", w.Hosts, t.name, ph,
				c.Conns, c.sessions(), c.Commands, c.SFTP, c.Other, what)
		}
		fr.Sessions[t.name] = pair
	}
	return nil
}
