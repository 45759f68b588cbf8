package inventory

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// This file holds what the two ssh_config resolvers share. The primary
// resolver is OpenSSH itself (`ssh -G`, sshresolve_g.go); the fallback,
// for machines without an ssh binary, is a Go rendering of OpenSSH 9.2's
// readconf.c (sshresolve_go.go). Both answer in the same shape, an
// sshDump: the lines `ssh -G` prints, restricted to the keywords runbook
// uses, so a test can hold one against the other line by line.

// sshQuery is one question to ssh: the host argument and the command
// line's overrides (-l, -p, -i, -J), which win over every ssh_config
// line as OpenSSH's command line does.
type sshQuery struct {
	Host          string
	User          string   // -l
	Port          int      // -p; 0 unset
	IdentityFiles []string // -i, in order
	Jump          string   // -J
}

// sshDumpKeys are the `ssh -G` keywords runbook reads (and the two
// resolvers must agree on).
var sshDumpKeys = []string{
	"host", "user", "hostname", "port",
	"identityfile", "identitiesonly",
	"proxycommand", "proxyjump",
	"userknownhostsfile", "globalknownhostsfile", "stricthostkeychecking", "hostkeyalias",
	"canonicalizehostname", "canonicaldomains", "canonicalizemaxdots", "canonicalizefallbacklocal",
}

// sshDump maps an `ssh -G` keyword to its values, one per printed line
// (only identityfile has several).
type sshDump map[string][]string

func (d sshDump) get(key string) string {
	if v := d[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseSSHG reads `ssh -G` output into a dump of sshDumpKeys.
func parseSSHG(out string) sshDump {
	want := map[string]bool{}
	for _, k := range sshDumpKeys {
		want[k] = true
	}
	d := sshDump{}
	for _, line := range strings.Split(out, "\n") {
		key, val, _ := strings.Cut(line, " ")
		key = strings.ToLower(key)
		if want[key] {
			d[key] = append(d[key], val)
		}
	}
	return d
}

// sshLocal is the client side the tokens and defaults come from.
type sshLocal struct {
	Home      string // %d and ~
	LocalUser string // %u
	UID       string // %i
	ThisHost  string // %l; %L is up to its first dot
}

func localSide(opts Options) sshLocal {
	l := sshLocal{Home: opts.home(), LocalUser: opts.currentUser(), UID: strconv.Itoa(os.Getuid())}
	l.ThisHost, _ = os.Hostname()
	return l
}

// sshTokens are the values of OpenSSH's default client % tokens
// (sshconnect.h DEFAULT_CLIENT_PERCENT_EXPAND_ARGS) for one resolved host.
type sshTokens struct {
	local        sshLocal
	hostArg      string // %n
	host         string // %h: the final HostName
	user         string // %r: the final user (an inventory override included)
	port         int    // %p
	hostKeyAlias string // %k is it, else %n
}

func (t sshTokens) value(c byte) (string, bool) {
	switch c {
	case 'C':
		sum := sha1.Sum([]byte(t.local.ThisHost + t.host + strconv.Itoa(t.port) + t.user))
		return hex.EncodeToString(sum[:]), true
	case 'L':
		short, _, _ := strings.Cut(t.local.ThisHost, ".")
		return short, true
	case 'i':
		return t.local.UID, true
	case 'k':
		if t.hostKeyAlias != "" {
			return t.hostKeyAlias, true
		}
		return t.hostArg, true
	case 'l':
		return t.local.ThisHost, true
	case 'n':
		return t.hostArg, true
	case 'p':
		return strconv.Itoa(t.port), true
	case 'd':
		return t.local.Home, true
	case 'h':
		return t.host, true
	case 'r':
		return t.user, true
	case 'u':
		return t.local.LocalUser, true
	}
	return "", false
}

// expand does OpenSSH's percent_dollar_expand with the default client
// tokens: %X from the list (an unknown one is an error, as ssh makes it),
// %% and, when dollar, ${VAR} from the environment.
func (t sshTokens) expand(s string, dollar bool) (string, error) {
	return percentExpand(s, dollar, t.value)
}

func percentExpand(s string, dollar bool, value func(byte) (string, bool)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if dollar && s[i] == '$' && i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i+2:], '}')
			if end <= 0 {
				return "", fmt.Errorf("%q: bad ${} variable", s)
			}
			name := s[i+2 : i+2+end]
			v, ok := os.LookupEnv(name)
			if !ok {
				return "", fmt.Errorf("%q: environment variable %s is not set", s, name)
			}
			b.WriteString(v)
			i += 2 + end
			continue
		}
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			return "", fmt.Errorf("%q: %% at the end", s)
		}
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := value(s[i])
		if !ok {
			return "", fmt.Errorf("%q: unknown token %%%c", s, s[i])
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// tildeExpand is OpenSSH's tilde_expand_filename for the current user:
// "~" and "~/x" only ("~user/" is left alone).
func tildeExpand(p, home string) string {
	if p == "~" {
		return home
	}
	if strings.HasPrefix(p, "~/") {
		return strings.TrimSuffix(home, "/") + p[1:]
	}
	return p
}
