package steps

import (
	"errors"
	"strings"
	"testing"
)

// TestSacctmgrLintCommand reads command lines as the shell does. refused
// names a piece of the expected reason ("" = accepted).
func TestSacctmgrLintCommand(t *testing.T) {
	const (
		ok       = ""
		mutates  = "sacctmgr changes need -i"
		unknown  = "command word is not written out"
		unseen   = "the lint cannot see them"
		fromIn   = "one of them changes something"
		runaway  = "show runawayjobs asks"
		resv     = "show reservation with nodes="
		notShell = "not valid shell"
	)
	tests := []struct {
		name, line string
		stdin      *string
		want       string
	}{
		// The two cases of issue 19.
		{"sacctmgr words inside an echoed string", `echo 'reminder: sacctmgr add qos later'`, nil, ok},
		{"-M is no sacctmgr option, and there is no -i", `sacctmgr -M cluster1 add qos x`, nil, "takes no option -M"},

		{"add with -i", `sacctmgr -i add qos x`, nil, ok},
		{"add without -i", `sacctmgr add qos x`, nil, mutates},
		{"--immediate", `sacctmgr --immediate modify qos x set priority=10`, nil, ok},
		{"--imm: getopt_long takes a unique prefix", `sacctmgr --imm add qos x`, nil, ok},
		{"--immediate=yes is refused by getopt", `sacctmgr --immediate=yes add qos x`, nil, "--immediate=…"},
		{"-i bundled", `sacctmgr -Qi add qos x`, nil, ok},
		{"-i bundled last", `sacctmgr -nPi add qos x`, nil, ok},
		{"-i after the command (GNU getopt permutes)", `sacctmgr add qos x -i`, nil, ok},
		{"-i after -- is an operand", `sacctmgr -- add qos x -i`, nil, mutates},
		{"-s is not -i", `sacctmgr -s add qos x`, nil, mutates},
		{"-h runs nothing", `sacctmgr -h add qos x`, nil, ok},
		{"-V runs nothing", `sacctmgr -V`, nil, ok},
		{"unknown option before a read-only command", `sacctmgr -M c1 show qos`, nil, ok},
		{"json option (23.02) before show", `sacctmgr --json show qos`, nil, ok},

		// Commands and their abbreviations, as sacctmgr matches them.
		{"show", `sacctmgr show qos`, nil, ok},
		{"list", `sacctmgr -n -P list assoc format=User`, nil, ok},
		{"dump", `sacctmgr dump testcluster file=/tmp/c.cfg`, nil, ok},
		{"upper case", `sacctmgr MODIFY qos x set priority=1`, nil, mutates},
		{"m is modify", `sacctmgr m qos x set priority=1`, nil, mutates},
		{"u is update", `sacctmgr u qos x set priority=1`, nil, mutates},
		{"del is delete", `sacctmgr del qos x`, nil, mutates},
		{"rem is remove", `sacctmgr rem user bob`, nil, mutates},
		{"cre is create", `sacctmgr cre account a`, nil, mutates},
		{"ad matches nothing (add needs 3 letters)", `sacctmgr ad qos x`, nil, ok},
		{"lo is load", `sacctmgr lo /tmp/c.cfg`, nil, mutates},
		{"ro is rollup", `sacctmgr ro`, nil, mutates},
		{"archive", `sacctmgr archive dump`, nil, mutates},
		{"addx is no command", `sacctmgr addx qos x`, nil, ok},
		{"quoted command word", `sacctmgr 'add' qos x`, nil, mutates},
		{"quoted -i", `sacctmgr "-i" add qos x`, nil, ok},
		{"show runawayjobs asks", `sacctmgr show runawayjobs`, nil, runaway},
		{"list ru asks", `sacctmgr list ru`, nil, runaway},
		{"show lostjobs asks", `sacctmgr -n show lost`, nil, runaway},
		{"show runawayjobs answered n", `echo n | sacctmgr show runawayjobs`, nil, ok},
		{"show runawayjobs with -i fixes them", `sacctmgr -i show runawayjobs`, nil, ok},
		{"show reservation nodes= asks", `sacctmgr show reservation nodes=n1`, nil, resv},
		{"show reservation nodes= cluster=", `sacctmgr show resv nodes=n1 cluster=c1`, nil, ok},
		{"show reservation", `sacctmgr show reservation`, nil, ok},
		{"no= is nodes=", `sacctmgr show resv no=vm`, nil, resv},
		{"n= is no key", `sacctmgr show resv n=vm`, nil, ok},
		{"show reservation nodes= with -i", `sacctmgr -i show reservation nodes=vm`, nil, ok},

		// Program names, wrappers, environment.
		{"full path", `/usr/bin/sacctmgr delete user bob`, nil, mutates},
		{"path from a variable", `${SLURM_BIN}/sacctmgr delete user bob`, nil, mutates},
		{"escaped program name", `s\acctmgr add qos x`, nil, mutates},
		{"sudo", `sudo sacctmgr add qos x`, nil, mutates},
		{"sudo with options", `sudo -n -u slurm -- /usr/bin/sacctmgr -i add qos x`, nil, ok},
		{"sudo -u without -i", `sudo -u slurm sacctmgr modify qos x set priority=1`, nil, mutates},
		{"env X=1", `env X=1 sacctmgr add qos x`, nil, mutates},
		{"env -i with -i", `env -i PATH=/usr/bin sacctmgr -i add qos x`, nil, ok},
		{"assignment prefix", `SLURM_CONF=/etc/slurm/slurm.conf sacctmgr add qos x`, nil, mutates},
		{"timeout", `timeout 60 sacctmgr add qos x`, nil, mutates},
		{"timeout with -i", `timeout -k 5 60 sacctmgr -i add qos x`, nil, ok},
		{"nice nohup", `nice -n 5 nohup sacctmgr delete qos x`, nil, mutates},
		{"time", `time sacctmgr add qos x`, nil, mutates},
		{"command", `command sacctmgr add qos x`, nil, mutates},
		{"command -v", `command -v sacctmgr && sacctmgr show qos`, nil, ok},
		{"which", `which sacctmgr`, nil, ok},
		{"grep for the word", `grep sacctmgr add.log`, nil, ok},
		{"logger", `logger sacctmgr add qos x done`, nil, ok},
		{"an unknown runner", `srun -N1 sacctmgr add qos x`, nil, mutates},
		{"not sacctmgr", `scontrol update partition=debug state=up`, nil, ok},
		{"variable as the program", `$SACCTMGR add qos x`, nil, ok},
		{"program found by which", `$(which sacctmgr) add qos x`, nil, mutates},
		{"program found by command -v, with -i", "`command -v sacctmgr` -i add qos x", nil, ok},
		{"program from a default", `${SACCTMGR:-/usr/bin/sacctmgr} delete qos x`, nil, mutates},
		{"a different program found by which", `$(which sacctmgr-wrapper) add qos x`, nil, ok},
		{"show output as an argument", `mail -s "$(sacctmgr -n show qos x)" add`, nil, ok},

		// Lists, pipelines, compound commands.
		{"second command of a list", `sacctmgr show qos; sacctmgr add qos x`, nil, mutates},
		{"-i of the first does not cover the second", `sacctmgr -i add qos x && sacctmgr remove qos y`, nil, mutates},
		{"&& both with -i", `sacctmgr -i add qos x && sacctmgr -i modify qos x set priority=1`, nil, ok},
		{"|| fallback", `sacctmgr -n show qos x | grep -q x || sacctmgr add qos x`, nil, mutates},
		{"mutating word after a pipe", `sacctmgr -n show qos | grep add`, nil, ok},
		{"pipeline into sacctmgr -i", `echo | sacctmgr -i add qos x`, nil, ok},
		{"newline separated", "sacctmgr -i add qos x\nsacctmgr add qos y", nil, mutates},
		{"if", `if ! sacctmgr -n show qos x | grep -q x; then sacctmgr add qos x; fi`, nil, mutates},
		{"for loop with a variable", `for q in a b; do sacctmgr -i add qos "$q"; done`, nil, ok},
		{"function", `f() { sacctmgr add qos "$1"; }; f x`, nil, mutates},
		{"subshell", `(cd /tmp && sacctmgr add qos x)`, nil, mutates},
		{"command substitution", `echo "$(sacctmgr add qos x)"`, nil, mutates},
		{"assignment from show", `Q=$(sacctmgr -n -P show qos format=Name); echo "$Q"`, nil, ok},
		{"background", `sacctmgr add qos x &`, nil, mutates},
		{"comment", `sacctmgr show qos # add qos later`, nil, ok},

		// Variables.
		{"variable command word", `sacctmgr $ACTION qos x`, nil, unknown},
		{"quoted variable command word", `sacctmgr "$ACTION" qos x`, nil, unknown},
		{"all arguments from a variable", `sacctmgr "$@"`, nil, unknown},
		{"variable command word with -i", `sacctmgr -i $ACTION qos x`, nil, ok},
		{"variable options before show", `sacctmgr $OPTS show qos`, nil, ok},
		{"variable options before add", `sacctmgr $OPTS add qos x`, nil, mutates},
		{"-i from a variable does not count", `I=-i; sacctmgr $I add qos x`, nil, mutates},
		{"variable argument", `sacctmgr show qos "$QOS"`, nil, ok},
		{"command substitution as the command word", `sacctmgr $(cat verb) qos x`, nil, unknown},

		// Scripts inside commands.
		{"sh -c", `sh -c 'sacctmgr add qos x'`, nil, mutates},
		{"bash -c with -i", `bash -c "sacctmgr -i add qos x"`, nil, ok},
		{"bash -lc", `bash -lc 'sacctmgr delete qos x'`, nil, mutates},
		{"bash -o pipefail -c", `bash -o pipefail -c 'sacctmgr show qos | head'`, nil, ok},
		{"sh -c with a variable", `sh -c "sacctmgr add qos $Q"`, nil, mutates},
		{"sh -c with a variable command word", `sh -c "sacctmgr $VERB qos x"`, nil, unknown},
		{"sudo sh -c", `sudo -u slurm sh -c 'cd /tmp; sacctmgr modify qos x set priority=1'`, nil, mutates},
		{"sh -c in sh -c", `sh -c "bash -c 'sacctmgr add qos x'"`, nil, mutates},
		{"su -c", `su - slurm -c 'sacctmgr add qos x'`, nil, mutates},
		{"runuser -u", `runuser -u koopark -- sacctmgr add qos x`, nil, mutates},
		{"eval", `eval "sacctmgr add qos x"`, nil, mutates},
		{"ssh", `ssh ctl1 sacctmgr add qos x`, nil, mutates},
		{"ssh quoted", `ssh -p 2222 ctl1 'sacctmgr -i add qos x'`, nil, ok},
		{"ssh quoted without -i", `ssh ctl1 "sacctmgr add qos x"`, nil, mutates},
		{"script on stdin", `echo 'sacctmgr add qos x' | sh`, nil, mutates},
		{"script in a here-document", "bash -s <<'EOF'\nsacctmgr add qos x\nEOF", nil, mutates},
		{"su reading a here-document", "su - slurm <<EOF\nsacctmgr -i add qos x\nEOF", nil, ok},
		{"su reading a here-document without -i", "su - slurm <<EOF\nsacctmgr add qos x\nEOF", nil, mutates},
		{"ssh -n: closed stdin", `ssh -n ctl1 sacctmgr show runawayjobs`, ptr("n\n"), runaway},
		{"text written to a file", `echo 'sacctmgr add qos x' > /tmp/todo`, nil, ok},
		{"xargs", `echo x | xargs sacctmgr delete qos`, nil, mutates},
		{"xargs with -i", `echo x | xargs -r sacctmgr -i delete qos`, nil, ok},
		{"xargs supplying the command", `cat verbs | xargs sacctmgr`, nil, unknown},
		{"flock -c", `flock /tmp/l -c 'sacctmgr add qos x'`, nil, mutates},

		// Commands on stdin (interactive mode).
		{"no command, no stdin", `sacctmgr`, nil, ok},
		{"here-document: show", "sacctmgr <<EOF\nshow qos\nlist assoc\nEOF", nil, ok},
		{"here-document: add", "sacctmgr <<EOF\nshow qos\nadd qos x\nEOF", nil, fromIn},
		{"here-document: add with -i", "sacctmgr -i <<EOF\nadd qos x\nEOF", nil, ok},
		{"here-document: quoted delimiter", "sacctmgr -n <<'EOF'\n# add qos later\nshow qos $X\nEOF", nil, ok},
		{"here-document: variable command", "sacctmgr <<EOF\n$CMD qos x\nEOF", nil, unseen},
		{"here-document: after exit", "sacctmgr <<EOF\nshow qos\nexit\nadd qos x\nEOF", nil, ok},
		{"here-string", `sacctmgr <<< "add qos x"`, nil, fromIn},
		{"here-string with -i", `sacctmgr -i <<< "add qos x"`, nil, ok},
		{"echo into sacctmgr", `echo "add qos x" | sacctmgr`, nil, fromIn},
		{"echo show into sacctmgr", `echo "show qos" | sacctmgr`, nil, ok},
		{"printf into sacctmgr", `printf 'show qos\nmodify qos x set priority=1\n' | sacctmgr`, nil, fromIn},
		{"cat of a here-document", "cat <<EOF | sacctmgr\nadd qos x\nEOF", nil, fromIn},
		{"a longer pipeline: show", `echo show qos | cat | sacctmgr -n`, nil, ok},
		{"a longer pipeline: add", `echo add qos x | cat | sacctmgr -n`, nil, fromIn},
		{"a longer pipeline: unseen", `sacctmgr show qos | tee /tmp/x | sacctmgr`, nil, unseen},
		{"a file on stdin", `sacctmgr < /tmp/cmds`, nil, unseen},
		{"a file on stdin with -i", `sacctmgr -i < /tmp/cmds`, nil, ok},
		{"/dev/null on stdin", `sacctmgr < /dev/null`, nil, ok},
		{"unknown producer", `generate | sacctmgr`, nil, unseen},
		{"step stdin: add", `sacctmgr`, ptr("add qos x\n"), fromIn},
		{"step stdin: show", `sacctmgr -n`, ptr("show qos\n"), ok},
		{"step stdin answers the runaway question", `sacctmgr show runawayjobs`, ptr("n\n"), ok},

		// Lines the shell cannot parse.
		{"unterminated quote", `sacctmgr -i add 'qos x`, nil, notShell},
		{"unterminated quote, no sacctmgr", `echo 'oops`, nil, ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkSacctmgrImmediate(nil, &tt.line, tt.stdin)
			checkLint(t, err, "command", tt.want)
		})
	}
}

// TestSacctmgrLintArgv: argv commands are taken word for word, never
// split as shell text; a shell among them still has its -c script read.
func TestSacctmgrLintArgv(t *testing.T) {
	tests := []struct {
		name  string
		argv  []string
		stdin *string
		want  string
	}{
		{"without -i", []string{"sacctmgr", "modify", "qos", "x", "set", "priority=1"}, nil, "need -i"},
		{"with -i", []string{"sacctmgr", "-i", "modify", "qos", "x", "set", "priority=1"}, nil, ""},
		{"sudo", []string{"sudo", "-n", "--", "/usr/bin/sacctmgr", "delete", "qos", "x"}, nil, "need -i"},
		{"one word holding spaces is no command line", []string{"echo", "sacctmgr add qos x"}, nil, ""},
		{"echo of the words", []string{"echo", "sacctmgr", "add", "qos", "x"}, nil, ""},
		{"$ is not expanded", []string{"sacctmgr", "$VERB", "qos"}, nil, ""},
		{"; is not a separator", []string{"sacctmgr", "-i", "add", "qos", "x;", "sacctmgr", "add", "qos", "y"}, nil, ""},
		{"sh -c script", []string{"sh", "-c", "sacctmgr add qos x"}, nil, "need -i"},
		{"show", []string{"sacctmgr", "-n", "-P", "show", "qos", "format=Name"}, nil, ""},
		{"commands on stdin", []string{"sacctmgr"}, ptr("add qos x\n"), "changes something"},
		{"commands on stdin with -i", []string{"sacctmgr", "-i"}, ptr("add qos x\n"), ""},
		{"no stdin", []string{"sacctmgr"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLint(t, checkSacctmgrImmediate(tt.argv, nil, tt.stdin), "argv", tt.want)
		})
	}
}

func checkLint(t *testing.T, err error, attr, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var ae *AttrError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want a refusal mentioning %q", err, want)
	}
	if ae.Attr != attr {
		t.Errorf("attribute %q, want %q", ae.Attr, attr)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("refusal %q does not mention %q", err, want)
	}
	if !strings.Contains(err.Error(), "-i (--immediate)") {
		t.Errorf("refusal %q does not name -i (--immediate)", err)
	}
}

func ptr(s string) *string { return &s }

// FuzzSacctmgrLint: any command line is read without a panic or a hang.
func FuzzSacctmgrLint(f *testing.F) {
	for _, s := range []string{
		`sacctmgr -i add qos x`, `echo 'sacctmgr add' | sh`, "sacctmgr <<EOF\nadd qos x\nEOF",
		`sh -c "sh -c 'sacctmgr $X'"`, `xargs -a f sacctmgr`, `f() { sacctmgr "$@"; }; f add qos x &`,
		`sacctmgr --imm -M c show ru`, `su - -c 'ssh h "sacctmgr m q x"'`, `eval eval sacctmgr del qos x`,
	} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, line, stdin string) {
		checkSacctmgrImmediate(nil, &line, &stdin)
		checkSacctmgrImmediate(strings.Fields(line), nil, &stdin)
	})
}
