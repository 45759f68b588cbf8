package main

// Bad input at the command line: variable files and inventories that are
// wrong in every way we could think of, and generated inputs too big or
// too deep to commit. Each must end in exit 3 with a diagnostic naming
// file and line, never a panic, a stack dump or a run record.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	badInputDir     = "testdata/badinput"
	badInputRunbook = "testdata/badinput/vars.hcl"
)

// badExpectation is a corpus file's header:
//
//	# want: LINE: Summary            (a line of this file)
//	# want: vars.hcl:LINE: Summary   (a line of the runbook)
//	# detail: text the output must also contain (optional, repeatable)
type badExpectation struct {
	file    string // "" for the corpus file itself
	line    string
	summary string
	details []string
}

var badWant = regexp.MustCompile(`^# want: (?:([^:\s]+):)?(\d+): (.+)$`)

func readBadExpectation(t *testing.T, path string) badExpectation {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var exp badExpectation
	for _, l := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(l, "# ") {
			break
		}
		if m := badWant.FindStringSubmatch(l); m != nil {
			exp.file, exp.line, exp.summary = m[1], m[2], m[3]
		} else if d, ok := strings.CutPrefix(l, "# detail: "); ok {
			exp.details = append(exp.details, d)
		}
	}
	if exp.summary == "" {
		t.Fatalf("%s has no \"# want: LINE: Summary\" header", path)
	}
	return exp
}

// checkBadOutput asserts exit 3, the summary, the file:line and no crash.
// The file may be printed as given or made absolute, so it is matched by
// its base name.
func checkBadOutput(t *testing.T, r result, path string, exp badExpectation) {
	t.Helper()
	if r.code != exitInvalid {
		t.Fatalf("want exit 3:\n%s", r)
	}
	noCrash(t, r)
	if !strings.Contains(r.stderr, "Error: "+exp.summary) {
		t.Errorf("stderr lacks %q:\n%s", "Error: "+exp.summary, r.stderr)
	}
	file := filepath.Base(path)
	if exp.file != "" {
		file = exp.file
	}
	at := regexp.MustCompile(`on \S*` + regexp.QuoteMeta(file) + ` line ` + exp.line + `\b`)
	if !at.MatchString(r.stderr) {
		t.Errorf("stderr does not point at %s line %s:\n%s", file, exp.line, r.stderr)
	}
	// Every diagnostic shows its source line, whichever parser read the
	// file (the HCL one, the INI inventory, a var file).
	if strings.Contains(r.stderr, "(source code not available)") {
		t.Errorf("a diagnostic without its snippet:\n%s", r.stderr)
	}
	for _, d := range exp.details {
		if !strings.Contains(r.stderr, d) {
			t.Errorf("stderr lacks %q:\n%s", d, r.stderr)
		}
	}
}

func corpus(t *testing.T, dir string, min int) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(badInputDir, dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < min {
		t.Fatalf("%d files in %s/%s, want at least %d", len(files), badInputDir, dir, min)
	}
	return files
}

func TestBadVarFiles(t *testing.T) {
	if r := runCLI(t, "validate", badInputRunbook); r.code != exitOK {
		t.Fatalf("the runbook the variable files are given to is itself invalid:\n%s", r)
	}
	for _, f := range corpus(t, "varfiles", 15) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			exp := readBadExpectation(t, f)
			checkBadOutput(t, runCLI(t, "validate", badInputRunbook, "--var-file", f), f, exp)
			// plan and apply refuse it the same way, before any host is
			// contacted or any record written.
			state := t.TempDir()
			for _, cmd := range [][]string{{"plan"}, {"apply", "--auto-approve"}} {
				args := append(cmd, badInputRunbook, "--var-file", f, "--state-dir", state)
				checkBadOutput(t, runCLI(t, args...), f, exp)
			}
			if dirs := runDirs(t, state); len(dirs) != 0 {
				t.Errorf("a refused run left records: %q", dirs)
			}
		})
	}
}

func TestBadInventories(t *testing.T) {
	for _, f := range corpus(t, "inventories", 20) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			exp := readBadExpectation(t, f)
			checkBadOutput(t, runCLI(t, "inventory", "-i", f), f, exp)
			state := t.TempDir()
			checkBadOutput(t, runCLI(t, "plan", badInputRunbook, "-i", f, "--state-dir", state), f, exp)
			if dirs := runDirs(t, state); len(dirs) != 0 {
				t.Errorf("a refused run left records: %q", dirs)
			}
		})
	}
}

// runBounded runs the binary in a child process (a stack overflow is a
// fatal error that would take the test binary down) with a deadline, and
// returns its peak memory.
func runBounded(t *testing.T, timeout time.Duration, args ...string) (result, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd, stdout, stderr := binCmd(t, args...)
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Env, c.Stdout, c.Stderr = cmd.Env, stdout, stderr
	err := c.Run()
	if ctx.Err() != nil {
		t.Fatalf("runbook %s still running after %s (killed)\nstderr:\n%.2000s", strings.Join(args, " "), timeout, stderr)
	}
	var rss int64
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss << 10
	}
	r := result{code: exitCode(t, err), stdout: stdout.String(), stderr: stderr.String()}
	if len(r.stderr) > 4000 {
		r.stderr = r.stderr[:2000] + "\n[...]\n" + r.stderr[len(r.stderr)-2000:]
	}
	return r, rss
}

func writeGenerated(t *testing.T, name string, write func(w *strings.Builder)) string {
	t.Helper()
	var b strings.Builder
	write(&b)
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func nested(n int, inner string) string {
	return strings.Repeat("(", n) + inner + strings.Repeat(")", n)
}

// TestBadInputGenerated: inputs too big or too deep to commit. Each must
// be refused with exit 3 and file:line, in bounded time and memory.
func TestBadInputGenerated(t *testing.T) {
	const maxRSS = 1 << 30
	type gen struct {
		name    string
		args    func(t *testing.T) []string
		line    string // the line the diagnostic must name
		timeout time.Duration
	}
	runbook := func(name string, body func(w *strings.Builder)) func(t *testing.T) []string {
		return func(t *testing.T) []string { return []string{"validate", writeGenerated(t, name, body)} }
	}
	cases := []gen{
		{
			// 10,000 nested parentheses: valid HCL, but 10,000 levels cost
			// ~220 MB and are never meant; the issue wants them refused.
			name: "runbook_nested_10000", line: "4", timeout: 30 * time.Second,
			args: runbook("nested.hcl", func(w *strings.Builder) {
				fmt.Fprintf(w, "runbook \"r\" {}\n\nstep \"check\" \"a\" {\n  retries = %s\n  command = \"true\"\n}\n", nested(10000, "1"))
			}),
		},
		{
			// 100,000 levels overflow the parser's goroutine stack: a fatal
			// error with a stack dump, exit 2.
			name: "runbook_nested_100000", line: "4", timeout: 30 * time.Second,
			args: runbook("nested.hcl", func(w *strings.Builder) {
				fmt.Fprintf(w, "runbook \"r\" {}\n\nstep \"check\" \"a\" {\n  retries = %s\n  command = \"true\"\n}\n", nested(100000, "1"))
			}),
		},
		{
			name: "runbook_unclosed_100000", line: "4", timeout: 30 * time.Second,
			args: runbook("unclosed.hcl", func(w *strings.Builder) {
				fmt.Fprintf(w, "runbook \"r\" {}\n\nlocals {\n  x = %s\n}\n", strings.Repeat("[", 100000))
			}),
		},
		{
			name: "runbook_huge_comments", line: "500002", timeout: 30 * time.Second,
			args: runbook("huge.hcl", func(w *strings.Builder) {
				w.WriteString("runbook \"r\" {}\n")
				line := "# " + strings.Repeat("x", 30) + "\n"
				for i := 0; i < 500000; i++ {
					w.WriteString(line)
				}
				w.WriteString("step \"chek\" \"a\" {\n  command = \"true\"\n}\n")
			}),
		},
		{
			name: "runbook_huge_string", line: "5", timeout: 30 * time.Second,
			args: runbook("string.hcl", func(w *strings.Builder) {
				fmt.Fprintf(w, "runbook \"r\" {}\n\nstep \"check\" \"a\" {\n  command = \"true\"\n  retries = \"%s\"\n}\n", strings.Repeat("x", 16<<20))
			}),
		},
		{
			// 5,000 steps (a 200 KB file) must not take minutes: validation
			// once grew with the cube of the step count.
			name: "runbook_5000_steps", line: "15004", timeout: 10 * time.Second,
			args: runbook("steps.hcl", func(w *strings.Builder) {
				w.WriteString("runbook \"r\" {}\n")
				for i := 0; i < 5000; i++ {
					fmt.Fprintf(w, "step \"check\" \"s%d\" {\n  command = \"true\"\n}\n", i)
				}
				w.WriteString("step \"check\" \"bad\" {\n  command = \"true\"\n  timeout = \"5 minutes\"\n}\n")
			}),
		},
		{
			name: "varfile_nested_100000", line: "1", timeout: 30 * time.Second,
			args: func(t *testing.T) []string {
				f := writeGenerated(t, "deep.hcl", func(w *strings.Builder) { fmt.Fprintf(w, "max_gpus = %s\n", nested(100000, "2")) })
				return []string{"validate", badInputRunbook, "--var-file", f}
			},
		},
		{
			name: "varfile_huge", line: "500001", timeout: 30 * time.Second,
			args: func(t *testing.T) []string {
				f := writeGenerated(t, "huge.hcl", func(w *strings.Builder) {
					for i := 0; i < 500000; i++ {
						w.WriteString("# " + strings.Repeat("y", 30) + "\n")
					}
					w.WriteString("qos_nmae = \"moonlight\"\n")
				})
				return []string{"validate", badInputRunbook, "--var-file", f}
			},
		},
		{
			name: "inventory_nested_100000", line: "2", timeout: 30 * time.Second,
			args: func(t *testing.T) []string {
				f := writeGenerated(t, "deep.hcl", func(w *strings.Builder) {
					fmt.Fprintf(w, "host \"a\" {\n  vars = { x = %s }\n}\n", nested(100000, "1"))
				})
				return []string{"inventory", "-i", f}
			},
		},
		{
			name: "inventory_ini_100000_hosts", line: "2", timeout: 30 * time.Second,
			args: func(t *testing.T) []string {
				f := writeGenerated(t, "hosts.ini", func(w *strings.Builder) { w.WriteString("[compute]\nnode[0:999]-[0:999]\n") })
				return []string{"inventory", "-i", f}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args(t)
			start := time.Now()
			r, rss := runBounded(t, c.timeout, args...)
			t.Logf("exit %d in %s, peak RSS %d MB", r.code, time.Since(start).Round(time.Millisecond), rss>>20)
			if r.code != exitInvalid {
				t.Fatalf("want exit 3:\n%s", r)
			}
			noCrash(t, r)
			if !regexp.MustCompile(`on \S+ line ` + c.line + `\b`).MatchString(r.stderr) {
				t.Errorf("stderr names no file at line %s:\n%s", c.line, r.stderr)
			}
			if rss > maxRSS {
				t.Errorf("peak RSS %d MB, want under %d MB", rss>>20, maxRSS>>20)
			}
		})
	}
}

// TestBadInputEndless: a path that never ends (a pipe nobody closes, like
// /dev/zero) given as runbook, variable file or inventory. runbook must
// stop reading at a sane size and say so, not grow until the machine runs
// out of memory. The pipe is fed 64 MiB and then held open, so a runbook
// without a cap blocks (and is killed) instead of eating the machine.
func TestBadInputEndless(t *testing.T) {
	for _, c := range []struct {
		name string
		args func(fifo string) []string
	}{
		{"runbook", func(p string) []string { return []string{"validate", p} }},
		{"varfile", func(p string) []string { return []string{"validate", badInputRunbook, "--var-file", p} }},
		{"inventory", func(p string) []string { return []string{"inventory", "-i", p} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "endless.hcl")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
				if err != nil {
					return
				}
				defer f.Close()
				chunk := []byte(strings.Repeat("# endless\n", 6554))
				for i := 0; i < 1024; i++ { // 64 MiB
					if _, err := f.Write(chunk); err != nil {
						return
					}
				}
				<-stop
			}()
			r, rss := runBounded(t, 10*time.Second, c.args(fifo)...)
			t.Logf("exit %d, peak RSS %d MB", r.code, rss>>20)
			if r.code != exitInvalid {
				t.Fatalf("want exit 3:\n%s", r)
			}
			noCrash(t, r)
			if !strings.Contains(r.stderr, "endless.hcl") {
				t.Errorf("stderr does not name the file:\n%s", r.stderr)
			}
		})
	}
}
