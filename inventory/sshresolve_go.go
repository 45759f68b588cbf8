package inventory

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
)

// goResolver resolves a host as OpenSSH 9.2's ssh does (ssh.c main and
// readconf.c), for machines where no ssh binary exists. It is written
// by hand rather than on github.com/kevinburke/ssh_config because that
// library differs from OpenSSH where admins' configs live: it rejects
// the whole file at `Match` criteria other than host/all, at an Include
// with a trailing comment, splits quoted paths at spaces, lets `?` match
// nothing, tests Match host against the alias instead of the HostName
// and knows nothing of canonicalisation or the final pass. Every rule
// below cites what it follows; the test battery holds it against ssh -G.
type goResolver struct {
	// config is -F's file; "" reads ~/.ssh/config then /etc/ssh/ssh_config
	// as ssh does without -F.
	config       string
	systemConfig string
	local        sshLocal
	// resolveHost answers canonicalisation's DNS question; nil uses the
	// system resolver.
	resolveHost func(name string) bool
	// runExec runs a `Match exec` command; nil runs it with sh -c.
	runExec func(cmd string) bool
	// scanAll reads every block as active and runs no Match exec: a
	// pass over the whole config for the warnings of every line.
	scanAll bool
	// files caches each config file's lines: an inventory of thousands
	// of hosts reads them once (path -> fileLines).
	files sync.Map
}

type fileLines struct {
	lines []string
	err   error
}

func (r *goResolver) readLines(path string) ([]string, error) {
	if v, ok := r.files.Load(path); ok {
		f := v.(fileLines)
		return f.lines, f.err
	}
	src, err := os.ReadFile(path)
	f := fileLines{err: err}
	if err == nil {
		f.lines = strings.Split(string(src), "\n")
	}
	r.files.Store(path, f)
	return f.lines, f.err
}

// sshWarning is a construct runbook cannot honour, or a line ssh itself
// would refuse, with where it is.
type sshWarning struct {
	File string
	Line int
	Msg  string
}

func (w sshWarning) String() string {
	if w.File == "" {
		return w.Msg
	}
	return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg)
}

// lineRange is where line n of file is, for a diagnostic's snippet;
// nil when the file cannot be read again.
func (r *goResolver) lineRange(file string, n int) *hcl.Range {
	lines, err := r.readLines(file)
	if err != nil || n < 1 || n > len(lines) {
		return nil
	}
	off := 0
	for _, l := range lines[:n-1] {
		off += len(l) + 1
	}
	text := strings.TrimRight(lines[n-1], "\r")
	return &hcl.Range{Filename: file,
		Start: hcl.Pos{Line: n, Column: 1, Byte: off},
		End:   hcl.Pos{Line: n, Column: len(text) + 1, Byte: off + len(text)}}
}

// sshOptions is readconf.c's Options for the keywords runbook reads.
// Unset is "" / -1 / nil; the first value obtained wins, as in OpenSSH.
type sshOptions struct {
	user, hostName, hostKeyAlias  string
	proxyCommand                  *string
	port                          int
	identityFiles                 []identityEntry
	identitiesOnly                int
	userKnownHosts                []string
	globalKnownHosts              []string
	strict                        int
	jumpHost, jumpUser, jumpExtra string
	jumpPort                      int
	canonHost, canonMaxDots       int
	canonFallback                 int
	canonDomains                  []string
	ignoreUnknown                 *string
	// origin: keyword -> "FILE:LINE" of the line that set it.
	origin map[string]string
}

type identityEntry struct {
	path         string
	userProvided bool
	origin       string
}

const (
	strictOff, strictYes, strictAsk, strictNew = 0, 1, 2, 3
	canonNo, canonYes, canonAlways             = 0, 1, 2
)

func newSSHOptions() *sshOptions {
	return &sshOptions{port: -1, identitiesOnly: -1, strict: -1, canonHost: -1, canonMaxDots: -1, canonFallback: -1, origin: map[string]string{}}
}

// resolveState is one resolution in progress.
type resolveState struct {
	r         *goResolver
	o         *sshOptions
	q         sshQuery
	host      string // matched by Host lines: the argument, then the final name
	finalPass bool
	wantFinal bool
	warnings  []sshWarning
	// active keywords seen (for warnings about what runbook ignores)
	seenWarn map[string]bool
}

func (s *resolveState) warn(file string, line int, format string, args ...any) {
	w := sshWarning{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	for _, x := range s.warnings {
		if x == w {
			return
		}
	}
	s.warnings = append(s.warnings, w)
}

// resolve answers q as `ssh -G [-F config] q...` would print it.
func (r *goResolver) resolve(q sshQuery) (sshDump, map[string]string, []sshWarning, error) {
	s := &resolveState{r: r, o: newSSHOptions(), q: q, host: q.Host}
	o := s.o
	// Command line first: its values are obtained first, so they win.
	if q.User != "" {
		o.user = q.User
		o.origin["user"] = "inventory"
	}
	if q.Port > 0 {
		o.port = q.Port
		o.origin["port"] = "inventory"
	}
	for _, id := range q.IdentityFiles {
		// ssh.c: -i takes the file tilde-expanded, and only if it exists.
		p := tildeExpand(id, r.local.Home)
		if _, err := os.Stat(p); err == nil {
			o.addIdentity(p, true, "inventory")
		}
	}
	if q.Jump != "" {
		if err := s.parseJump(q.Jump, true, "inventory"); err != nil {
			return nil, nil, nil, fmt.Errorf("-J %s: %v", q.Jump, err)
		}
		o.proxyCommand = ptr("none")
	}
	if err := s.readConfigs(); err != nil {
		return nil, nil, s.warnings, err
	}
	// fill_default_options_for_canonicalization
	if o.canonMaxDots == -1 {
		o.canonMaxDots = 1
	}
	if o.canonFallback == -1 {
		o.canonFallback = 1
	}
	if o.canonHost == -1 {
		o.canonHost = canonNo
	}
	host := q.Host
	if o.hostName != "" {
		h, err := percentExpand(o.hostName, false, func(c byte) (string, bool) {
			if c == 'h' {
				return q.Host, true
			}
			return "", false
		})
		if err != nil {
			return nil, nil, s.warnings, fmt.Errorf("HostName %s", err)
		}
		host = h
		o.hostName = h
	}
	wasAddr := net.ParseIP(host) != nil
	if !wasAddr {
		host = strings.ToLower(host)
	}
	if o.canonHost != canonNo || wasAddr {
		h, err := s.canonicalize(host)
		if err != nil {
			return nil, nil, s.warnings, err
		}
		if h != host {
			o.origin["hostname"] = "canonicalized: " + firstNonEmpty(o.origin["canonicaldomains"], "CanonicalDomains")
		}
		host = h
	}
	if o.canonHost != canonNo {
		s.wantFinal = true
	}
	if s.wantFinal {
		o.hostName = host
		s.host = host
		s.finalPass = true
		if err := s.readConfigs(); err != nil {
			return nil, nil, s.warnings, err
		}
	}
	// fill_default_options
	if len(o.identityFiles) == 0 {
		for _, n := range []string{"id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa"} {
			o.addIdentity("~/.ssh/"+n, false, "default")
		}
	}
	if o.globalKnownHosts == nil {
		o.globalKnownHosts = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
		o.origin["globalknownhostsfile"] = "default"
	}
	if o.userKnownHosts == nil {
		o.userKnownHosts = []string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}
		o.origin["userknownhostsfile"] = "default"
	}
	if o.identitiesOnly == -1 {
		o.identitiesOnly = 0
	}
	if o.strict == -1 {
		o.strict = strictAsk
	}
	if o.proxyCommand != nil && *o.proxyCommand == "none" {
		o.proxyCommand = nil
	}
	if o.jumpHost == "none" && o.jumpPort == 0 && o.jumpUser == "" {
		o.jumpHost = ""
	}
	if o.user == "" {
		o.user = r.local.LocalUser
	}
	port := o.port
	if port <= 0 {
		port = 22
	}
	if o.jumpHost != "" {
		jp, ju := o.jumpPort, o.jumpUser
		if jp <= 0 {
			jp = 22
		}
		if ju == "" {
			ju = o.user
		}
		if o.jumpHost == host && jp == port && ju == o.user {
			return nil, nil, s.warnings, fmt.Errorf("jumphost loop via %s", o.jumpHost)
		}
	}

	tok := sshTokens{local: r.local, hostArg: q.Host, host: host, user: o.user, port: port, hostKeyAlias: strings.ToLower(o.hostKeyAlias)}
	d := sshDump{
		"host":     {q.Host},
		"user":     {o.user},
		"hostname": {host},
		"port":     {strconv.Itoa(port)},
	}
	for _, id := range o.identityFiles {
		d["identityfile"] = append(d["identityfile"], id.path)
	}
	d["identitiesonly"] = []string{yesNo(o.identitiesOnly == 1)}
	if o.jumpHost == "" {
		if o.proxyCommand != nil {
			d["proxycommand"] = []string{*o.proxyCommand}
		}
	} else {
		d["proxyjump"] = []string{o.jumpString()}
	}
	var ukh []string
	if !(len(o.userKnownHosts) == 1 && strings.EqualFold(o.userKnownHosts[0], "none")) {
		for _, f := range o.userKnownHosts {
			x, err := tok.expand(tildeExpand(f, r.local.Home), true)
			if err != nil {
				return nil, nil, s.warnings, fmt.Errorf("UserKnownHostsFile %v", err)
			}
			ukh = append(ukh, x)
		}
	}
	d["userknownhostsfile"] = []string{oneLine(ukh)}
	// The list itself: ssh -G's one line cannot show a path with a space.
	d[userKnownHostsList] = ukh
	gkh := o.globalKnownHosts
	if len(gkh) == 1 && strings.EqualFold(gkh[0], "none") {
		gkh = nil
	}
	d["globalknownhostsfile"] = []string{oneLine(gkh)}
	d["stricthostkeychecking"] = []string{[]string{"false", "true", "ask", "accept-new"}[o.strict]}
	if o.hostKeyAlias != "" {
		d["hostkeyalias"] = []string{strings.ToLower(o.hostKeyAlias)}
	}
	d["canonicalizehostname"] = []string{[]string{"false", "true", "always"}[o.canonHost]}
	d["canonicaldomains"] = []string{oneLine(o.canonDomains)}
	d["canonicalizemaxdots"] = []string{strconv.Itoa(o.canonMaxDots)}
	d["canonicalizefallbacklocal"] = []string{yesNo(o.canonFallback == 1)}

	origin := map[string]string{}
	for k, v := range o.origin {
		origin[k] = v
	}
	for i, id := range o.identityFiles {
		origin["identityfile#"+strconv.Itoa(i)] = id.origin
	}
	return d, origin, s.warnings, nil
}

// userKnownHostsList is the dump's private key for the unjoined
// UserKnownHostsFile list.
const userKnownHostsList = "userknownhostsfile#list"

func ptr(s string) *string { return &s }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// oneLine is dump_cfg_strarray_oneline: "none" for an empty list.
func oneLine(vals []string) string {
	if len(vals) == 0 {
		return "none"
	}
	return strings.Join(vals, " ")
}

func (o *sshOptions) jumpString() string {
	var b strings.Builder
	if o.jumpExtra != "" {
		b.WriteString(o.jumpExtra + ",")
	}
	if o.jumpUser != "" {
		b.WriteString(o.jumpUser + "@")
	}
	numeric := strings.Contains(o.jumpHost, ":") || strings.Trim(o.jumpHost, "1234567890.") == ""
	if numeric {
		b.WriteString("[" + o.jumpHost + "]")
	} else {
		b.WriteString(o.jumpHost)
	}
	if o.jumpPort > 0 {
		b.WriteString(":" + strconv.Itoa(o.jumpPort))
	}
	return b.String()
}

// addIdentity is add_identity_file: a path already listed with the same
// provenance (user or system) is not added twice.
func (o *sshOptions) addIdentity(path string, userProvided bool, origin string) {
	for _, id := range o.identityFiles {
		if id.userProvided == userProvided && id.path == path {
			return
		}
	}
	o.identityFiles = append(o.identityFiles, identityEntry{path: path, userProvided: userProvided, origin: origin})
}

// readConfigs is ssh.c process_config_files.
func (s *resolveState) readConfigs() error {
	if s.r.config != "" {
		if strings.EqualFold(s.r.config, "none") {
			return nil
		}
		ok, err := s.readFile(s.r.config, true, false, nil, 0)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("cannot open user config file %s", s.r.config)
		}
		return nil
	}
	if _, err := s.readFile(filepath.Join(s.r.local.Home, ".ssh", "config"), true, false, nil, 0); err != nil {
		return err
	}
	sys := s.r.systemConfig
	if sys == "" {
		sys = "/etc/ssh/ssh_config"
	}
	_, err := s.readFile(sys, false, false, nil, 0)
	return err
}

// readFile is read_config_file_depth. active is the caller's Host/Match
// state (nil: a top-level file, which starts active).
func (s *resolveState) readFile(path string, userConf, neverMatch bool, active *bool, depth int) (bool, error) {
	if depth > 16 {
		return false, fmt.Errorf("%s: too many recursive configuration includes", path)
	}
	lines, err := s.r.readLines(path)
	if err != nil {
		if errorsIsNotExist(err) {
			return false, nil
		}
		s.warn(path, 0, "cannot read: %v", err)
		return false, nil
	}
	if active == nil {
		a := true
		active = &a
	}
	for i, line := range lines {
		if err := s.line(line, path, i+1, userConf, neverMatch, active, depth); err != nil {
			return true, err
		}
	}
	return true, nil
}

func errorsIsNotExist(err error) bool {
	pe, ok := err.(*fs.PathError)
	return ok && os.IsNotExist(pe.Err)
}

// splitKeyword is the start of process_config_line_depth: strip the
// trailing white space, take the keyword (white space or one "="
// separates it from the arguments) and return the rest.
func splitKeyword(line string) (keyword, rest string) {
	line = strings.TrimRight(line, " \t\r\n\f")
	line = strings.TrimLeft(line, " \t\r\n")
	i := strings.IndexAny(line, " \t\r\n=\"")
	if i < 0 {
		return line, ""
	}
	if line[i] == '"' {
		// A quoted keyword: strdelim takes it without its quotes.
		j := strings.IndexByte(line[i+1:], '"')
		if j < 0 {
			return "", ""
		}
		keyword = line[:i] + line[i+1:i+1+j]
		rest = strings.TrimLeft(line[i+2+j:], " \t\r\n")
		return keyword, rest
	}
	keyword = line[:i]
	sawEquals := line[i] == '='
	rest = strings.TrimLeft(line[i+1:], " \t\r\n")
	if !sawEquals && strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], " \t\r\n")
	}
	return keyword, rest
}

// argvSplit is misc.c argv_split with terminate_on_comment: white space
// separates words, '…' and "…" quote, \\ \' \" and (unquoted) "\ "
// escape, and a word starting with # ends the line.
func argvSplit(s string) ([]string, bool) {
	var out []string
	i := 0
	for i < len(s) {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		if s[i] == '#' {
			break
		}
		var b strings.Builder
		var quote byte
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\' && i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"' || s[i+1] == '\\' || (quote == 0 && s[i+1] == ' ')):
				i++
				b.WriteByte(s[i])
				continue
			case quote == 0 && (c == ' ' || c == '\t'):
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
				continue
			case quote != 0 && c == quote:
				quote = 0
				continue
			default:
				b.WriteByte(c)
				continue
			}
			break
		}
		if quote != 0 {
			return nil, false
		}
		out = append(out, b.String())
	}
	return out, true
}

// strdelim is misc.c strdelim (split_equals): the next word of s, which
// may be "quoted" (double quotes only), and the rest.
func strdelim(s string) (word, rest string, ok bool) {
	i := strings.IndexAny(s, " \t\r\n\"=")
	if i < 0 {
		return s, "", true
	}
	if s[i] == '"' {
		s2 := s[:i] + s[i+1:]
		j := strings.IndexByte(s2[i:], '"')
		if j < 0 {
			return "", "", false
		}
		word = s2[:i+j]
		rest = strings.TrimLeft(s2[i+j+1:], " \t\r\n")
		return word, rest, true
	}
	word = s[:i]
	eq := s[i] == '='
	rest = strings.TrimLeft(s[i+1:], " \t\r\n")
	if !eq && strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], " \t\r\n")
	}
	return word, rest, true
}

// line is process_config_line_depth for one line.
func (s *resolveState) line(raw, file string, n int, userConf, neverMatch bool, active *bool, depth int) error {
	keyword, rest := splitKeyword(raw)
	if keyword == "" || strings.HasPrefix(keyword, "#") {
		return nil
	}
	kw := strings.ToLower(keyword)
	if rest == "" {
		s.warn(file, n, "no argument after keyword %q; ssh refuses this file", keyword)
		return nil
	}
	args, ok := argvSplit(rest)
	if !ok {
		s.warn(file, n, "invalid quotes; ssh refuses this file")
		return nil
	}
	o := s.o
	here := fmt.Sprintf("%s:%d", file, n)
	set := func(key string) { o.origin[key] = "ssh_config " + here }
	one := func() (string, bool) {
		if len(args) == 0 || args[0] == "" {
			s.warn(file, n, "%s: missing argument", keyword)
			return "", false
		}
		if len(args) > 1 {
			s.warn(file, n, "%s: extra arguments at end of line; ssh refuses this file", keyword)
		}
		return args[0], true
	}
	switch kw {
	case "host":
		*active = false
		if s.r.scanAll {
			*active = !neverMatch
			break
		}
		for _, a := range args {
			if neverMatch {
				break
			}
			neg := strings.HasPrefix(a, "!")
			if neg {
				a = a[1:]
			}
			if matchPattern(s.host, a) {
				if neg {
					*active = false
					break
				}
				*active = true
			}
		}
	case "match":
		v, err := s.matchLine(rest, file, n)
		if err != nil {
			s.warn(file, n, "%v; ssh refuses this file, runbook skips the block", err)
			v = false
		}
		*active = v && !neverMatch
		if s.r.scanAll {
			*active = !neverMatch
		}
	case "include":
		return s.include(args, file, n, userConf, neverMatch, active, depth)
	case "user":
		if v, ok := one(); ok && *active && o.user == "" {
			o.user = v
			set("user")
		}
	case "hostname":
		if v, ok := one(); ok && *active && o.hostName == "" {
			o.hostName = v
			set("hostname")
		}
	case "hostkeyalias":
		if v, ok := one(); ok && *active && o.hostKeyAlias == "" {
			o.hostKeyAlias = v
			set("hostkeyalias")
		}
	case "port":
		if v, ok := one(); ok {
			p, err := strconv.Atoi(v)
			if err != nil || p <= 0 || p > 65535 {
				s.warn(file, n, "bad port %q; ssh refuses this file", v)
				break
			}
			if *active && o.port == -1 {
				o.port = p
				set("port")
			}
		}
	case "identityfile", "identityfile2":
		if v, ok := one(); ok && *active {
			o.addIdentity(v, userConf, "ssh_config "+here)
		}
	case "identitiesonly":
		if v, ok := one(); ok {
			b, ok := flagValue(v)
			if !ok {
				s.warn(file, n, "IdentitiesOnly %q: unsupported value", v)
				break
			}
			if *active && o.identitiesOnly == -1 {
				o.identitiesOnly = b
				set("identitiesonly")
			}
		}
	case "stricthostkeychecking":
		if v, ok := one(); ok {
			m := map[string]int{"true": strictYes, "yes": strictYes, "false": strictOff, "no": strictOff, "off": strictOff, "ask": strictAsk, "accept-new": strictNew}
			x, ok := m[strings.ToLower(v)]
			if !ok {
				s.warn(file, n, "StrictHostKeyChecking %q: unsupported value", v)
				break
			}
			// The scan warns at every such line; a resolution at the
			// one that applies.
			if *active && (o.strict == -1 || s.r.scanAll) && x == strictOff {
				s.warn(file, n, "StrictHostKeyChecking %s: runbook reads it as accept-new (an unknown host key is recorded, a changed one is still refused); only --insecure-ignore-host-keys skips the check", v)
			}
			if *active && o.strict == -1 {
				o.strict = x
				set("stricthostkeychecking")
			}
		}
	case "userknownhostsfile", "globalknownhostsfile":
		list := &o.userKnownHosts
		if kw == "globalknownhostsfile" {
			list = &o.globalKnownHosts
		}
		empty := *list == nil
		for i, a := range args {
			if strings.EqualFold(a, "none") && (i > 0 || len(args) > 1) {
				s.warn(file, n, "%s: \"none\" must appear alone", keyword)
				return nil
			}
		}
		if *active && empty && len(args) > 0 {
			*list = append([]string{}, args...)
			set(kw)
		}
	case "proxycommand":
		cmd := strings.TrimLeft(rest, " \t=")
		if *active && o.jumpHost == "" && o.proxyCommand == nil {
			o.proxyCommand = ptr(cmd)
			set("proxycommand")
		}
	case "proxyjump":
		if err := s.parseJump(strings.TrimLeft(rest, " \t="), *active, "ssh_config "+here); err != nil {
			s.warn(file, n, "invalid ProxyJump %q: %v; ssh refuses this file", rest, err)
		}
	case "canonicalizehostname":
		if v, ok := one(); ok {
			m := map[string]int{"true": canonYes, "yes": canonYes, "false": canonNo, "no": canonNo, "always": canonAlways}
			x, ok := m[strings.ToLower(v)]
			if !ok {
				s.warn(file, n, "CanonicalizeHostname %q: unsupported value", v)
				break
			}
			if *active && o.canonHost == -1 {
				o.canonHost = x
				set("canonicalizehostname")
			}
		}
	case "canonicaldomains":
		already := o.canonDomains != nil
		for i, a := range args {
			if strings.EqualFold(a, "none") && (i > 0 || len(args) > 1) {
				s.warn(file, n, "CanonicalDomains: \"none\" must appear alone")
				return nil
			}
		}
		if *active && !already && len(args) > 0 {
			o.canonDomains = append([]string{}, args...)
			set("canonicaldomains")
		}
	case "canonicalizemaxdots":
		if v, ok := one(); ok {
			x, err := strconv.Atoi(v)
			if err != nil || x < 0 {
				s.warn(file, n, "CanonicalizeMaxDots %q: bad number", v)
				break
			}
			if *active && o.canonMaxDots == -1 {
				o.canonMaxDots = x
				set("canonicalizemaxdots")
			}
		}
	case "canonicalizefallbacklocal":
		if v, ok := one(); ok {
			b, ok := flagValue(v)
			if !ok {
				s.warn(file, n, "CanonicalizeFallbackLocal %q: unsupported value", v)
				break
			}
			if *active && o.canonFallback == -1 {
				o.canonFallback = b
				set("canonicalizefallbacklocal")
			}
		}
	default:
		if *active {
			if msg, ok := notHonoured[kw]; ok && msg.appliesTo(args) && (userConf || !msg.userOnly) {
				s.warn(file, n, "%s %s: %s", keyword, strings.Join(args, " "), msg.why)
			}
		}
		if kw == "ignoreunknown" && *active && o.ignoreUnknown == nil {
			o.ignoreUnknown = ptr(strings.Join(args, " "))
		}
		if !knownSSHKeywords[kw] && (o.ignoreUnknown == nil || matchPatternList(kw, *o.ignoreUnknown, true) != 1) {
			s.warn(file, n, "unknown keyword %q: ssh refuses this file (Bad configuration option) unless IgnoreUnknown names it; runbook ignores the line", keyword)
		}
	}
	return nil
}

func flagValue(v string) (int, bool) {
	switch strings.ToLower(v) {
	case "yes", "true":
		return 1, true
	case "no", "false":
		return 0, true
	}
	return 0, false
}

// include is readconf.c's oInclude: a relative path is under ~/.ssh for
// a user config and /etc/ssh for the system one; globs are expanded and
// sorted; the included lines share the caller's Host/Match state, which
// is restored after each file; inside an inactive block nothing in the
// included files matches.
func (s *resolveState) include(args []string, file string, n int, userConf, neverMatch bool, active *bool, depth int) error {
	for _, a := range args {
		if strings.HasPrefix(a, "~") && !userConf {
			s.warn(file, n, "bad include path %s (~ in a system config)", a)
			continue
		}
		p := a
		if !filepath.IsAbs(a) && !strings.HasPrefix(a, "~") {
			// Joined as text, not filepath.Join: "../x" must go through
			// ~/.ssh as the kernel does (it fails when ~/.ssh is missing).
			if userConf {
				p = "~/.ssh/" + a
			} else {
				p = "/etc/ssh/" + a
			}
		}
		p = tildeExpand(p, s.r.local.Home)
		matches, err := filepath.Glob(p)
		if err != nil {
			s.warn(file, n, "glob failed for %s", p)
			continue
		}
		was := *active
		for _, m := range matches {
			if _, err := s.readFile(m, userConf, neverMatch || !was, active, depth+1); err != nil {
				return err
			}
			*active = was
		}
	}
	return nil
}

// matchLine is match_cfg_line.
func (s *resolveState) matchLine(rest, file string, n int) (bool, error) {
	o := s.o
	q := s.q
	port := o.port
	if port <= 0 {
		port = 22
	}
	ruser := o.user
	if ruser == "" {
		ruser = s.r.local.LocalUser
	}
	var host string
	switch {
	case s.finalPass:
		host = o.hostName
	case o.hostName != "":
		// readconf.c: "NB. Please keep in sync with ssh.c:main()".
		h, err := percentExpand(o.hostName, false, func(c byte) (string, bool) { return q.Host, c == 'h' })
		if err != nil {
			return false, fmt.Errorf("HostName %v", err)
		}
		host = h
	default:
		host = q.Host
	}
	result, attributes := true, 0
	cp := rest
	for cp != "" {
		attr, after, ok := strdelim(cp)
		if !ok {
			return false, fmt.Errorf("invalid quotes in Match")
		}
		cp = after
		if attr == "" {
			break
		}
		if strings.HasPrefix(attr, "#") {
			break
		}
		negate := strings.HasPrefix(attr, "!")
		a := strings.ToLower(strings.TrimPrefix(attr, "!"))
		if a == "all" {
			next, _, _ := strdelim(cp)
			if attributes > 1 || (next != "" && !strings.HasPrefix(next, "#")) {
				return false, fmt.Errorf("'%s' cannot be combined with other Match attributes", attr)
			}
			if result {
				result = !negate
			}
			return result, nil
		}
		attributes++
		if a == "canonical" || a == "final" {
			if a == "final" {
				s.wantFinal = true
			}
			if s.finalPass == negate {
				result = false
			}
			continue
		}
		arg, r2, ok := strdelim(cp)
		if !ok {
			return false, fmt.Errorf("invalid quotes in Match")
		}
		cp = r2
		if arg == "" || strings.HasPrefix(arg, "#") {
			return false, fmt.Errorf("missing Match criteria for %s", attr)
		}
		var r bool
		switch a {
		case "host":
			r = matchPatternList(strings.ToLower(host), arg, true) == 1
		case "originalhost":
			r = matchPatternList(strings.ToLower(q.Host), arg, true) == 1
		case "user":
			r = matchPatternList(ruser, arg, false) == 1
		case "localuser":
			r = matchPatternList(s.r.local.LocalUser, arg, false) == 1
		case "exec":
			if !result || s.r.scanAll {
				continue // ssh skips the command once a criterion failed
			}
			tok := sshTokens{local: s.r.local, hostArg: q.Host, host: host, user: ruser, port: port, hostKeyAlias: o.hostKeyAlias}
			if tok.hostKeyAlias == "" {
				tok.hostKeyAlias = host
			}
			cmd, err := tok.expand(arg, false)
			if err != nil {
				return false, fmt.Errorf("Match exec %v", err)
			}
			r = s.r.exec(cmd)
		default:
			return false, fmt.Errorf("unsupported Match attribute %s", attr)
		}
		if r == negate {
			result = false
		}
	}
	if attributes == 0 {
		return false, fmt.Errorf("one or more attributes required for Match")
	}
	return result, nil
}

func (r *goResolver) exec(cmd string) bool {
	if r.runExec != nil {
		return r.runExec(cmd)
	}
	// readconf.c execute_in_shell: $SHELL, else /bin/sh.
	shell := os.Getenv("SHELL")
	if shell == "" {
		shell = "/bin/sh"
	}
	c := exec.Command(shell, "-c", cmd)
	c.Stdin, c.Stdout = nil, nil
	return c.Run() == nil
}

// parseJump is readconf.c parse_jump: "none", or hops separated by
// commas, each [user@]host[:port] or ssh://[user@]host[:port]; the last
// is the hop ssh connects through, the others ride along as -J.
func (s *resolveState) parseJump(spec string, active bool, origin string) error {
	o := s.o
	active = active && o.proxyCommand == nil && o.jumpHost == ""
	if i := strings.IndexByte(spec, '#'); i >= 0 {
		spec = strings.TrimRight(spec[:i], " \t")
	}
	if strings.EqualFold(spec, "none") {
		if active {
			o.jumpHost = "none"
			o.jumpPort = 0
			o.origin["proxyjump"] = origin
		}
		return nil
	}
	hops := strings.Split(spec, ",")
	var lastUser, lastHost string
	lastPort := -1
	for i := len(hops) - 1; i >= 0; i-- {
		u, h, p, err := parseJumpHop(hops[i])
		if err != nil {
			return err
		}
		if i == len(hops)-1 {
			lastUser, lastHost, lastPort = u, h, p
		}
	}
	if active {
		o.jumpUser, o.jumpHost, o.jumpPort = lastUser, lastHost, lastPort
		o.proxyCommand = ptr("none")
		if i := strings.LastIndexByte(spec, ','); i > 0 {
			o.jumpExtra = spec[:i]
		}
		o.origin["proxyjump"] = origin
	}
	return nil
}

// parseJumpHop is parse_ssh_uri then parse_user_host_port.
func parseJumpHop(hop string) (user, host string, port int, err error) {
	port = -1
	rest := hop
	if strings.HasPrefix(strings.ToLower(rest), "ssh://") {
		rest = rest[len("ssh://"):]
		rest = strings.TrimSuffix(rest, "/")
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		user, rest = rest[:i], rest[i+1:]
		if user == "" {
			return "", "", 0, fmt.Errorf("empty user in %q", hop)
		}
	}
	var ps string
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", "", 0, fmt.Errorf("bad address %q", hop)
		}
		host = rest[1:end]
		if after := rest[end+1:]; after != "" {
			if !strings.HasPrefix(after, ":") {
				return "", "", 0, fmt.Errorf("bad address %q", hop)
			}
			ps = after[1:]
		}
	} else if i := strings.IndexByte(rest, ':'); i >= 0 {
		host, ps = rest[:i], rest[i+1:]
	} else {
		host = rest
	}
	if host == "" {
		return "", "", 0, fmt.Errorf("empty host in %q", hop)
	}
	if ps != "" {
		p, err := strconv.Atoi(ps)
		if err != nil || p <= 0 || p > 65535 {
			return "", "", 0, fmt.Errorf("bad port in %q", hop)
		}
		port = p
	}
	return user, host, port, nil
}

// canonicalize is ssh.c resolve_canonicalize, DNS included (through
// resolveHost), CNAME following (CanonicalizePermittedCNAMEs) excepted:
// that keyword is a warning.
func (s *resolveState) canonicalize(host string) (string, error) {
	o := s.o
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), nil
	}
	if strings.Contains(host, ":") || strings.Trim(host, "0123456789.") == "" {
		return host, nil
	}
	if o.canonHost == canonNo {
		return host, nil
	}
	direct := (o.proxyCommand == nil || *o.proxyCommand == "none") && o.jumpHost == ""
	if !direct && o.canonHost != canonAlways {
		return host, nil
	}
	lookup := s.r.resolveHost
	if lookup == nil {
		lookup = func(name string) bool {
			addrs, err := net.LookupHost(name)
			return err == nil && len(addrs) > 0
		}
	}
	if strings.HasSuffix(host, ".") {
		if lookup(host) {
			return strings.TrimSuffix(host, "."), nil
		}
	} else {
		if strings.Count(host, ".") > o.canonMaxDots {
			return host, nil
		}
		for _, d := range o.canonDomains {
			if strings.EqualFold(d, "none") {
				break
			}
			if full := host + "." + d + "."; lookup(full) {
				return strings.TrimSuffix(full, "."), nil
			}
		}
	}
	if o.canonFallback == 0 {
		return "", fmt.Errorf("could not resolve host %q (CanonicalizeFallbackLocal no)", host)
	}
	return host, nil
}

// matchPattern is match.c match_pattern: * any run, ? exactly one
// character, case-sensitive, no lists.
func matchPattern(s, p string) bool {
	for {
		if p == "" {
			return s == ""
		}
		if p[0] == '*' {
			for p != "" && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if i < len(s) || p == "" {
					if matchPattern(s[i:], p) {
						return true
					}
				}
			}
			return false
		}
		if s == "" {
			return false
		}
		if p[0] != '?' && p[0] != s[0] {
			return false
		}
		s, p = s[1:], p[1:]
	}
}

// matchPatternList is match.c match_pattern_list: comma-separated
// patterns, "!" negating; 1 a match, -1 a negated match, 0 none.
func matchPatternList(s, list string, lower bool) int {
	got := 0
	for _, sub := range strings.Split(list, ",") {
		neg := strings.HasPrefix(sub, "!")
		if neg {
			sub = sub[1:]
		}
		if lower {
			sub = strings.ToLower(sub)
		}
		if matchPattern(s, sub) {
			if neg {
				return -1
			}
			got = 1
		}
	}
	return got
}
