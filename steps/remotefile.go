package steps

// What the file kinds (file, copy, template, line) share: reading their
// attributes (paths, mode, owner, group), the one probe command that reads
// a remote file's state, the one command that writes new content, and the
// plan's field changes and unified diff.
//
// Every command is a single line (it is shown in plans, evidence and the
// checklist) with the paths shell-quoted; file content never travels on a
// command line, only on the command's stdin.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

const (
	// diffFetchCap: a remote file larger than this is not fetched for a
	// diff; the plan shows sizes and checksums instead.
	diffFetchCap = 256 << 10
	// diffLineCap bounds the unified diff shown in a plan.
	diffLineCap = 200
	// lineReadCap: the line kind edits files up to this size (it must read
	// them whole); /etc/default files are a few KiB.
	lineReadCap = 8 << 20
)

// rfValidateFailedMarker ends the validate command's output on stderr.
const rfValidateFailedMarker = "runbook: validate failed"

// Exit codes of the write command that mean something to the kind.
const (
	exitValidateFailed   = 65 // the validate command rejected the new file
	exitChangedMeanwhile = 66 // the file changed between the probe and the write
)

// fileResource is the Resourcer name of a remote path.
func fileResource(p string) string { return "file/" + p }

// ---------------------------------------------------------------- attributes

// rfString reads an optional string attribute ("" when null).
func rfString(cfg cty.Value, name string) (string, bool, error) {
	v := cfg.GetAttr(name)
	if v.IsNull() {
		return "", false, nil
	}
	if !v.IsKnown() {
		return "", false, nil
	}
	if v.Type() != cty.String {
		return "", false, &AttrError{Attr: name, Err: fmt.Errorf("want a string, got %s", v.Type().FriendlyName())}
	}
	return v.AsString(), true, nil
}

// rfBool reads an optional bool attribute.
func rfBool(cfg cty.Value, name string, def bool) bool {
	v := cfg.GetAttr(name)
	if v.IsNull() || !v.IsKnown() {
		return def
	}
	return v.True()
}

// rfKnown reports whether attribute name is set and known (so Validate
// can check it before the rest of the step's values are known).
func rfKnown(cfg cty.Value, name string) bool {
	v := cfg.GetAttr(name)
	return !v.IsNull() && v.IsWhollyKnown()
}

// rfPath reads a required absolute remote path. A relative path would be
// relative to the login user's home, which differs with become; a newline
// or NUL cannot be passed to, or read back from, the probe.
func rfPath(cfg cty.Value, name string) (string, error) {
	p, set, err := rfString(cfg, name)
	if err != nil || !set {
		return "", err
	}
	return checkRemotePath(name, p)
}

func checkRemotePath(attr, p string) (string, error) {
	switch {
	case p == "":
		return "", &AttrError{Attr: attr, Err: fmt.Errorf("%s is empty", attr)}
	case !strings.HasPrefix(p, "/"):
		return "", &AttrError{Attr: attr, Err: fmt.Errorf("%s %q is relative: write an absolute path (a relative one would depend on the login user's home and on become)", attr, p)}
	case strings.ContainsAny(p, "\n\x00"):
		return "", &AttrError{Attr: attr, Err: fmt.Errorf("%s contains a newline or NUL byte", attr)}
	}
	return path.Clean(p), nil
}

// fileMode is an octal permission mode; set is false when the author
// gave none (the file keeps its mode, a new file gets the umask's).
type fileMode struct {
	bits uint32
	set  bool
}

func (m fileMode) String() string { return fmt.Sprintf("%04o", m.bits) }

// chmodArg is the mode as chmod must get it: GNU chmod keeps a
// directory's setuid/setgid bits for a four-digit mode, so "0755" would
// never clear a g+s that the author did not ask for, and the step would
// report a change on every run. A fifth digit makes chmod set all bits.
func (m fileMode) chmodArg() string { return fmt.Sprintf("%05o", m.bits) }

var rfOctalMode = regexp.MustCompile(`^0?[0-7]{3,4}$`)

// rfMode reads `mode`. Its spec type is dynamic so a number is seen as a
// number: HCL would otherwise turn 644 into "644" silently, and 644 as a
// number is ambiguous (octal 0644, or decimal 644 = octal 1204?).
func rfMode(cfg cty.Value) (fileMode, error) {
	v := cfg.GetAttr("mode")
	if v.IsNull() || !v.IsKnown() {
		return fileMode{}, nil
	}
	switch v.Type() {
	case cty.Number:
		text := v.AsBigFloat().Text('f', -1)
		msg := fmt.Sprintf("mode = %s is a number, which is ambiguous", text)
		if n, err := strconv.ParseUint(text, 10, 32); err == nil {
			msg += fmt.Sprintf(" (octal 0%s, or decimal %s = octal 0%o?)", strings.TrimLeft(text, "0"), text, n)
		}
		return fileMode{}, &AttrError{Attr: "mode", Err: fmt.Errorf("%s: write the octal mode as a string, mode = \"0%s\"", msg, strings.TrimLeft(text, "0"))}
	case cty.String:
	default:
		return fileMode{}, &AttrError{Attr: "mode", Err: fmt.Errorf("mode is an octal string like \"0644\", not a %s", v.Type().FriendlyName())}
	}
	s := v.AsString()
	if !rfOctalMode.MatchString(s) {
		return fileMode{}, &AttrError{Attr: "mode", Err: fmt.Errorf("mode %q is not an octal mode like \"0644\" or \"2775\" (symbolic modes are not supported)", s)}
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return fileMode{}, &AttrError{Attr: "mode", Err: err}
	}
	return fileMode{bits: uint32(n), set: true}, nil
}

// An account or group name as useradd/groupadd accept it, or a numeric id.
var rfAccountName = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9._-]*\$?|[0-9]+)$`)

func rfAccount(cfg cty.Value, name string) (string, error) {
	s, set, err := rfString(cfg, name)
	if err != nil || !set {
		return "", err
	}
	if !rfAccountName.MatchString(s) || len(s) > 256 {
		return "", &AttrError{Attr: name, Err: fmt.Errorf("%s %q is not a user/group name or a numeric id", name, s)}
	}
	return s, nil
}

// fileAttrs are the mode, owner and group an author asked for.
type fileAttrs struct {
	mode  fileMode
	owner string
	group string
}

func decodeFileAttrs(cfg cty.Value) (fileAttrs, error) {
	var a fileAttrs
	var err error
	if a.mode, err = rfMode(cfg); err != nil {
		return a, err
	}
	if a.owner, err = rfAccount(cfg, "owner"); err != nil {
		return a, err
	}
	if a.group, err = rfAccount(cfg, "group"); err != nil {
		return a, err
	}
	return a, nil
}

// validateCommand reads `validate`: a command run on the new file before
// it replaces the old one, with %s for the file's path.
func rfValidate(cfg cty.Value) (string, error) {
	s, set, err := rfString(cfg, "validate")
	if err != nil || !set {
		return "", err
	}
	switch {
	case strings.TrimSpace(s) == "":
		return "", &AttrError{Attr: "validate", Err: fmt.Errorf("validate is empty")}
	case !strings.Contains(s, "%s"):
		return "", &AttrError{Attr: "validate", Err: fmt.Errorf("validate %q has no %%s: write where the new file's path goes, e.g. \"visudo -cf %%s\"", s)}
	case strings.ContainsAny(s, "\n\x00"):
		return "", &AttrError{Attr: "validate", Err: fmt.Errorf("validate must be one line")}
	}
	return s, nil
}

// ---------------------------------------------------------------- probe

// remoteFile is a remote path's state as the probe found it.
type remoteFile struct {
	// path is the path probed; for the content kinds, the symlink's
	// resolved target when the author's path is a symlink (they write
	// through links, as `cp` and editors do).
	path     string
	resolved bool // path is a symlink's target
	exists   bool
	// missingDir is the parent directory when it does not exist either.
	missingDir string
	kind       string // "file", "directory", "link", or stat's own word
	mode       uint32
	owner      string // names, or the ids when the id has no name
	group      string
	uid, gid   string
	size       int64
	sha256     string // regular files, when asked for
	linkTarget string // links (file kind, which does not follow them)
	// content is the file's bytes when the probe sent them (they differ
	// from the desired checksum and fit the cap, or the line kind asked).
	content     []byte
	haveContent bool
	// drift: the recurse probe's first paths whose owner/group/mode
	// differ, and how many there are.
	drift      []string
	driftCount int
}

func (f remoteFile) modeString() string { return fmt.Sprintf("%04o", f.mode) }

// rfStatFormat prints the fields remoteFile reads; names cannot hold '|'.
const rfStatFormat = "%F|%a|%U|%G|%u|%g|%s"

// rfProbeOptions say what the probe reads besides stat.
type rfProbeOptions struct {
	// follow: resolve a symlink and describe its target (content kinds).
	follow bool
	// checksum: print the sha256 of a regular file.
	checksum bool
	// contentUnless: with checksum, send the content when its checksum
	// differs from this and it is at most contentCap bytes. "" with
	// contentCap > 0 means send it whatever its checksum (line).
	contentUnless string
	contentCap    int64
	// recurse: list what below a directory differs from these.
	recurse *fileAttrs
}

// probeLine builds the probe: one /bin/sh command that prints a line per
// fact ("stat …", "sha256 …", "absent") and, last, "content" followed by
// the file's bytes when asked for.
func rfProbeLine(p string, o rfProbeOptions) string {
	var b strings.Builder
	b.WriteString("p=" + transport.ShellQuote(p) + "; ")
	statCmd := "stat -c"
	if o.follow {
		// readlink -f resolves every link on the way; the write then goes
		// to the target and the link stays.
		b.WriteString(`if [ -L "$p" ]; then p=$(readlink -f -- "$p") || exit 1; echo "resolved $p"; fi; `)
		statCmd = "stat -L -c"
	}
	b.WriteString(`if [ -e "$p" ] || [ -L "$p" ]; then ` + statCmd + ` "stat ` + rfStatFormat + `" -- "$p" || exit 1; `)
	if !o.follow {
		b.WriteString(`if [ -L "$p" ]; then echo "link $(readlink -- "$p")"; fi; `)
	}
	if o.checksum {
		b.WriteString(`if [ -f "$p" ]; then s=$(sha256sum < "$p") || exit 1; s=${s%% *}; echo "sha256 $s"; `)
		if o.contentCap > 0 {
			cond := `[ "$(stat -L -c %s -- "$p")" -le ` + strconv.FormatInt(o.contentCap, 10) + ` ]`
			if o.contentUnless != "" {
				cond = `[ "$s" != ` + o.contentUnless + ` ] && ` + cond
			}
			b.WriteString("if " + cond + `; then echo content; exec cat -- "$p"; fi; `)
		}
		b.WriteString("fi; ")
	}
	if r := o.recurse; r != nil {
		var conds []string
		if r.owner != "" {
			conds = append(conds, "! -user "+transport.ShellQuote(r.owner))
		}
		if r.group != "" {
			conds = append(conds, "! -group "+transport.ShellQuote(r.group))
		}
		if r.mode.set {
			conds = append(conds, fmt.Sprintf(`\( -type d ! -perm %04o \)`, r.mode.bits))
		}
		b.WriteString(`if [ -d "$p" ] && [ ! -L "$p" ]; then find "$p" -mindepth 1 \( ` + strings.Join(conds, " -o ") +
			` \) -print | awk 'NR <= 5 { print "drift " $0 } END { print "drifted " NR }'; fi; `)
	}
	b.WriteString(`elif [ -d "$(dirname -- "$p")" ]; then echo absent; else echo "absent-dir $(dirname -- "$p")"; fi`)
	return b.String()
}

// probe runs the probe: the one command an unchanged step costs.
func probeRemoteFile(ctx context.Context, ex Exec, p string, o rfProbeOptions) (remoteFile, error) {
	cmd := transport.Command{Argv: []string{"/bin/sh", "-c", rfProbeLine(p, o)}, Become: ex.Become(), NoStdin: true}
	res, err := ex.Run(ctx, cmd)
	if err != nil {
		return remoteFile{}, err
	}
	if res.ExitCode != 0 {
		return remoteFile{}, rfFailure("read", p, ex.Become(), res)
	}
	f, err := rfParseProbe(p, res.Stdout)
	if err != nil {
		return f, err
	}
	if o.recurse != nil && len(bytes.TrimSpace(res.Stderr)) > 0 {
		// find reports what it could not read and still exits 0 through
		// the pipe: a partial listing would call a tree in order that
		// is not.
		return f, rfFailure("read", p, ex.Become(), transport.Result{ExitCode: 1, Stderr: res.Stderr})
	}
	return f, nil
}

func rfParseProbe(p string, out []byte) (remoteFile, error) {
	f := remoteFile{path: p}
	rest := out
	for len(rest) > 0 {
		line, after, _ := bytes.Cut(rest, []byte("\n"))
		rest = after
		word, val, _ := strings.Cut(string(line), " ")
		switch word {
		case "content":
			f.content, f.haveContent = rest, true
			return f, nil
		case "resolved":
			f.path, f.resolved = val, true
		case "absent":
			return f, nil
		case "absent-dir":
			f.missingDir = val
			return f, nil
		case "stat":
			parts := strings.Split(val, "|")
			if len(parts) != 7 {
				return f, fmt.Errorf("cannot read stat output %q for %s", val, p)
			}
			f.exists = true
			switch parts[0] {
			case "regular file", "regular empty file":
				f.kind = "file"
			case "symbolic link":
				f.kind = "link"
			default:
				f.kind = parts[0]
			}
			m, err := strconv.ParseUint(parts[1], 8, 32)
			if err != nil {
				return f, fmt.Errorf("cannot read mode %q of %s", parts[1], p)
			}
			f.mode = uint32(m)
			f.owner, f.group, f.uid, f.gid = parts[2], parts[3], parts[4], parts[5]
			if f.owner == "UNKNOWN" {
				f.owner = f.uid
			}
			if f.group == "UNKNOWN" {
				f.group = f.gid
			}
			f.size, _ = strconv.ParseInt(parts[6], 10, 64)
		case "sha256":
			f.sha256 = val
		case "link":
			f.linkTarget = val
		case "drift":
			f.drift = append(f.drift, val)
		case "drifted":
			f.driftCount, _ = strconv.Atoi(val)
		}
	}
	return f, nil
}

// permissionDenied: the command failed on file permissions.
func rfPermissionDenied(stderr []byte) bool {
	s := string(stderr)
	return strings.Contains(s, "Permission denied") || strings.Contains(s, "Operation not permitted") || strings.Contains(s, "Read-only file system")
}

// remoteFailure describes a failed file command; a permission error
// without become names the path and suggests become.
func rfFailure(verb, p string, become bool, res transport.Result) error {
	msg := fmt.Sprintf("cannot %s %s (exit %d)", verb, p, res.ExitCode)
	if t := strings.TrimSpace(tail(string(res.Stderr), 5)); t != "" {
		msg += ": " + t
	}
	f := &Failure{Msg: msg}
	if rfPermissionDenied(res.Stderr) {
		f.Msg = fmt.Sprintf("cannot %s %s: permission denied", verb, p)
		if t := strings.TrimSpace(tail(string(res.Stderr), 3)); t != "" {
			f.Msg += " (" + t + ")"
		}
		if become {
			f.Hint = "even root may not: check for a read-only or root-squashed file system, or immutable attributes (lsattr)"
		} else {
			f.Hint = "the login user may not " + verb + " " + p + "; set become = true on the step to do it as root through sudo"
		}
	}
	return f
}

// parentProblem is the plan's answer for a path whose directory does
// not exist: fine when an earlier step of this plan creates it (the path
// is then simply new), an error otherwise, as apply would fail.
func rfParentProblem(ex Exec, f remoteFile) error {
	if f.missingDir == "" || ex.Ahead(fileResource(f.missingDir)) {
		return nil
	}
	return &Failure{Msg: fmt.Sprintf("cannot create %s: directory %s does not exist", f.path, f.missingDir),
		Hint: fmt.Sprintf("create it first: a file step with path = %q and state = \"directory\"", f.missingDir)}
}

// ---------------------------------------------------------------- changes

// sameAccount compares a wanted owner/group (name or id) with the live one.
func rfSameAccount(want, name, id string) bool {
	return want == "" || want == name || want == id
}

// attrChanges lists how the live mode/owner/group differ from the wanted
// ones; absent on a new file (where the current value is "(new)").
func rfAttrChanges(f remoteFile, want fileAttrs) []Change {
	var out []Change
	cur := func(s string) string {
		if !f.exists {
			return "(new)"
		}
		return s
	}
	if want.mode.set && (!f.exists || f.mode != want.mode.bits) {
		out = append(out, Change{Field: "mode", Current: cur(f.modeString()), Desired: want.mode.String()})
	}
	if !f.exists || !rfSameAccount(want.owner, f.owner, f.uid) {
		if want.owner != "" {
			out = append(out, Change{Field: "owner", Current: cur(f.owner), Desired: want.owner})
		}
	}
	if !f.exists || !rfSameAccount(want.group, f.group, f.gid) {
		if want.group != "" {
			out = append(out, Change{Field: "group", Current: cur(f.group), Desired: want.group})
		}
	}
	return out
}

func rfSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// describeContent is a file's content as a plan shows it without its text.
func rfDescribeContent(sum string, size int64) string {
	short := sum
	if len(short) > 12 {
		short = short[:12]
	}
	return fmt.Sprintf("sha256:%s (%d bytes)", short, size)
}

// isText: content a unified diff can show (UTF-8 without NUL bytes).
func rfIsText(b []byte) bool {
	return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}

// contentChanges is the plan's view of a content change: sizes and
// checksums always, and a unified diff when both sides are text, the
// content is not sensitive and the old one was fetched (it fits the cap).
// The diff is a Change of its own, Field "diff", with the diff as
// Desired: plans print a multi-line value as an indented block.
func rfContentChanges(f remoteFile, desired []byte, sensitive bool) []Change {
	wantSum := rfSHA256(desired)
	if f.exists && f.sha256 == wantSum {
		return nil
	}
	cur := "(new)"
	if f.exists {
		cur = rfDescribeContent(f.sha256, f.size)
	}
	want := rfDescribeContent(wantSum, int64(len(desired)))
	if sensitive {
		want += ", sensitive: not shown"
	}
	out := []Change{{Field: "content", Current: cur, Desired: want}}
	if sensitive {
		return out
	}
	var old []byte
	switch {
	case !f.exists:
	case !f.haveContent:
		// Too large for the cap: sizes and checksums say enough.
		out[0].Desired += fmt.Sprintf(", no diff: the file is over %d KiB", diffFetchCap>>10)
		return out
	default:
		old = f.content
	}
	if !rfIsText(old) || !rfIsText(desired) {
		out[0].Desired += ", binary: no diff"
		return out
	}
	if d := rfUnifiedDiff(f.path, old, desired, f.exists); d != "" {
		out = append(out, Change{Field: "diff", Desired: d})
	}
	return out
}

// diffLines splits text into the lines difflib compares, each with its
// newline; a last line without one is marked as diff(1) marks it, so a
// missing final newline shows as a change.
func diffLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n\\ No newline at end of file\n"
	}
	return lines
}

// UnifiedDiff is diff -u from old, named from, to new, named to: three
// lines of context, no timestamps, "" when they are equal. A plan shows a
// file's change with it, and runbook fmt -diff a runbook's.
func UnifiedDiff(from, to string, old, new []byte) string {
	// Writing to a strings.Builder cannot fail.
	d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: diffLines(string(old)), B: diffLines(string(new)),
		FromFile: from, ToFile: to, Context: 3,
	})
	return d
}

// rfUnifiedDiff is the diff of a file's change, capped at diffLineCap
// lines.
func rfUnifiedDiff(p string, old, new []byte, existed bool) string {
	from := p
	if !existed {
		from = "/dev/null"
	}
	d := strings.TrimRight(UnifiedDiff(from, p, old, new), "\n")
	if d == "" {
		return ""
	}
	lines := strings.Split(d, "\n")
	if len(lines) > diffLineCap {
		lines = append(lines[:diffLineCap], fmt.Sprintf("… %d more lines of diff", len(lines)-diffLineCap))
	}
	return strings.Join(lines, "\n")
}

// changedFields names the changed fields for a summary ("mode, content").
func rfChangedFields(cs []Change) string {
	var names []string
	for _, c := range cs {
		if c.Field != "diff" {
			names = append(names, c.Field)
		}
	}
	return strings.Join(names, ", ")
}

// ---------------------------------------------------------------- write

// rfWriteSpec is what writeContent puts in place.
type rfWriteSpec struct {
	path    string
	content []byte
	// mode/owner/group: what the new file gets. Unset fields keep the
	// old file's (its mode and numeric owner/group, from the probe); a new
	// file gets the umask's mode and the writing user.
	attrs    fileAttrs
	existing remoteFile
	validate string
	backup   bool
	// guardSHA, when set, makes the write fail unless the file still has
	// this checksum ("-" for: still absent): for content derived from
	// the old content (line), a change made in between is not lost.
	guardSHA string
}

// writeLine builds the write: the content arrives on stdin into a temp
// file in the same directory (so the rename is atomic and the file never
// half-rfWritten), gets its mode and owner, is validated, the old file is
// backed up, and the temp file is renamed over the path. The last lines
// print the new file's stat and checksum, the "after" evidence.
func rfWriteLine(w rfWriteSpec) string {
	q := transport.ShellQuote
	dir, base := path.Split(w.path)
	var b strings.Builder
	b.WriteString("d=" + q(w.path) + "; ")
	b.WriteString("t=$(mktemp -- " + q(dir+"."+base+".runbook-XXXXXX") + ") || exit 1; ")
	b.WriteString(`cleanup() { rm -f -- "$t"; }; trap cleanup EXIT; `)
	b.WriteString(`cat > "$t" || exit 1; `)
	switch {
	case w.attrs.mode.set:
		b.WriteString(`chmod ` + w.attrs.mode.chmodArg() + ` "$t" || exit 1; `)
	case w.existing.exists:
		b.WriteString(`chmod ` + fileMode{bits: w.existing.mode}.chmodArg() + ` "$t" || exit 1; `)
	default:
		// mktemp makes 0600; a new file gets what cp or an editor would give it.
		b.WriteString(`chmod "$(printf "0%o" $(( 0666 & ~$(umask) )))" "$t" || exit 1; `)
	}
	owner, group := w.attrs.owner, w.attrs.group
	if w.existing.exists {
		if owner == "" {
			owner = w.existing.uid
		}
		if group == "" {
			group = w.existing.gid
		}
	}
	if spec := rfChownSpec(owner, group); spec != "" {
		b.WriteString("chown " + q(spec) + ` "$t" || exit 1; `)
	}
	if w.validate != "" {
		// Its stdout goes to stderr: stdout is for the lines parsed below.
		v := strings.ReplaceAll(w.validate, "%s", `"$t"`)
		fmt.Fprintf(&b, "{ %s; } >&2 || { echo \"%s\" >&2; exit %d; }; ", v, rfValidateFailedMarker, exitValidateFailed)
	}
	switch w.guardSHA {
	case "":
	case "-":
		fmt.Fprintf(&b, `if [ -e "$d" ]; then echo "runbook: $d was created since it was read" >&2; exit %d; fi; `, exitChangedMeanwhile)
	default:
		// Quoted although it is a checksum: it came from the host's output.
		fmt.Fprintf(&b, `if [ "$(sha256sum < "$d" | cut -c1-64)" != %s ]; then echo "runbook: $d changed since it was read" >&2; exit %d; fi; `, q(w.guardSHA), exitChangedMeanwhile)
	}
	if w.backup {
		b.WriteString(`if [ -e "$d" ]; then b="$d.$(date +%Y%m%d-%H%M%S)~"; cp -p -- "$d" "$b" || exit 1; echo "backup $b"; fi; `)
	}
	b.WriteString(`mv -f -- "$t" "$d" && stat -c "after ` + rfStatFormat + `" -- "$d" && s=$(sha256sum < "$d") && echo "after-sha256 ${s%% *}"`)
	return b.String()
}

func rfChownSpec(owner, group string) string {
	switch {
	case owner != "" && group != "":
		return owner + ":" + group
	case owner != "":
		return owner
	case group != "":
		return ":" + group
	}
	return ""
}

// rfWritten is what a write command printed.
type rfWritten struct {
	after  remoteFile
	backup string
}

func rfParseWritten(p string, out []byte) rfWritten {
	var w rfWritten
	w.after.path = p
	for _, line := range strings.Split(string(out), "\n") {
		word, val, _ := strings.Cut(line, " ")
		switch word {
		case "backup":
			w.backup = val
		case "after":
			if f, err := rfParseProbe(p, []byte("stat "+val+"\n")); err == nil {
				f.sha256 = w.after.sha256
				w.after = f
			}
		case "after-sha256":
			w.after.sha256 = val
		}
	}
	return w
}

// writeContent runs the write command: one remote command.
func rfWriteContent(ctx context.Context, ex Exec, w rfWriteSpec) (rfWritten, error) {
	cmd := transport.Command{Argv: []string{"/bin/sh", "-c", rfWriteLine(w)}, Stdin: bytes.NewReader(w.content), Become: ex.Become()}
	res, err := ex.Run(ctx, cmd)
	if err != nil {
		return rfWritten{}, err
	}
	switch res.ExitCode {
	case 0:
	case exitValidateFailed:
		msg := fmt.Sprintf("validate `%s` rejected the new %s; the file was not changed", w.validate, w.path)
		if t := strings.TrimSpace(tail(strings.ReplaceAll(string(res.Stderr), rfValidateFailedMarker, ""), 5)); t != "" {
			msg += ": " + t
		}
		return rfWritten{}, &Failure{Msg: msg}
	case exitChangedMeanwhile:
		return rfWritten{}, &Failure{Msg: fmt.Sprintf("%s changed between the plan's read and the write; nothing was written", w.path),
			Hint: "something else edits this file; run again to plan on its new content"}
	default:
		return rfWritten{}, rfFailure("write", w.path, ex.Become(), res)
	}
	out := rfParseWritten(w.path, res.Stdout)
	if want := rfSHA256(w.content); out.after.sha256 != want {
		return out, &Failure{Msg: fmt.Sprintf("%s reads back with checksum %s, not the %s written", w.path, out.after.sha256, want)}
	}
	return out, nil
}

// rfAttrCommands change mode/owner/group in place (no content change);
// noFollow: p is a symlink whose own owner changes (chown -h).
func rfAttrCommands(p string, want fileAttrs, f remoteFile, noFollow bool) []string {
	q := transport.ShellQuote
	var cmds []string
	if want.mode.set && f.mode != want.mode.bits {
		cmds = append(cmds, "chmod "+want.mode.chmodArg()+" -- "+q(p))
	}
	owner, group := want.owner, want.group
	if rfSameAccount(owner, f.owner, f.uid) {
		owner = ""
	}
	if rfSameAccount(group, f.group, f.gid) {
		group = ""
	}
	if spec := rfChownSpec(owner, group); spec != "" {
		h := ""
		if noFollow {
			h = "-h "
		}
		cmds = append(cmds, "chown "+h+q(spec)+" -- "+q(p))
	}
	return cmds
}

// rfSetAttrsLine is rfAttrCommands and then the path's new stat, the
// "after" evidence, as one command line.
func rfSetAttrsLine(p string, want fileAttrs, f remoteFile, noFollow bool) string {
	return strings.Join(append(rfAttrCommands(p, want, f, noFollow), rfAfterStat(p, noFollow)), " && ")
}

// rfAfterStat prints the path's state after a change (the evidence).
func rfAfterStat(p string, noFollow bool) string {
	c := "stat -L -c "
	if noFollow {
		c = "stat -c "
	}
	return c + transport.ShellQuote("after "+rfStatFormat) + " -- " + transport.ShellQuote(p)
}

// runFileCommand runs one shell line that changes p, mapping a failure
// to a Failure that names p.
func rfRunCommand(ctx context.Context, ex Exec, verb, p, line string) (transport.Result, error) {
	res, err := ex.Run(ctx, transport.Command{Line: line, Become: ex.Become(), NoStdin: true})
	if err != nil {
		return res, err
	}
	if res.ExitCode != 0 {
		return res, rfFailure(verb, p, ex.Become(), res)
	}
	return res, nil
}
