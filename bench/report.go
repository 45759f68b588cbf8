package main

import (
	"fmt"
	"strings"
	"time"
)

type results struct {
	Started, Ended time.Time
	Facts          facts
	Workloads      []*workload
	Synthetic      map[string]map[string][]sample // workload → tool → samples
	Phase2         map[string][]sample
	Phase2Err      string
	Phase2Retried  []string // failed Phase 2 runs that were retried
	CLI            []cliTiming
	GoBench        string
}

func secs(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func mb(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func perTask(d time.Duration, tasks int) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)/float64(tasks))
}

var toolLabel = map[string]string{
	"runbook":         "runbook",
	"raw":             "raw x/crypto/ssh",
	"ansible-tuned":   "Ansible tuned",
	"ansible-default": "Ansible defaults",
	"shell":           "shell script, 1 ssh ControlMaster",
	"ansible":         "Ansible playbook (tuned)",
}

type target struct {
	what, measured string
	ok             bool
	known          bool
}

func (r *results) markdown() string {
	var b strings.Builder
	f := r.Facts
	fmt.Fprintf(&b, "## Results of the last `make bench`\n\n")
	fmt.Fprintf(&b, "Run %s – %s (%s).\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Ended.UTC().Format("15:04 MST"), r.Ended.Sub(r.Started).Round(time.Second))
	fmt.Fprintf(&b, "| machine | |\n| --- | --- |\n")
	for _, kv := range [][2]string{
		{"CPU", fmt.Sprintf("%s × %s cores", f.CPU, f.Cores)}, {"RAM", f.RAM}, {"OS", f.Debian + ", Linux " + f.Kernel},
		{"Go", f.Go}, {"OpenSSH", f.OpenSSH}, {"Ansible", f.Ansible + " (" + f.Python + ")"}, {"Slurm", f.Slurm},
	} {
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], strings.ReplaceAll(kv[1], "|", "/"))
	}

	var targets []target
	rbStats := map[string]stats{}

	fmt.Fprintf(&b, "\n### Echo workloads (hosts × steps), loopback sshd\n\n")
	fmt.Fprintf(&b, "Wall time median (min–max) of the measured runs; CPU is user+sys of the controller's process tree "+
		"(for Ansible including its ControlPersist ssh masters); sshd CPU is the server side (sshd and the remote commands) on the same 2 cores; "+
		"peak RSS is the largest single process (ru_maxrss; for Ansible the ssh masters' total is given apart).\n\n")
	fmt.Fprintf(&b, "× raw is the ratio of medians (in brackets: of the fastest runs, which background load inflates least); load is the median 1-minute load average when the runs started (2 would be both cores busy).\n\n")
	fmt.Fprintf(&b, "| workload | tool | runs | wall | min–max | × raw | × runbook | controller CPU | CPU / host-task | sshd CPU / host-task | peak RSS | load |\n")
	fmt.Fprintf(&b, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, w := range r.Workloads {
		byTool := r.Synthetic[w.Name()]
		if byTool == nil {
			continue
		}
		tasks := w.Hosts * w.Steps
		rb := summarise(byTool["runbook"])
		rawSt := summarise(byTool["raw"])
		rbStats[w.Name()] = rb
		tools := []string{"runbook", "raw"}
		for _, v := range flagVariants {
			tools = append(tools, "variant:"+v.name)
		}
		for _, tool := range append(tools, "ansible-tuned", "ansible-default") {
			label := toolLabel[tool]
			if name, ok := strings.CutPrefix(tool, "variant:"); ok {
				label = "runbook variant " + name
			}
			ss, ok := byTool[tool]
			if !ok {
				continue
			}
			st := summarise(ss)
			runs := fmt.Sprint(st.N)
			if st.Failed > 0 {
				runs += fmt.Sprintf(" (+%d failed)", st.Failed)
			}
			if st.N == 0 {
				fmt.Fprintf(&b, "| %s | %s | %s | – | – | – | – | – | – | – | – | – |\n", w.Name(), label, runs)
				continue
			}
			rel := "1"
			if tool != "runbook" && rb.N > 0 {
				rel = fmt.Sprintf("%.2f", ratio(st.Wall, rb.Wall))
			}
			relRaw := "–"
			if rawSt.N > 0 {
				relRaw = fmt.Sprintf("%.2f (%.2f)", ratio(st.Wall, rawSt.Wall), ratio(st.Min, rawSt.Min))
			}
			rss := mb(st.MaxRSS)
			if st.DetachedKB > 0 {
				rss += fmt.Sprintf(" + masters %s", mb(st.DetachedKB))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | **%s** | %s–%s | %s | %s | %s | %s | %s | %s | %.1f |\n", w.Name(), label, runs,
				secs(st.Wall), secs(st.Min), secs(st.Max), relRaw, rel, secs(st.CPU), perTask(st.CPU, tasks), perTask(st.Server, tasks), rss, st.Load)
		}
	}

	// Targets on the echo workloads.
	for _, w := range r.Workloads {
		byTool := r.Synthetic[w.Name()]
		if byTool == nil {
			continue
		}
		rb, raw := summarise(byTool["runbook"]), summarise(byTool["raw"])
		limit := 0.0
		switch {
		case w.Steps == 20 && (w.Hosts == 1 || w.Hosts == 50):
			limit = 1.25
		case w.Steps == 20 && w.Hosts == 200:
			limit = 1.5
		}
		if limit > 0 && rb.N > 0 && raw.N > 0 {
			q := ratio(rb.Wall, raw.Wall)
			targets = append(targets, target{fmt.Sprintf("runbook / raw ≤ %.2f on %s", limit, w.Name()),
				fmt.Sprintf("%.2f (fastest runs: %.2f)", q, ratio(rb.Min, raw.Min)), q <= limit, true})
			for _, v := range flagVariants {
				if vs := summarise(byTool["variant:"+v.name]); vs.N > 0 {
					vq := ratio(vs.Wall, raw.Wall)
					targets = append(targets, target{fmt.Sprintf("… with variant %s", v.name),
						fmt.Sprintf("%.2f (fastest runs: %.2f)", vq, ratio(vs.Min, raw.Min)), vq <= limit, true})
				}
			}
		}
		if at, ok := byTool["ansible-tuned"]; ok && w.Steps == 20 && (w.Hosts == 1 || w.Hosts == 50) {
			want := 20.0
			if w.Hosts == 50 {
				want = 40
			}
			if st := summarise(at); st.N > 0 && rb.N > 0 {
				q := ratio(st.Wall, rb.Wall)
				targets = append(targets, target{fmt.Sprintf("tuned Ansible / runbook ≥ %.0f on %s", want, w.Name()), fmt.Sprintf("%.1f", q), q >= want, true})
			}
		}
		cands := []struct{ name, tool string }{{"runbook", "runbook"}}
		for _, v := range flagVariants {
			cands = append(cands, struct{ name, tool string }{"variant " + v.name, "variant:" + v.name})
		}
		for _, c := range cands {
			st := summarise(byTool[c.tool])
			if st.N == 0 {
				continue
			}
			per := float64(st.CPU) / float64(time.Millisecond) / float64(w.Hosts*w.Steps)
			targets = append(targets, target{fmt.Sprintf("controller CPU ≤ 0.5 ms per host-task on %s (%s)", w.Name(), c.name), fmt.Sprintf("%.3f ms", per), per <= 0.5, true})
			if w.Hosts == 50 {
				targets = append(targets, target{fmt.Sprintf("peak RSS ≤ 30 MB at 50 hosts (%s)", c.name), mb(st.MaxRSS), st.MaxRSS <= 30*1024, true})
			}
		}
	}
	// RSS growth with hosts (20-step workloads).
	var rssPts []string
	for _, w := range r.Workloads {
		if st, ok := rbStats[w.Name()]; ok && st.N > 0 && w.Steps == 20 {
			rssPts = append(rssPts, fmt.Sprintf("%d hosts: %s", w.Hosts, mb(st.MaxRSS)))
		}
	}
	if len(rssPts) > 1 {
		targets = append(targets, target{"peak RSS grows linearly with hosts", strings.Join(rssPts, "; "), false, false})
	}

	if len(r.Phase2) > 0 || r.Phase2Err != "" {
		fmt.Fprintf(&b, "\n### Phase 2 on the Slurm testbed (testbed/reset before each run)\n\n")
		if r.Phase2Err != "" {
			fmt.Fprintf(&b, "Not run: %s\n", r.Phase2Err)
		} else {
			fmt.Fprintf(&b, "| tool | runs | wall | min–max | × runbook | controller CPU | testbed sshd CPU (sshd alone, not the Slurm commands: see bench/README.md) | peak RSS | load |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
			rb := summarise(r.Phase2["runbook"])
			p2tools := []string{"runbook", "shell", "ansible"}
			for _, v := range flagVariants {
				p2tools = append(p2tools, "variant:"+v.name)
			}
			for _, tool := range p2tools {
				label := toolLabel[tool]
				if name, ok := strings.CutPrefix(tool, "variant:"); ok {
					label = "runbook variant " + name
				}
				ss, ok := r.Phase2[tool]
				if !ok {
					continue
				}
				st := summarise(ss)
				runs := fmt.Sprint(st.N)
				if st.Failed > 0 {
					runs += fmt.Sprintf(" (+%d failed: %s)", st.Failed, firstErr(ss))
				}
				if st.N == 0 {
					fmt.Fprintf(&b, "| %s | %s | – | – | – | – | – | – | – |\n", label, runs)
					continue
				}
				rel := "1"
				if tool != "runbook" && rb.N > 0 {
					rel = fmt.Sprintf("%.2f", ratio(st.Wall, rb.Wall))
				}
				rss := mb(st.MaxRSS)
				if st.DetachedKB > 0 {
					rss += fmt.Sprintf(" + master %s", mb(st.DetachedKB))
				}
				fmt.Fprintf(&b, "| %s | %s | **%s** | %s–%s | %s | %s | %s | %s | %.1f |\n", label, runs, secs(st.Wall), secs(st.Min), secs(st.Max), rel, secs(st.CPU), secs(st.Server), rss, st.Load)
			}
			if len(r.Phase2Retried) > 0 {
				fmt.Fprintf(&b, "\n%d run(s) failed and were run again (the testbed is shared with other sessions' tests); first failure: %s\n\n",
					len(r.Phase2Retried), strings.ReplaceAll(cut(r.Phase2Retried[0], 200), "|", "/"))
			}
			sh, an := summarise(r.Phase2["shell"]), summarise(r.Phase2["ansible"])
			cands := []struct{ name, tool string }{{"runbook", "runbook"}}
			for _, v := range flagVariants {
				cands = append(cands, struct{ name, tool string }{"variant " + v.name, "variant:" + v.name})
			}
			for _, c := range cands {
				st := summarise(r.Phase2[c.tool])
				if st.N > 0 && sh.N > 0 {
					q := ratio(st.Wall, sh.Wall)
					targets = append(targets, target{fmt.Sprintf("Phase 2: %s / shell script ≤ 1.1", c.name),
						fmt.Sprintf("%.2f (fastest runs: %.2f)", q, ratio(st.Min, sh.Min)), q <= 1.1, true})
				}
				if st.N > 0 && an.N > 0 {
					q := ratio(st.Wall, an.Wall)
					targets = append(targets, target{fmt.Sprintf("Phase 2: %s faster than the Ansible playbook", c.name), fmt.Sprintf("%s / Ansible = %.2f", c.name, q), q < 1, true})
				}
			}
		}
	}

	if len(r.CLI) > 0 {
		fmt.Fprintf(&b, "\n### validate and offline plan of large runbooks (CLI, median of 3)\n\n")
		fmt.Fprintf(&b, "`plan` here has no inventory: the local host, and `command` steps that plan without running anything, so it is validate + graph + evaluation of every step + the report, with no I/O to a host.\n\n")
		fmt.Fprintf(&b, "| command | steps | wall | CPU | µs / step | peak RSS |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, c := range r.CLI {
			fmt.Fprintf(&b, "| runbook %s | %d | %s | %s | %.0f | %s |\n", c.What, c.Steps, ms(c.Wall), ms(c.CPU), float64(c.Wall)/float64(time.Microsecond)/float64(c.Steps), mb(c.RSSKB))
			if c.Steps == 1000 {
				targets = append(targets, target{fmt.Sprintf("runbook %s of 1,000 steps ≤ 200 ms", c.What), ms(c.Wall), c.Wall <= 200*time.Millisecond, true})
			}
		}
	}

	if len(targets) > 0 {
		fmt.Fprintf(&b, "\n### Targets (one run of this harness)\n\n| target | measured | holds |\n| --- | --- | --- |\n")
		for _, t := range targets {
			verdict := "see text"
			if t.known {
				verdict = "**no**"
				if t.ok {
					verdict = "yes"
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", t.what, t.measured, verdict)
		}
	}

	if r.GoBench != "" {
		fmt.Fprintf(&b, "\n### Go benchmarks (`go test -run '^$' -bench . -benchmem`)\n\n```\n")
		for _, line := range strings.Split(r.GoBench, "\n") {
			if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "pkg:") || strings.HasPrefix(line, "FAIL") {
				b.WriteString(line + "\n")
			}
		}
		b.WriteString("```\n")
	}
	return b.String()
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func firstErr(ss []sample) string {
	for _, s := range ss {
		if !s.OK {
			e := s.Err
			if len(e) > 160 {
				e = e[:160] + "…"
			}
			return strings.ReplaceAll(e, "|", "/")
		}
	}
	return ""
}

// filesMarkdown is the files workload's generated block.
func (fr *filesResults) markdown(f facts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Results of the files workload (`go run ./bench -files %d`)\n\n", fr.Hosts)
	fmt.Fprintf(&b, "Run %s – %s (%s). Load average (1 / 5 / 15 min): %s at the start, %s at the end.\n\n",
		fr.Started.UTC().Format("2006-01-02 15:04 MST"), fr.Ended.UTC().Format("15:04 MST"), fr.Ended.Sub(fr.Started).Round(time.Second), fr.LoadStart, fr.LoadEnd)
	fmt.Fprintf(&b, "| machine | |\n| --- | --- |\n")
	for _, kv := range [][2]string{
		{"CPU", fmt.Sprintf("%s × %s cores", f.CPU, f.Cores)}, {"RAM", f.RAM}, {"OS", f.Debian + ", Linux " + f.Kernel},
		{"Go", f.Go}, {"OpenSSH", f.OpenSSH}, {"Ansible", f.Ansible + " (" + f.Python + ")"},
	} {
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], strings.ReplaceAll(kv[1], "|", "/"))
	}
	hostSteps := fr.Hosts * filesSteps
	fmt.Fprintf(&b, "\n%d hosts × %d steps = %d host-steps: a `file` directory (mode 0750), a `template` (9 lines from 4 vars, a loop), "+
		"a `line` (key=value, `create`) and a `copy` (`content`), all in `%s` of each host's private /tmp, no become; "+
		"Ansible: `file`, `template`, `lineinfile`, `copy`, tuned as for the echo workloads, `-f %d`. "+
		"**First run**: nothing there (removed between runs, not timed), every step changes. **Re-run**: right after the same tool's first run, nothing to change. "+
		"After each first run the harness checks every file's bytes and mode on every host; a re-run must report every step unchanged "+
		"(runbook's report.json; `changed=0` in Ansible's PLAY RECAP). The raw x/crypto/ssh floor runs `echo 1` in as many sessions per host as "+
		"runbook needs (8 on a first run: probe and write per step; 4 on a re-run); on the re-run it also replays the commands runbook's own re-run "+
		"sent (its four probes per host, taken from report.json), which is what those probes cost on the hosts without runbook around them.\n\n",
		fr.Hosts, filesSteps, hostSteps, filesDir, min(fr.Hosts, *flagAnsForks))
	fmt.Fprintf(&b, "Wall time median (min–max); × runbook is the ratio of medians (in brackets: of the fastest runs); CPU as in the echo table; "+
		"load is the median 1-minute load average when the runs started.\n\n")
	fmt.Fprintf(&b, "| phase | tool | runs | wall | min–max | × runbook | controller CPU | CPU / host-step | sshd CPU / host-step | peak RSS | load |\n")
	fmt.Fprintf(&b, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	labels := map[string]string{"runbook": "runbook", "raw": "raw x/crypto/ssh, `echo 1` (floor)",
		"raw-probes": "raw x/crypto/ssh, runbook's probe commands", "ansible-tuned": "Ansible tuned"}
	var targets []target
	for _, phase := range []string{"first run", "re-run, unchanged"} {
		pick := func(r filesRun) sample {
			if phase == "first run" {
				return r.First
			}
			return r.Again
		}
		samplesOf := func(tool string) []sample {
			var ss []sample
			for _, r := range fr.Runs[tool] {
				if phase == "first run" && r.NoFirst {
					continue
				}
				ss = append(ss, pick(r))
			}
			return ss
		}
		stOf := func(tool string) stats { return summarise(samplesOf(tool)) }
		rb := stOf("runbook")
		for _, tool := range []string{"runbook", "raw", "raw-probes", "ansible-tuned"} {
			ss := samplesOf(tool)
			if len(ss) == 0 {
				continue
			}
			st := summarise(ss)
			runs := fmt.Sprint(st.N)
			if st.Failed > 0 {
				runs += fmt.Sprintf(" (+%d failed: %s)", st.Failed, firstErr(ss))
			}
			if st.N == 0 {
				fmt.Fprintf(&b, "| %s | %s | %s | – | – | – | – | – | – | – | – |\n", phase, labels[tool], runs)
				continue
			}
			rel := "1"
			if tool != "runbook" && rb.N > 0 {
				rel = fmt.Sprintf("%.2f (%.2f)", ratio(st.Wall, rb.Wall), ratio(st.Min, rb.Min))
			}
			rss := mb(st.MaxRSS)
			if st.DetachedKB > 0 {
				rss += fmt.Sprintf(" + masters %s", mb(st.DetachedKB))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | **%s** | %s–%s | %s | %s | %s | %s | %s | %.1f |\n", phase, labels[tool], runs,
				secs(st.Wall), secs(st.Min), secs(st.Max), rel, secs(st.CPU), perTask(st.CPU, hostSteps), perTask(st.Server, hostSteps), rss, st.Load)
		}
		if an := stOf("ansible-tuned"); an.N > 0 && rb.N > 0 {
			q := ratio(an.Wall, rb.Wall)
			targets = append(targets, target{fmt.Sprintf("tuned Ansible / runbook ≥ 30, %s", phase),
				fmt.Sprintf("%.1f (fastest runs: %.1f; %s vs %s)", q, ratio(an.Min, rb.Min), secs(an.Wall), secs(rb.Wall)), q >= 30, true})
		}
	}

	// Round trips from runbook's own records.
	var first, again []float64
	allOne := true
	for _, r := range fr.Runs["runbook"] {
		if r.HostSteps == 0 {
			continue
		}
		first = append(first, float64(r.FirstCmds)/float64(r.HostSteps))
		again = append(again, float64(r.AgainCmds)/float64(r.HostSteps))
		allOne = allOne && r.AgainCmds == r.HostSteps
	}
	if len(again) > 0 {
		span := func(v []float64) string {
			lo, hi := v[0], v[0]
			for _, x := range v {
				lo, hi = min(lo, x), max(hi, x)
			}
			if lo == hi {
				return fmt.Sprintf("%.2f", lo)
			}
			return fmt.Sprintf("%.2f–%.2f", lo, hi)
		}
		fmt.Fprintf(&b, "\nRound trips per step, runbook (commands per host-step in report.json, %d measured runs): first run **%s**, re-run **%s**.\n",
			len(again), span(first), span(again))
		measured := fmt.Sprintf("%s commands per host-step in report.json (every run)", span(again))
		if c, ok := fr.Sessions["runbook"]; ok && fr.Hosts > 0 {
			measured += fmt.Sprintf("; sshd: %.1f sessions per host on %.1f connection(s) = %d steps + the run lock", float64(c[1].sessions())/float64(fr.Hosts),
				float64(c[1].Conns)/float64(fr.Hosts), filesSteps)
		}
		targets = append([]target{{"re-run: one round trip per step (runbook)", measured, allOne, true}}, targets...)
	}
	if len(fr.Sessions) > 0 || fr.CountErr != "" {
		fmt.Fprintf(&b, "\nWhat the hosts' sshd logged (one more first run and re-run of each tool after the measured ones, LogLevel VERBOSE meanwhile), per host:\n\n")
		if fr.CountErr != "" {
			fmt.Fprintf(&b, "Counting failed: %s\n", strings.ReplaceAll(fr.CountErr, "|", "/"))
		}
		fmt.Fprintf(&b, "| tool | run | connections | sessions | of them commands | sftp | sessions per step |\n| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, tool := range []string{"runbook", "ansible-tuned"} {
			c, ok := fr.Sessions[tool]
			if !ok {
				continue
			}
			for k, phase := range []string{"first run", "re-run"} {
				h := float64(fr.Hosts)
				perStep := fmt.Sprintf("%.2f", float64(c[k].sessions())/h/filesSteps)
				if tool == "runbook" {
					perStep = fmt.Sprintf("%.2f + the lock", (float64(c[k].sessions())/h-1)/filesSteps)
				}
				fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f | %.1f | %.1f | %s |\n", labels[tool], phase, float64(c[k].Conns)/h,
					float64(c[k].sessions())/h, float64(c[k].Commands)/h, float64(c[k].SFTP)/h, perStep)
			}
		}
		fmt.Fprintf(&b, "\nrunbook's sessions include one per host for its run lock, held for the whole run (a cost per run, not per step).\n")
	}
	if len(targets) > 0 {
		fmt.Fprintf(&b, "\n### Targets of the files workload (issue 16)\n\n| target | measured | holds |\n| --- | --- | --- |\n")
		for _, t := range targets {
			verdict := "**no**"
			if t.ok {
				verdict = "yes"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", t.what, t.measured, verdict)
		}
	}
	return b.String()
}
