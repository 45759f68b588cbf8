package steps

import (
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// The sacctmgr -i lint.
//
// sacctmgr asks "Would you like to commit changes? (N/y)" after every
// change unless it runs with -i (--immediate). With no one to answer it
// discards the change after 30 s and exits 0; with stdin at end of file
// (no stdin at all, as over SSH here) it loops forever printing "Y or N
// please" at megabytes a second. So a step whose command would run a
// sacctmgr change without -i is refused when the runbook is loaded.
//
// A command line is read as the shell reads it (mvdan.cc/sh/v3/syntax):
// lists, pipelines, subshells, functions, command substitutions, `sh -c`
// strings, here-documents and what a pipe feeds in are followed, so
// `echo 'reminder: sacctmgr add qos'` is not a sacctmgr call and
// `bash -c "sacctmgr add qos x"` is. An argv command is taken word for
// word. The sacctmgr words are then read with the grammar of Slurm
// 22.05's sacctmgr.c:
//
//   - Options go through getopt_long("hionpPQrsvV") with GNU permutation,
//     so -i counts wherever it stands before "--", alone, bundled (-Qi) or
//     long (--immediate, or an unambiguous prefix such as --imm). None of
//     the short options takes a value; there is no -M or --cluster (22.05
//     stops with "invalid option -- 'M'"). Slurm 23.02 added --json,
//     --yaml and --autocomplete=x; 23.11 lets --json=v and --yaml=v take
//     an optional value (never the next word). An option sacctmgr does
//     not know stops it before it runs anything, but the runbook's author
//     meant something (`-M cluster1 add qos x`): the word after it is read
//     as the command too, and the refusal names the option.
//   - The first operand is the command, matched like sacctmgr matches it:
//     case-insensitively, any prefix of at least a minimum length, the
//     first keyword in sacctmgr's order winning ("m" is modify, "del" is
//     delete, "ad" matches nothing).
//   - add/create, modify/update, delete/remove, archive, load and rollup
//     commit through the prompt. show/list, dump and the rest never do,
//     except `show runawayjobs` (alias orphanjobs, lostjobs), which asks
//     whether to fix the jobs it lists, and `show reservation` with
//     nodes= but no cluster=, which asks whether to use the local cluster.
//   - With no command word sacctmgr reads commands from stdin, one per
//     line; what a here-document, here-string, `echo`/`printf`/`cat` in a
//     pipe or the step's stdin feeds it is read the same way, and stdin
//     the lint cannot see counts as possibly changing something.
//
// A word the lint cannot know (a variable, a command substitution) stands
// for anything: in the command position it makes the call refused unless
// -i is written out; -i itself must be literal to count.

// unknownMark stands in a word for a part the lint cannot know (the value
// of a variable, the output of a command substitution). A private-use
// rune, so it survives being put into a `sh -c` string and parsed again.
const unknownMark = "\uE000"

// shWord is one argument as the program would get it.
type shWord struct {
	lit string // the value, with unknownMark for unknown parts
	src string // for a word with unknown parts, its shell source
}

func (w shWord) known() bool { return !strings.Contains(w.lit, unknownMark) }

// stdinText is what a command reads on stdin, when the lint can tell.
type stdinText struct {
	known bool
	text  string // with unknownMark for unknown parts
}

var (
	closedStdin  = stdinText{known: true} // end of file at once: /dev/null, no stdin
	unknownStdin = stdinText{}
)

// The reasons a call is refused. Every one names -i (--immediate).
const (
	whyNoImmediate = "without it sacctmgr waits for a y/N answer nobody gives, discards the change after 30 s " +
		"with exit code 0, or loops forever printing \"Y or N please\" when stdin is closed"
	msgMutates = "sacctmgr changes need -i (--immediate): " + whyNoImmediate
	msgUnknown = "sacctmgr's command word is not written out (it comes from a variable or a command's output), " +
		"so it may change something: write it out, or pass -i (--immediate), which show and list ignore; " + whyNoImmediate
	msgStdinUnseen = "sacctmgr reads its commands from stdin here, and the lint cannot see them: pass -i (--immediate); " +
		"without it each change waits for a y/N answer read from that same stdin, or loops forever printing \"Y or N please\" at its end"
	msgStdinMutates = "sacctmgr reads its commands from stdin here and one of them changes something: pass -i (--immediate); " +
		"without it each change waits for a y/N answer read from that same stdin, or loops forever printing \"Y or N please\" at its end"
	msgRunaway = "sacctmgr show runawayjobs asks whether to fix the jobs it lists: pass -i (--immediate) to fix them, " +
		"or give the answer on stdin (echo n | sacctmgr show runawayjobs) to only list them; with stdin closed it loops forever printing \"Y or N please\""
	msgReservation = "sacctmgr show reservation with nodes= but no cluster= asks whether to use the local cluster: add cluster=NAME " +
		"or pass -i (--immediate); with stdin closed it loops forever printing \"Y or N please\""
)

// checkSacctmgrImmediate refuses a command that would run a sacctmgr
// change without -i (see above). stdin is the step's stdin attribute.
func checkSacctmgrImmediate(argv []string, line, stdin *string) error {
	in := closedStdin
	if stdin != nil {
		in = stdinText{known: true, text: *stdin}
	}
	l := &sacctmgrLint{}
	attr := "argv"
	if line != nil {
		attr = "command"
		l.script(*line, in)
	} else {
		words := make([]shWord, len(argv))
		for i, a := range argv {
			words[i] = shWord{lit: a}
		}
		l.argv(words, in, false)
	}
	if l.problem != "" {
		return &AttrError{Attr: attr, Err: fmt.Errorf("%s", l.problem)}
	}
	return nil
}

// sacctmgrLint walks a command and keeps the first problem found.
type sacctmgrLint struct {
	problem string
	depth   int // nested scripts (sh -c in sh -c ...)
}

func (l *sacctmgrLint) report(msg string) {
	if l.problem == "" {
		l.problem = msg
	}
}

// maxScriptDepth bounds scripts inside scripts (`sh -c "sh -c '…'"`).
const maxScriptDepth = 16

// script reads src as a shell program whose stdin is in.
func (l *sacctmgrLint) script(src string, in stdinText) {
	if l.problem != "" || l.depth >= maxScriptDepth {
		return
	}
	l.depth++
	defer func() { l.depth-- }()
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(src), "")
	if err != nil {
		// A line the shell cannot run either; only one that mentions
		// sacctmgr is this lint's business.
		if strings.Contains(src, "sacctmgr") {
			l.report(fmt.Sprintf("the command is not valid shell (%v), so its sacctmgr call cannot be checked for -i (--immediate)", err))
		}
		return
	}
	for _, st := range f.Stmts {
		l.stmt(st, in)
	}
}

// stmt follows one statement; in is the stdin it inherits.
func (l *sacctmgrLint) stmt(st *syntax.Stmt, in stdinText) {
	if l.problem != "" {
		return
	}
	if st.Background {
		in = closedStdin // a non-interactive shell gives `cmd &` /dev/null
	}
	in = l.redirected(st.Redirs, in)
	for _, r := range st.Redirs {
		l.nested(r.Word, in)
		l.nested(r.Hdoc, in)
	}
	switch c := st.Cmd.(type) {
	case *syntax.BinaryCmd:
		if c.Op == syntax.Pipe || c.Op == syntax.PipeAll {
			l.stmt(c.X, in)
			l.stmt(c.Y, l.output(c.X, in))
			return
		}
	case *syntax.CallExpr:
		if len(c.Args) > 0 {
			l.argv(l.words(c.Args), in, false)
		}
	}
	if st.Cmd != nil {
		l.nested(st.Cmd, in)
	}
}

// nested follows the statements inside n: the parts of a compound
// command, command substitutions in words, here-documents' $(…).
func (l *sacctmgrLint) nested(n syntax.Node, in stdinText) {
	if n == nil || l.problem != "" {
		return
	}
	if w, ok := n.(*syntax.Word); ok && w == nil {
		return
	}
	syntax.Walk(n, func(m syntax.Node) bool {
		if st, ok := m.(*syntax.Stmt); ok {
			l.stmt(st, in)
			return false
		}
		return true
	})
}

// redirected is the stdin after a statement's redirections.
func (l *sacctmgrLint) redirected(redirs []*syntax.Redirect, in stdinText) stdinText {
	for _, r := range redirs {
		if r.N != nil && r.N.Value != "0" {
			continue
		}
		switch r.Op {
		case syntax.RdrIn:
			if l.word(r.Word).lit == "/dev/null" {
				in = closedStdin
			} else {
				in = unknownStdin
			}
		case syntax.Hdoc, syntax.DashHdoc:
			in = stdinText{known: true, text: heredoc(r)}
		case syntax.WordHdoc:
			in = stdinText{known: true, text: l.word(r.Word).lit + "\n"}
		case syntax.DplIn, syntax.RdrInOut:
			in = unknownStdin
		}
	}
	return in
}

// heredoc is a here-document's body as the command reads it.
func heredoc(r *syntax.Redirect) string {
	if r.Hdoc == nil {
		return ""
	}
	quoted := false // <<'EOF', <<"EOF", <<\EOF: the body is literal
	for _, p := range r.Word.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			quoted = quoted || strings.Contains(p.Value, `\`)
		case *syntax.SglQuoted, *syntax.DblQuoted:
			quoted = true
		}
	}
	if lit := r.Hdoc.Lit(); quoted && lit != "" {
		return lit
	}
	s, err := expand.Document(lintExpand, r.Hdoc)
	if err != nil {
		return unknownMark
	}
	return s
}

// output is what x writes into a pipe, when the lint can tell: echo,
// printf, a bare cat (which passes its stdin on) and pipelines of them.
func (l *sacctmgrLint) output(x *syntax.Stmt, in stdinText) stdinText {
	in = l.redirected(x.Redirs, in)
	if p, ok := x.Cmd.(*syntax.BinaryCmd); ok && (p.Op == syntax.Pipe || p.Op == syntax.PipeAll) {
		return l.output(p.Y, l.output(p.X, in)) // a | b | c is (a | b) | c
	}
	call, ok := x.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) == 0 {
		return unknownStdin
	}
	args := l.words(call.Args)
	// dash's echo and printf both turn \n into a newline.
	text := func(ws []shWord) string {
		var parts []string
		for _, w := range ws {
			parts = append(parts, w.lit)
		}
		return strings.ReplaceAll(strings.Join(parts, " "), `\n`, "\n")
	}
	switch programName(args[0]) {
	case "echo":
		rest, newline := args[1:], "\n"
		for len(rest) > 0 && len(rest[0].lit) > 1 && strings.Trim(rest[0].lit, "-neE") == "" && rest[0].lit[0] == '-' {
			if strings.Contains(rest[0].lit, "n") {
				newline = ""
			}
			rest = rest[1:]
		}
		return stdinText{known: true, text: text(rest) + newline}
	case "printf":
		return stdinText{known: true, text: text(args[1:])}
	case "cat":
		if len(args) == 1 || len(args) == 2 && args[1].lit == "-" {
			return in
		}
	}
	return unknownStdin
}

// lintExpand expands words with every variable and command output
// unknown.
var lintExpand = &expand.Config{
	Env: expand.FuncEnviron(func(string) string { return unknownMark }),
	CmdSubst: func(w io.Writer, _ *syntax.CmdSubst) error {
		_, err := io.WriteString(w, unknownMark)
		return err
	},
	ProcSubst: func(*syntax.ProcSubst) (string, error) { return unknownMark, nil },
}

// word is w's value after quote removal, unknown parts marked.
func (l *sacctmgrLint) word(w *syntax.Word) shWord {
	if w == nil {
		return shWord{}
	}
	// expand.Literal keeps the backslashes of unquoted text (it expands
	// like an assignment's value); remove them first: s\acctmgr is
	// sacctmgr.
	cp := &syntax.Word{Parts: make([]syntax.WordPart, len(w.Parts))}
	for i, p := range w.Parts {
		if lit, ok := p.(*syntax.Lit); ok && strings.Contains(lit.Value, `\`) {
			var b strings.Builder
			for j := 0; j < len(lit.Value); j++ {
				if lit.Value[j] == '\\' && j+1 < len(lit.Value) {
					j++
				}
				b.WriteByte(lit.Value[j])
			}
			p = &syntax.Lit{ValuePos: lit.ValuePos, ValueEnd: lit.ValueEnd, Value: b.String()}
		}
		cp.Parts[i] = p
	}
	s, err := expand.Literal(lintExpand, cp)
	if err != nil {
		s = unknownMark
	}
	out := shWord{lit: s}
	if !out.known() {
		var b strings.Builder
		if syntax.NewPrinter().Print(&b, w) == nil {
			out.src = b.String()
		}
	}
	return out
}

func (l *sacctmgrLint) words(ws []*syntax.Word) []shWord {
	out := make([]shWord, len(ws))
	for i, w := range ws {
		out[i] = l.word(w)
	}
	return out
}

func joinWords(ws []shWord) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.lit
	}
	return strings.Join(parts, " ")
}

// programName is the base name of a command word, "" when not known. A
// word the lint cannot know is sacctmgr when its source names it:
// $(which sacctmgr), ${SACCTMGR:-sacctmgr}.
func programName(w shWord) string {
	b := path.Base(w.lit)
	if !strings.Contains(b, unknownMark) {
		return b
	}
	if sacctmgrWordRe.MatchString(w.src) {
		return "sacctmgr"
	}
	return ""
}

var sacctmgrWordRe = regexp.MustCompile(`(^|[^\w.-])sacctmgr($|[^\w.-])`)

// shells run a script given with -c, or read from stdin.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "ash": true, "ksh": true, "mksh": true, "zsh": true}

// notRunners name a program given as an argument without running it: a
// bare `sacctmgr` word after them is text, not a call.
var notRunners = map[string]bool{
	"echo": true, "printf": true, "logger": true, "wall": true, "notify-send": true,
	"grep": true, "egrep": true, "fgrep": true, "zgrep": true, "rg": true,
	"cat": true, "head": true, "tail": true, "less": true, "more": true, "tee": true,
	"man": true, "info": true, "apropos": true, "whatis": true, "which": true, "whereis": true,
	"type": true, "hash": true, "locate": true, "test": true, "[": true, "true": true, "false": true, ":": true,
	"ls": true, "stat": true, "file": true, "readlink": true, "realpath": true,
	"cp": true, "mv": true, "ln": true, "rm": true, "install": true, "chmod": true, "chown": true,
	"dpkg": true, "dpkg-query": true, "rpm": true, "apt": true, "apt-get": true, "apt-cache": true, "yum": true, "dnf": true,
}

// wrapper is a program that runs the command in its operands: the short
// and long options that take a value, and how many operands come before
// the command (timeout's duration, chroot's directory).
type wrapper struct {
	short string
	long  []string
	skip  int
}

var wrappers = map[string]wrapper{
	"sudo": {"aCcDgpRrTtUu", []string{"auth-type", "close-from", "login-class", "chdir", "group", "host", "prompt",
		"chroot", "role", "type", "command-timeout", "other-user", "user"}, 0},
	"doas":    {"aCu", nil, 0},
	"nice":    {"n", []string{"adjustment"}, 0},
	"nohup":   {"", nil, 0},
	"setsid":  {"", nil, 0},
	"timeout": {"ks", []string{"kill-after", "signal"}, 1},
	"stdbuf":  {"eio", []string{"error", "input", "output"}, 0},
	"ionice":  {"cnp", []string{"class", "classdata", "pid", "pgid", "uid"}, 0},
	"chroot":  {"", []string{"groups", "userspec"}, 1},
	"exec":    {"a", nil, 0},
	"time":    {"fo", []string{"format", "output"}, 0},
}

// argv follows a command given as words; extra is set when more
// arguments the lint cannot see are appended (xargs).
func (l *sacctmgrLint) argv(args []shWord, in stdinText, extra bool) {
	if len(args) == 0 || l.problem != "" {
		return
	}
	name := programName(args[0])
	rest := args[1:]
	if w, ok := wrappers[name]; ok {
		_, i := parseOpts(rest, w.short, w.long)
		if i+w.skip <= len(rest) {
			l.argv(rest[i+w.skip:], in, extra)
		}
		return
	}
	switch {
	case name == "sacctmgr":
		l.sacctmgr(rest, in, extra)
		return
	case shells[name]:
		l.shell(rest, in)
		return
	}
	switch name {
	case "busybox":
		l.argv(rest, in, extra)
	case "builtin":
	case "command":
		opts, i := parseOpts(rest, "", nil)
		for _, o := range opts {
			if o.name == "v" || o.name == "V" {
				return // command -v prints where sacctmgr is
			}
		}
		l.argv(rest[i:], in, extra)
	case "eval":
		l.script(joinWords(rest), in)
	case "env":
		opts, i := parseOpts(rest, "aCSu", []string{"argv0", "chdir", "split-string", "unset"})
		for i < len(rest) && isAssignment(rest[i].lit) {
			i++
		}
		for _, o := range opts {
			if o.name == "S" || o.name == "split-string" {
				l.script(o.val.lit+" "+joinWords(rest[i:]), in)
				return
			}
		}
		l.argv(rest[i:], in, extra)
	case "xargs":
		opts, i := parseOpts(rest, "adEILnPs", []string{"arg-file", "delimiter", "eof", "max-args", "max-chars",
			"max-lines", "max-procs", "process-slot-var", "replace"})
		// GNU xargs gives the command /dev/null for stdin, unless it
		// reads its arguments from a file or opens the terminal.
		cin := closedStdin
		for _, o := range opts {
			switch o.name {
			case "a", "arg-file":
				cin = in
			case "o", "open-tty":
				cin = unknownStdin
			}
		}
		if i < len(rest) {
			l.argv(rest[i:], cin, true)
		}
	case "flock":
		_, i := parseOpts(rest, "Ewc", []string{"conflict-exit-code", "timeout", "command"})
		// flock [options] FILE (-c COMMAND | COMMAND [ARGS])
		if i+1 < len(rest) && (rest[i+1].lit == "-c" || rest[i+1].lit == "--command") {
			if i+2 < len(rest) {
				l.script(rest[i+2].lit, in)
			}
			return
		}
		if i+1 < len(rest) {
			l.argv(rest[i+1:], in, extra)
		}
	case "su", "runuser":
		opts, i := parseOpts(rest, "cgGsuw", []string{"command", "group", "supp-group", "shell", "user",
			"whitelist-environment", "session-command"})
		for _, o := range opts {
			switch o.name {
			case "c", "command", "session-command":
				l.script(o.val.lit, in)
				return
			case "u", "user": // runuser -u USER [--] COMMAND...
				l.argv(rest[i:], in, extra)
				return
			}
		}
		// su's operands after the user go to the shell: `su - root -c CMD`.
		for j := i; j < len(rest); j++ {
			if rest[j].lit == "-c" || rest[j].lit == "--command" {
				if j+1 < len(rest) {
					l.script(rest[j+1].lit, in)
				}
				return
			}
		}
		// A login shell with no -c reads its script from stdin.
		if in.known {
			l.script(in.text, unknownStdin)
		}
	case "ssh":
		opts, i := parseOpts(rest, "BbcDEeFIiJLlmOopQRSWw", nil)
		if i+1 >= len(rest) {
			return // no command: a login shell
		}
		for _, o := range opts {
			if o.name == "n" {
				in = closedStdin
			}
		}
		// ssh joins its command words with spaces for the remote shell.
		l.script(joinWords(rest[i+1:]), in)
	default:
		if notRunners[name] {
			return
		}
		// An unknown runner (srun, pdsh -w host, watch, …): a later word
		// that is sacctmgr or a shell starts the command it runs.
		for i := 1; i < len(args); i++ {
			if n := programName(args[i]); args[i].known() && (n == "sacctmgr" || shells[n]) {
				l.argv(args[i:], in, extra)
				return
			}
		}
	}
}

// isAssignment reports whether s is NAME=VALUE (env's operands).
func isAssignment(s string) bool {
	name, _, ok := strings.Cut(s, "=")
	return ok && syntax.ValidName(name)
}

// shell follows `sh [options] [-c SCRIPT | FILE]`; args follow the shell's
// name.
func (l *sacctmgrLint) shell(args []shWord, in stdinText) {
	command, fromStdin := false, false
	i := 0
	for ; i < len(args); i++ {
		s := args[i].lit
		if s == "--" || s == "-" {
			i++
			break
		}
		if strings.HasPrefix(s, "--") {
			if s == "--rcfile" || s == "--init-file" {
				i++
			}
			continue
		}
		if len(s) < 2 || (s[0] != '-' && s[0] != '+') {
			break
		}
		command = command || s[0] == '-' && strings.Contains(s, "c")
		fromStdin = fromStdin || s[0] == '-' && strings.Contains(s, "s")
		if strings.ContainsAny(s[1:], "oO") {
			i++ // -o OPTION, -O SHOPT
		}
	}
	switch rest := args[min(i, len(args)):]; {
	case command:
		if len(rest) > 0 {
			l.script(rest[0].lit, in)
		}
	case fromStdin || len(rest) == 0:
		// The script comes from stdin; the commands in it read the rest
		// of the script, which the lint does not model.
		if in.known {
			l.script(in.text, unknownStdin)
		}
	}
}

// option is one parsed command-line option.
type option struct {
	name   string // letter or long name, without dashes
	val    shWord
	hasVal bool
}

// parseOpts reads options the way getopt with "+" does: until the first
// operand or "--". short lists the letters that take a value (attached or
// the next word), long the names that do (--name=value or --name value).
// It returns the options and the index of the first operand.
func parseOpts(args []shWord, short string, long []string) ([]option, int) {
	var opts []option
	i := 0
	for ; i < len(args); i++ {
		s := args[i].lit
		if s == "--" {
			return opts, i + 1
		}
		if len(s) < 2 || s[0] != '-' {
			return opts, i
		}
		if strings.HasPrefix(s, "--") {
			name, val, hasVal := strings.Cut(s[2:], "=")
			o := option{name: name, val: shWord{lit: val}, hasVal: hasVal}
			for _, ln := range long {
				if ln == name && !hasVal && i+1 < len(args) {
					i++
					o.val, o.hasVal = args[i], true
				}
			}
			opts = append(opts, o)
			continue
		}
		for j, c := range s[1:] {
			o := option{name: string(c)}
			if strings.ContainsRune(short, c) {
				if at := s[1+j+len(string(c)):]; at != "" {
					o.val, o.hasVal = shWord{lit: at}, true
				} else if i+1 < len(args) {
					i++
					o.val, o.hasVal = args[i], true
				}
				opts = append(opts, o)
				break
			}
			opts = append(opts, o)
		}
	}
	return opts, i
}

// sacctmgrLongOpts are sacctmgr's long options (22.05, and the three
// 23.02 added, with 23.11's optional values); arg is 0 for none, 1
// required, 2 optional (=value only).
var sacctmgrLongOpts = []struct {
	name string
	opt  rune
	arg  int
}{
	{"help", 'h', 0}, {"usage", 'h', 0}, {"immediate", 'i', 0}, {"noheader", 'n', 0},
	{"oneliner", 'o', 0}, {"parsable", 'p', 0}, {"parsable2", 'P', 0}, {"quiet", 'Q', 0},
	{"readonly", 'r', 0}, {"associations", 's', 0}, {"verbose", 'v', 0}, {"version", 'V', 0},
	{"autocomplete", 'A', 1}, {"json", 'j', 2}, {"yaml", 'y', 2},
}

// sacctmgrLong finds a long option by its name or an unambiguous prefix,
// as getopt_long does; 0 when there is none or several.
func sacctmgrLong(name string) (opt rune, arg int) {
	found := 0
	for _, o := range sacctmgrLongOpts {
		if o.name == name {
			return o.opt, o.arg
		}
		if strings.HasPrefix(o.name, name) && name != "" {
			if found != 0 && opt != o.opt {
				return 0, 0 // ambiguous
			}
			opt, arg, found = o.opt, o.arg, found+1
		}
	}
	return opt, arg
}

// sacctmgr follows sacctmgr's arguments (after the program name).
func (l *sacctmgrLint) sacctmgr(args []shWord, in stdinText, extra bool) {
	immediate, exits := false, false
	badOpt := "" // the first option sacctmgr does not know
	var operands []shWord
	endOpts := false
	for i := 0; i < len(args); i++ {
		s := args[i].lit
		switch {
		case endOpts || len(s) < 2 || s[0] != '-' || !args[i].known():
			// GNU getopt permutes: options may follow operands. A word
			// the lint cannot know counts as an unknown operand, even
			// -$X: it may be -i, or the command.
			operands = append(operands, args[i])
			continue
		case s == "--":
			endOpts = true
			continue
		case strings.HasPrefix(s, "--"):
			name, _, hasVal := strings.Cut(s[2:], "=")
			opt, arg := sacctmgrLong(name)
			switch {
			case opt == 0:
				if badOpt == "" {
					badOpt = "--" + name
				}
			case arg == 0 && hasVal:
				if badOpt == "" {
					badOpt = "--" + name + "=…" // the value is not shown: it might be a secret
				}
			case opt == 'i':
				immediate = true
			case opt == 'h' || opt == 'V':
				exits = true
			case arg == 1 && !hasVal:
				i++ // --autocomplete VALUE
			}
			continue
		}
		for _, c := range s[1:] {
			if c == 'i' {
				immediate = true
			} else if c == 'h' || c == 'V' {
				exits = true
			} else if !strings.ContainsRune("onpPQrsv", c) {
				if badOpt == "" {
					badOpt = "-" + string(c)
				}
				break
			}
		}
	}
	if immediate || exits && badOpt == "" {
		return
	}
	if len(operands) == 0 && !extra {
		l.sacctmgrStdin(in)
		return
	}
	note := ""
	if badOpt != "" {
		note = fmt.Sprintf("; also, sacctmgr takes no option %s (Slurm 22.05 stops at it with \"invalid option\" and runs nothing)", badOpt)
	}
	// The command is the first operand; words the lint cannot know before
	// the first one it can may be options or the command. An unknown
	// option might have taken the first operand as its value.
	sawUnknown := false
	tries := 1
	if badOpt != "" {
		tries = 2
	}
	for k := 0; k < len(operands) && tries > 0; k++ {
		if !operands[k].known() {
			sawUnknown = true
			continue
		}
		tries--
		switch v := sacctmgrVerdictOf(operands[k:]); v {
		case verdictMutates:
			l.report(msgMutates + note)
			return
		case verdictRunaway, verdictReservation:
			if !answers(in) {
				l.report(v.message() + note)
			}
			return
		case verdictReadOnly, verdictExit:
			return
		}
		if sawUnknown {
			l.report(msgUnknown + note)
			return
		}
	}
	if sawUnknown && tries > 0 || extra && len(operands) == 0 {
		l.report(msgUnknown + note)
	}
}

// answers reports whether stdin holds an answer to sacctmgr's y/N prompt
// (it reads characters until y, n or a newline).
func answers(in stdinText) bool {
	return in.known && strings.ContainsAny(in.text, "yYnN\n")
}

// sacctmgrStdin follows sacctmgr with no command word: it reads commands
// from stdin, one a line, until exit or quit.
func (l *sacctmgrLint) sacctmgrStdin(in stdinText) {
	if !in.known {
		l.report(msgStdinUnseen)
		return
	}
	var last []shWord
	for line := range strings.SplitSeq(in.text, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		toks := sacctmgrTokens(line)
		if line == "!!" {
			toks = last
		} else {
			last = toks
		}
		if len(toks) == 0 {
			continue
		}
		switch sacctmgrVerdictOf(toks) {
		case verdictExit:
			return
		case verdictMutates, verdictRunaway, verdictReservation:
			l.report(msgStdinMutates)
			return
		}
		if !toks[0].known() {
			l.report(msgStdinUnseen)
			return
		}
	}
}

// sacctmgrTokens splits a line read in sacctmgr's interactive mode as
// _get_command does: at white space outside quotes, the quotes kept.
func sacctmgrTokens(line string) []shWord {
	var toks []shWord
	var cur strings.Builder
	inTok, dq, sq := false, false, false
	for _, r := range line {
		switch {
		case r == '"' && !sq:
			dq = !dq
		case r == '\'' && !dq:
			sq = !sq
		case !dq && !sq && (r == ' ' || r == '\t' || r == '\r' || r == '\v' || r == '\f'):
			if inTok {
				toks = append(toks, shWord{lit: cur.String()})
				cur.Reset()
				inTok = false
			}
			continue
		}
		cur.WriteRune(r)
		inTok = true
	}
	if inTok {
		toks = append(toks, shWord{lit: cur.String()})
	}
	return toks
}

type sacctmgrVerdict int

const (
	verdictInvalid     sacctmgrVerdict = iota // no such command: sacctmgr says "invalid keyword"
	verdictReadOnly                           // never prompts
	verdictMutates                            // commits through the y/N prompt
	verdictRunaway                            // show runawayjobs: asks whether to fix them
	verdictReservation                        // show reservation nodes= without cluster=: asks
	verdictExit                               // exit, quit
)

func (v sacctmgrVerdict) message() string {
	if v == verdictRunaway {
		return msgRunaway
	}
	return msgReservation
}

// keyword is one of sacctmgr's words with the shortest prefix it takes.
type keyword struct {
	name string
	min  int
}

// sacctmgrCommands are _process_command's keywords in its order
// (Slurm 22.05; ping is 23.11's).
var sacctmgrCommands = []keyword{
	{"associations", 3}, {"dump", 3}, {"help", 2}, {"load", 2}, {"oneliner", 1}, {"quiet", 4},
	{"exit", 4}, {`\q`, 2}, {"quit", 4}, {"add", 3}, {"create", 3}, {"archive", 3}, {"clear", 3},
	{"show", 3}, {"list", 3}, {"modify", 1}, {"update", 1}, {"delete", 3}, {"remove", 3},
	{"verbose", 4}, {"readonly", 4}, {"reconfigure", 4}, {"rollup", 2}, {"shutdown", 4}, {"version", 4},
	{"ping", 4},
}

// sacctmgrShowEntities are _show_it's entities in its order.
var sacctmgrShowEntities = []keyword{
	{"accounts", 2}, {"acct", 4}, {"associations", 2}, {"clusters", 2}, {"configuration", 2},
	{"events", 1}, {"federation", 1}, {"problems", 1}, {"runawayjobs", 2}, {"orphanjobs", 1},
	{"lostjobs", 1}, {"qos", 1}, {"resource", 4}, {"reservations", 4}, {"resv", 4}, {"stats", 1},
	{"transactions", 1}, {"txn", 1}, {"users", 1}, {"wckeys", 1}, {"tres", 2},
}

// matchKeyword is the first keyword word names, as sacctmgr matches:
// strncasecmp(word, name, MAX(len(word), min)) == 0.
func matchKeyword(word string, table []keyword) string {
	for _, k := range table {
		if len(word) >= k.min && len(word) <= len(k.name) && asciiEqualFold(word, k.name[:len(word)]) {
			return k.name
		}
	}
	return ""
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// sacctmgrVerdictOf classifies one sacctmgr command: its words, the
// command word first.
func sacctmgrVerdictOf(toks []shWord) sacctmgrVerdict {
	switch matchKeyword(toks[0].lit, sacctmgrCommands) {
	case "":
		return verdictInvalid
	case "add", "create", "modify", "update", "delete", "remove", "archive", "load", "rollup":
		return verdictMutates
	case "exit", "quit", `\q`:
		return verdictExit
	case "show", "list":
		if len(toks) < 2 {
			return verdictReadOnly
		}
		switch matchKeyword(toks[1].lit, sacctmgrShowEntities) {
		case "runawayjobs", "orphanjobs", "lostjobs":
			return verdictRunaway
		case "reservations", "resv":
			// sacctmgr_list_reservation asks when nodes= is given
			// without cluster= (keys: Clusters from 1 letter, Nodes
			// from 2).
			nodes, cluster := false, false
			for _, t := range toks[2:] {
				key, _, ok := strings.Cut(t.lit, "=")
				if !ok {
					continue
				}
				key = strings.TrimRight(key, "+-")
				k := matchKeyword(key, []keyword{{"clusters", 1}, {"nodes", 2}})
				cluster = cluster || k == "clusters"
				nodes = nodes || k == "nodes"
			}
			if nodes && !cluster {
				return verdictReservation
			}
		}
	}
	return verdictReadOnly
}
