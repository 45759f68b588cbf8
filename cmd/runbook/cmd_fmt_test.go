package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/runbook-hpc/runbook/engine/lang/tforacle"
)

// fmtCases are texts fmt changes in the ways terraform fmt changes them
// too (alignment, indentation, spacing, a missing final newline, a long
// file with many alike lines), and one it leaves alone.
var fmtCases = map[string]string{
	"align":      "variable \"x\" {\n  type = string\n    default = \"a\"\n}\n",
	"no newline": "a   = 1",
	"nested":     "locals {\nx = {\na=1\nbbb = 2\n}\ny=[1,2,   3]\n}\n",
	"formatted":  "a = 1\n",
	"long": func() string {
		var b strings.Builder
		for i := 0; i < 60; i++ {
			if i%7 == 3 {
				b.WriteString("variable \"v" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + "\" {\n  type=string\n  default = \"d\"\n}\n\n")
			} else {
				b.WriteString("variable \"v" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + "\" {\n  type    = string\n  default = \"d\"\n}\n\n")
			}
		}
		return b.String()
	}(),
}

// runStdin runs the test binary as runbook with stdin.
func runStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd, stdout, stderr := binCmd(t, args...)
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	return result{code: exitCode(t, err), stdout: stdout.String(), stderr: stderr.String()}
}

func TestFmtDiff(t *testing.T) {
	for name, src := range fmtCases {
		t.Run(name, func(t *testing.T) {
			want := string(hclwrite.Format([]byte(src)))
			changed := want != src
			dir := t.TempDir()
			const path = "rb.hcl"
			if err := os.WriteFile(filepath.Join(dir, path), []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			runBinary := func(t *testing.T, args ...string) result {
				t.Helper()
				cmd, stdout, stderr := binCmd(t, args...)
				cmd.Dir = dir
				err := cmd.Run()
				return result{code: exitCode(t, err), stdout: stdout.String(), stderr: stderr.String()}
			}
			read := func() string {
				b, err := os.ReadFile(filepath.Join(dir, path))
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}

			// -diff: the diff instead of the text, the file untouched,
			// exit 0 (as terraform fmt -diff: only -check fails).
			r := runBinary(t, "fmt", "-diff", path)
			if !changed {
				if r.code != 0 || r.stdout != "" {
					t.Fatalf("fmt -diff on a formatted file:\n%s", r)
				}
				return
			}
			if r.code != 0 || !strings.HasPrefix(r.stdout, "--- old/"+path+"\n+++ new/"+path+"\n@@ -") {
				t.Fatalf("fmt -diff:\n%s", r)
			}
			if read() != src {
				t.Fatal("fmt -diff changed the file")
			}
			// The diff is a patch: applied, it gives the formatted text;
			// given as an absolute path, or ./rb.hcl, the file is named
			// alike.
			patched := applyPatch(t, path, src, r.stdout)
			if patched != want {
				t.Errorf("the diff applied gives\n%q\nwant\n%q\ndiff:\n%s", patched, want, r.stdout)
			}
			if !strings.HasSuffix(src, "\n") && !strings.Contains(r.stdout, "\n\\ No newline at end of file\n") {
				t.Errorf("no marker for the missing final newline:\n%s", r.stdout)
			}

			for _, other := range []string{"./" + path, filepath.Join(dir, path)} {
				if ro := runBinary(t, "fmt", "-diff", other); ro.stdout != r.stdout {
					t.Errorf("fmt -diff %s names the file otherwise:\n%s", other, ro.stdout)
				}
			}
			// -check -diff: the name, then the diff; exit 1.
			rc := runBinary(t, "fmt", "-check", "-diff", path)
			if rc.code != exitFailed || rc.stdout != path+"\n"+r.stdout {
				t.Errorf("fmt -check -diff:\n%s", rc)
			}
			// -w -diff: rewritten, listed, diffed; exit 0.
			rw := runBinary(t, "fmt", "-w", "-diff", path)
			if b := read(); rw.code != 0 || rw.stdout != path+"\n"+r.stdout || b != want {
				t.Errorf("fmt -w -diff:\n%s\nfile now %q", rw, b)
			}

			// fmt -: stdin to stdout, exit 0 whatever it was.
			rs := runStdin(t, src, "fmt", "-")
			if rs.code != 0 || rs.stdout != want || rs.stderr != "" {
				t.Errorf("fmt -:\n%s", rs)
			}
			rd := runStdin(t, src, "fmt", "-diff", "-")
			if rd.code != 0 || rd.stdout != strings.ReplaceAll(r.stdout, path, "<stdin>") {
				t.Errorf("fmt -diff -:\n%s", rd)
			}
			if rc := runStdin(t, src, "fmt", "-check", "-diff", "-"); rc.code != exitFailed || rc.stdout != rd.stdout {
				t.Errorf("fmt -check -diff -:\n%s", rc)
			}
			if rc := runStdin(t, src, "fmt", "-check", "-"); rc.code != exitFailed || rc.stdout != "" {
				t.Errorf("fmt -check -:\n%s", rc)
			}
			if rc := runStdin(t, want, "fmt", "-check", "-"); rc.code != 0 || rc.stdout != "" {
				t.Errorf("fmt -check - on formatted text:\n%s", rc)
			}
		})
	}
}

func TestFmtStdinRefusals(t *testing.T) {
	// A syntax error: diagnostics with the source on stderr, exit 3.
	r := runStdin(t, "a = \n", "fmt", "-")
	if r.code != exitInvalid || r.stdout != "" || !strings.Contains(r.stderr, "on <stdin> line 1") || !strings.Contains(r.stderr, "1: a =") {
		t.Errorf("syntax error on stdin:\n%s", r)
	}
	if r := runStdin(t, "a = 1\n", "fmt", "-w", "-"); r.code != exitInvalid || !strings.Contains(r.stderr, "cannot rewrite standard input") {
		t.Errorf("fmt -w -:\n%s", r)
	}
	if r := runStdin(t, "a = 1\n", "fmt", "-", exampleRunbook); r.code != exitInvalid || !strings.Contains(r.stderr, "Usage: runbook fmt") {
		t.Errorf("fmt - FILE:\n%s", r)
	}
	// A syntax error in a file with -diff is still exit 3, not 1.
	bad := writeRunbook(t, "a = \n")
	if r := runBinary(t, "fmt", "-diff", bad); r.code != exitInvalid {
		t.Errorf("fmt -diff on a syntax error:\n%s", r)
	}
}

// applyPatch applies a unified diff of the file name holding src with git
// apply (-p1, which strips old/ and new/) in a scratch directory and
// returns the result.
func applyPatch(t *testing.T, name, src, patch string) string {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("no git to apply the diff with")
	}
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, name), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(git, "apply", "-")
	cmd.Dir = work
	cmd.Stdin = strings.NewReader(patch)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply refuses the diff: %v\n%s\n%s", err, out, patch)
	}
	b, err := os.ReadFile(filepath.Join(work, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFmtAsTerraform holds fmt -check -diff, fmt -w -diff and fmt - (with
// and without -diff) against terraform fmt on the same files: the same
// files listed, the same diff headers, diffs that applied to the file give
// the same text, and fmt - the same text. The hunks are not compared byte
// for byte: runbook's diff (steps.UnifiedDiff, difflib) may pair changed
// lines otherwise than diff(1), which terraform runs. The exit codes
// differ on purpose: terraform fmt -check exits 3 where runbook exits 1 (3
// is runbook's "invalid input").
func TestFmtAsTerraform(t *testing.T) {
	tf := tforacle.Require(t)
	run := func(stdin string, args ...string) (string, int) {
		c := tf.Command(args...)
		if stdin != "" {
			c.Stdin = strings.NewReader(stdin)
		}
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		code := 0
		if err := c.Run(); err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatalf("terraform %v: %v", args, err)
			}
			code = ee.ExitCode()
		}
		return stdout.String(), code
	}
	for name, src := range fmtCases {
		t.Run(name, func(t *testing.T) {
			changed := string(hclwrite.Format([]byte(src))) != src
			// terraform fmt runs in its directory on main.tf; runbook is
			// given the same relative name there.
			path := filepath.Join(tf.Dir, "main.tf")
			write := func() {
				if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			inDir := func(args ...string) result {
				t.Helper()
				cmd, stdout, stderr := binCmd(t, args...)
				cmd.Dir = tf.Dir
				err := cmd.Run()
				return result{code: exitCode(t, err), stdout: stdout.String(), stderr: stderr.String()}
			}

			write()
			tfOut, tfCode := run("", "fmt", "-check", "-diff", "-no-color", "main.tf")
			r := inDir("fmt", "-check", "-diff", "main.tf")
			sameDiff(t, "fmt -check -diff", "main.tf", src, r.stdout, tfOut)
			if want := map[bool]int{true: 3, false: 0}[changed]; tfCode != want {
				t.Errorf("terraform fmt -check exit %d, want %d", tfCode, want)
			}
			if want := map[bool]int{true: exitFailed, false: 0}[changed]; r.code != want {
				t.Errorf("runbook fmt -check exit %d, want %d", r.code, want)
			}

			tfOut, _ = run("", "fmt", "-diff", "-no-color", "main.tf")
			tfFile, _ := os.ReadFile(path)
			write()
			r = inDir("fmt", "-w", "-diff", "main.tf")
			rbFile, _ := os.ReadFile(path)
			sameDiff(t, "fmt -w -diff (terraform fmt -diff)", "main.tf", src, r.stdout, tfOut)
			if string(rbFile) != string(tfFile) || r.code != 0 {
				t.Errorf("fmt -w -diff (terraform fmt -diff):\nrunbook:\n%s\nterraform:\n%s\nfiles:\n%q\n%q", r, tfOut, rbFile, tfFile)
			}

			// terraform fmt - ends its output with a newline the text
			// lacks (it prints through its UI, while fmt -w and the diffs
			// keep the text as it is); runbook prints the formatted text
			// as fmt -w would write it.
			tfOut, _ = run(src, "fmt", "-no-color", "-")
			rs := runStdin(t, src, "fmt", "-")
			if !strings.HasSuffix(rs.stdout, "\n") {
				rs.stdout += "\n"
			}
			if rs.stdout != tfOut {
				t.Errorf("fmt -:\nrunbook:\n%s\nterraform:\n%s", rs.stdout, tfOut)
			}
			tfOut, tfCode = run(src, "fmt", "-diff", "-no-color", "-")
			rs = runStdin(t, src, "fmt", "-diff", "-")
			sameDiff(t, "fmt -diff -", "<stdin>", src, rs.stdout, tfOut)
			if rs.code != 0 || tfCode != 0 {
				t.Errorf("fmt -diff -: runbook exit %d, terraform %d; want 0", rs.code, tfCode)
			}
		})
	}
}

// sameDiff fails the test unless runbook's output rb and terraform's tf
// list the same files before the diff, name the same sides in its
// headers, and, applied to src in the file name, give the same text.
func sameDiff(t *testing.T, what, name, src, rb, tf string) {
	t.Helper()
	split := func(out string) (list, headers, diff string) {
		i := strings.Index(out, "--- ")
		if i < 0 {
			return out, "", ""
		}
		list, diff = out[:i], out[i:]
		lines := strings.SplitN(diff, "\n", 3)
		if len(lines) >= 2 {
			headers = lines[0] + "\n" + lines[1]
		}
		return list, headers, diff
	}
	rbList, rbHeaders, rbDiff := split(rb)
	tfList, tfHeaders, tfDiff := split(tf)
	if rbList != tfList || rbHeaders != tfHeaders || (rbDiff == "") != (tfDiff == "") {
		t.Errorf("%s:\nrunbook:\n%s\nterraform:\n%s", what, rb, tf)
		return
	}
	if tfDiff == "" {
		return
	}
	if got, want := applyPatch(t, name, src, rbDiff), applyPatch(t, name, src, tfDiff); got != want {
		t.Errorf("%s: runbook's diff applied gives\n%q\nterraform's\n%q\nrunbook:\n%s\nterraform:\n%s", what, got, want, rb, tf)
	}
}
