package main

// The command line's own manners (issue 14, bug 7): flag help that names
// each argument sensibly, flag values that cannot mean anything refused
// with exit 3, errors that say things once, a missing argument answered
// with the usage line, validate taking the inventory plan takes, and a
// binary file answered with a few errors instead of thousands.

import (
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// allCommands is the root and every command under it.
func allCommands() []*cobra.Command {
	var out []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		out = append(out, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	return out
}

// helpFlagLine is one flag of a "Flags:" section: "  -i, --inventory string   usage".
// The argument name sits between the flag and the two-space gap before
// the usage text.
var helpFlagLine = regexp.MustCompile(`^\s+(?:-[a-zA-Z], )?--([a-z0-9-]+)(?: (.*?))?(?:\s{2,}|$)`)

// argName is what an argument placeholder may look like: string, int,
// strings, file, name=value, FILE, bash|zsh|fish.
var argName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_=|.<>-]*$`)

// pflag takes backquoted text in a usage string as the argument's name
// (`--out runbook apply FILE` was plan's): every flag of every command
// must show a one-word argument name in its --help.
func TestHelpFlagArgumentNames(t *testing.T) {
	for _, c := range allCommands() {
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(strings.Join(append([]string{"runbook"}, path...), "_"), func(t *testing.T) {
			r := runCLI(t, append(path, "--help")...)
			if r.code != exitOK {
				t.Fatalf("--help: %s", r)
			}
			seen := map[string]bool{}
			for _, line := range strings.Split(r.stdout, "\n") {
				m := helpFlagLine.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				seen[m[1]] = true
				if m[2] != "" && !argName.MatchString(m[2]) {
					t.Errorf("--%s shows the argument name %q (a backquoted phrase in its usage string?):\n%s", m[1], m[2], line)
				}
			}
			// The parse above must have read every flag, or it proves nothing.
			c.Flags().VisitAll(func(f *pflag.Flag) {
				if !f.Hidden && !seen[f.Name] {
					t.Errorf("--%s is not in the help as a flag line:\n%s", f.Name, r.stdout)
				}
			})
		})
	}
}

// A command taking one FILE (or PLAN, or shell) answers a missing or extra
// argument with its usage line, not cobra's "accepts 1 arg(s), received 0".
func TestMissingArgumentShowsUsage(t *testing.T) {
	n := 0
	for _, c := range allCommands() {
		use := strings.Fields(c.Use)
		if c.Parent() == nil || len(use) != 2 || strings.HasPrefix(use[1], "[") {
			continue
		}
		n++
		t.Run(c.Name(), func(t *testing.T) {
			for _, args := range [][]string{{c.Name()}, {c.Name(), "a.hcl", "b.hcl"}} {
				r := runCLI(t, args...)
				if r.code != exitInvalid {
					t.Errorf("%q: want exit 3: %s", args, r)
				}
				noCrash(t, r)
				if !strings.Contains(r.stderr, "Usage: "+c.UseLine()) {
					t.Errorf("%q: stderr lacks the usage line %q:\n%s", args, c.UseLine(), r.stderr)
				}
				if strings.Contains(r.stderr, "arg(s)") {
					t.Errorf("%q: cobra's arg(s) message:\n%s", args, r.stderr)
				}
			}
			r := runCLI(t, c.Name())
			if want := "runbook: " + c.Name() + ": missing the " + use[1] + " argument"; !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		})
	}
	// validate, checklist, plan, apply, graph, completion at least.
	if n < 6 {
		t.Errorf("only %d commands take one argument", n)
	}
	// Other argument checks show the usage line too.
	r := runCLI(t, "report", "a", "b")
	if r.code != exitInvalid || !strings.Contains(r.stderr, "Usage: runbook report [RUN]") {
		t.Errorf("report a b: %s", r)
	}
}

// localInventory writes an inventory of local hosts.
func localInventory(t *testing.T, names ...string) string {
	t.Helper()
	var b strings.Builder
	for _, n := range names {
		b.WriteString("host \"" + n + "\" {\n  local = true\n}\n\n")
	}
	p := filepath.Join(t.TempDir(), "inventory.hcl")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The --limit error said its flag twice: "runbook: --limit: --limit: …".
func TestLimitErrorNamesTheFlagOnce(t *testing.T) {
	inv := localInventory(t, "a", "b")
	state := t.TempDir()
	r := runCLI(t, "plan", exampleRunbook, "-i", inv, "--limit", "nope", "--state-dir", state, "--var", "name="+uniqueName(t))
	if r.code != exitInvalid {
		t.Fatalf("want exit 3: %s", r)
	}
	if want := "runbook: --limit: no host or group named \"nope\"\n"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	if n := strings.Count(r.stderr, "--limit"); n != 1 {
		t.Errorf("--limit appears %d times:\n%s", n, r.stderr)
	}
}

// check() refuses what cannot mean anything; tested on the parsed flags,
// so `--limit ”` is the value pflag really produces.
func TestRunFlagsCheck(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // "" for accepted
	}{
		{nil, ""},
		{[]string{"--forks", "1", "--limit", "a,b"}, ""},
		{[]string{"--forks", "0"}, "--forks 0: the number of hosts worked on at once must be at least 1"},
		{[]string{"--forks", "-3"}, "--forks -3: the number of hosts worked on at once must be at least 1"},
		{[]string{"--limit", ""}, "--limit is empty"},
		{[]string{"--limit="}, "--limit is empty"},
		{[]string{"--limit", "a,,b"}, `--limit "a,,b" names an empty host or group`},
		{[]string{"--limit", " "}, `names an empty host or group`},
		{[]string{"--state-dir", ""}, "--state-dir is empty"},
	} {
		var f runFlags
		cmd := &cobra.Command{Use: "x"}
		f.register(cmd, true)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		err := f.check()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q refused: %v", tc.args, err)
		case tc.want != "" && err == nil:
			t.Errorf("%q accepted, want %q", tc.args, tc.want)
		case tc.want != "" && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%q: %q, want %q", tc.args, err, tc.want)
		case err != nil:
			if ee, ok := err.(*exitError); !ok || ee.code != exitInvalid {
				t.Errorf("%q: %#v is not an exit-3 error", tc.args, err)
			}
		}
	}
}

// The same refusals through the command line: exit 3 before anything runs
// or any record is written. (`--limit ”` used to mean no limit at all:
// every host.)
func TestRunFlagsRefused(t *testing.T) {
	inv := localInventory(t, "a")
	rb, err := filepath.Abs(exampleRunbook)
	if err != nil {
		t.Fatal(err)
	}
	// Where `--state-dir ''` would write (./runs) if it were not refused.
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--forks", "0"}, "--forks 0"},
		{[]string{"--forks", "-3"}, "--forks -3"},
		{[]string{"--limit", ""}, "--limit is empty"},
		{[]string{"--state-dir", ""}, "--state-dir is empty"},
	} {
		for _, mode := range [][]string{{"plan"}, {"apply", "--auto-approve"}} {
			state := t.TempDir()
			args := append(append(append([]string{}, mode...), rb, "-i", inv, "--var", "name="+uniqueName(t), "--state-dir", state), tc.flags...)
			r := runCLI(t, args...)
			if r.code != exitInvalid || !strings.Contains(r.stderr, "runbook: "+tc.want) {
				t.Errorf("%q: want exit 3 and %q: %s", args, tc.want, r)
			}
			noCrash(t, r)
			if entries, _ := os.ReadDir(state); len(entries) != 0 {
				t.Errorf("%q left a run record", args)
			}
		}
	}
}

// validate takes -i like plan, and checks the inventory and that the
// runbook's hosts are in it.
func TestValidateInventory(t *testing.T) {
	inv := localInventory(t, "a", "b")
	r := runCLI(t, "validate", exampleRunbook, "-i", inv)
	if r.code != exitOK || !strings.Contains(r.stdout, "the runbook runs on 2 host(s): a, b.") {
		t.Errorf("validate -i: %s", r)
	}
	r = runCLI(t, "validate", exampleRunbook, "--inventory", inv, "--var", "name=x")
	if r.code != exitOK {
		t.Errorf("validate --inventory --var: %s", r)
	}

	r = runCLI(t, "validate", exampleRunbook, "-i", filepath.Join(t.TempDir(), "none.hcl"))
	if r.code != exitInvalid || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("validate -i of a missing file: %s", r)
	}

	broken := filepath.Join(t.TempDir(), "inv.hcl")
	if err := os.WriteFile(broken, []byte("host \"a\" {\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "validate", exampleRunbook, "-i", broken)
	if r.code != exitInvalid || !strings.Contains(r.stderr, "Unclosed configuration block") || strings.Contains(r.stdout, "is valid") {
		t.Errorf("validate -i of a broken inventory: %s", r)
	}

	rb := writeRunbook(t, `runbook "r" {
  hosts = "compute"
}

step "check" "a" {
  argv = ["true"]
}
`)
	r = runCLI(t, "validate", rb, "-i", inv)
	if r.code != exitInvalid || !strings.Contains(r.stderr, `runbook hosts "compute"`) {
		t.Errorf("runbook hosts not in the inventory: %s", r)
	}
	// Without an inventory, nothing changes.
	if r := runCLI(t, "validate", rb); r.code != exitOK || strings.Contains(r.stdout, "inventory") {
		t.Errorf("validate without an inventory: %s", r)
	}
}

// A binary file as the runbook made one error per stray byte (thousands of
// them, each with the whole binary "line" as its snippet, control bytes
// and all). Now: the first few, one line counting the rest, and nothing
// that drives the terminal.
func TestBinaryRunbookFewErrors(t *testing.T) {
	b := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(b)
	copy(b, "\x7fELF\x02\x01\x01\x00\x1b[2J")
	p := filepath.Join(t.TempDir(), "rb.hcl")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"validate"}, {"plan", "--state-dir", t.TempDir()}} {
		r := runCLI(t, append(cmd, p)...)
		if r.code != exitInvalid {
			t.Fatalf("%s: want exit 3: %s", cmd[0], r)
		}
		noCrash(t, r)
		if n := strings.Count(r.stderr, "Error: "); n == 0 || n > maxAlike {
			t.Errorf("%s: %d errors printed, want 1 to %d", cmd[0], n, maxAlike)
		}
		more := regexp.MustCompile(`… and (\d+) more errors in \S*rb\.hcl, which is not a text file`)
		if !more.MatchString(r.stderr) {
			t.Errorf("%s: no line counting the other errors:\n%.3000s", cmd[0], r.stderr)
		}
		for _, c := range r.stderr {
			if c < 0x20 && c != '\n' && c != '\t' || c >= 0x7f && c < 0xa0 || c == 0xfffd {
				t.Errorf("%s: stderr holds the control or invalid character %U", cmd[0], c)
				break
			}
		}
	}
}

// In a text file, identical diagnostics are capped too, but diagnostics
// that differ (another attribute, another message) are all shown.
func TestRepeatedDiagnosticsCapped(t *testing.T) {
	var src strings.Builder
	src.WriteString("runbook \"r\" {}\n")
	for i := 0; i < 10; i++ {
		src.WriteString("\nstep \"assert\" \"s" + strconv.Itoa(i) + "\" {\n  condition = true\n}\n")
	}
	r := runCLI(t, "validate", writeRunbook(t, src.String()))
	if r.code != exitInvalid {
		t.Fatalf("want exit 3: %s", r)
	}
	if n := strings.Count(r.stderr, "Error: Missing required argument"); n != maxAlike {
		t.Errorf("%d identical errors printed, want %d:\n%s", n, maxAlike, r.stderr)
	}
	// The others are counted, and where they are is still said.
	if want := `… and 7 more "Missing required argument" errors like it, at `; !strings.Contains(r.stderr, want) ||
		!regexp.MustCompile(`rb\.hcl lines 15, 19, 23, 27, 31, 35 and 39\.\n`).MatchString(r.stderr) {
		t.Errorf("no line counting the other 7 and naming their lines:\n%s", r.stderr)
	}

	src.Reset()
	src.WriteString("runbook \"r\" {}\n\nstep \"check\" \"a\" {\n  argv = [\"true\"]\n")
	for i := 0; i < 6; i++ {
		src.WriteString("  x" + string(rune('a'+i)) + " = 1\n")
	}
	src.WriteString("}\n")
	r = runCLI(t, "validate", writeRunbook(t, src.String()))
	if r.code != exitInvalid {
		t.Fatalf("want exit 3: %s", r)
	}
	for i := 0; i < 6; i++ {
		if name := "x" + string(rune('a'+i)); !strings.Contains(r.stderr, `"`+name+`"`) {
			t.Errorf("the error about %s is not shown:\n%s", name, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "more") {
		t.Errorf("distinct errors were counted away:\n%s", r.stderr)
	}
}
