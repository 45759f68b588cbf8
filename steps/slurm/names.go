package slurm

import (
	"fmt"
	"strings"
)

// EntityKind is the kind of Slurm entity a name belongs to.
type EntityKind int

const (
	KindQoS EntityKind = iota
	KindAccount
	KindUser
	KindPartition
)

func (k EntityKind) String() string {
	switch k {
	case KindQoS:
		return "QoS"
	case KindAccount:
		return "account"
	case KindUser:
		return "user"
	case KindPartition:
		return "partition"
	}
	return fmt.Sprintf("EntityKind(%d)", int(k))
}

// MaxNameLen is the longest entity name accepted. Slurm's own columns are
// wider, but nothing sane is longer and a cap keeps error output readable.
const MaxNameLen = 64

// NameError reports which naming rule a name broke.
type NameError struct {
	Kind EntityKind
	Name string
	Rule string // the rule that was violated, e.g. "no white space"
	Hint string // what to write instead, if known
}

func (e *NameError) Error() string {
	s := fmt.Sprintf("invalid %s name %q: violates rule %q", e.Kind, e.Name, e.Rule)
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

// sacctmgrKeywords are words sacctmgr reads as syntax when they appear
// where a name is expected (`sacctmgr add qos set` adds nothing).
var sacctmgrKeywords = []string{"set", "where"}

// sacctmgrWithOptions are matched by sacctmgr as case-insensitive prefixes
// of at least 5 characters (`withd` means WithDeleted).
var sacctmgrWithOptions = []string{"withassoc", "withcoordinators", "withdeleted", "withrawqoslevel", "withsubaccounts"}

// ValidateName checks an entity name before any command is built with it.
//
// The rules exist because names end up as argv elements of sacctmgr/sbatch
// (possibly re-parsed by a remote shell) and inside '|'-separated output:
//
//   - not empty, at most MaxNameLen bytes, ASCII only, no control characters;
//   - no white space, quotes, or any of ; $ ` | , = (shell metacharacters,
//     the -P column separator, sacctmgr's list and key=value separators);
//   - no leading '-' (it would be read as an option);
//   - not a sacctmgr keyword (set, where, with...);
//   - QoS, account and user names must be lower case. Slurm silently
//     lower-cases them (`sacctmgr -i add qos MoonLight` creates
//     `moonlight`), so an upper-case name in a runbook could never match
//     what `sacctmgr show` prints back. Rejecting is preferred over
//     normalising so the runbook text and the cluster agree verbatim.
//     Partition names are case-sensitive in slurm.conf and keep their case.
//   - otherwise only a-z, 0-9, '_', '-', '.' (plus A-Z for partitions and
//     '@' for users, for sites with fully qualified user names).
func ValidateName(kind EntityKind, name string) error {
	fail := func(rule, hint string) error {
		return &NameError{Kind: kind, Name: name, Rule: rule, Hint: hint}
	}
	if name == "" {
		return fail("must not be empty", "")
	}
	if len(name) > MaxNameLen {
		return fail(fmt.Sprintf("at most %d characters", MaxNameLen), fmt.Sprintf("it has %d", len(name)))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 0x80:
			return fail("ASCII only", fmt.Sprintf("non-ASCII byte 0x%02x at offset %d", c, i))
		case c == '\n' || c == '\r':
			return fail("no newlines", "")
		case c == ' ' || c == '\t':
			return fail("no white space", "")
		case c < 0x20 || c == 0x7f:
			return fail("no control characters", fmt.Sprintf("byte 0x%02x at offset %d", c, i))
		case c == '\'' || c == '"':
			return fail("no quotes", "")
		case c == ';', c == '$', c == '`':
			return fail("no shell metacharacters (; $ `)", fmt.Sprintf("found %q", c))
		case c == '|':
			return fail("no '|'", "'|' is the column separator of sacctmgr/sacct -P output")
		case c == ',':
			return fail("no ','", "sacctmgr reads a comma as a list separator and would act on several entities")
		case c == '=':
			return fail("no '='", "sacctmgr reads '=' as a key=value separator")
		}
	}
	if name[0] == '-' {
		return fail("must not start with '-'", "it would be read as a command-line option")
	}
	lower := strings.ToLower(name)
	for _, kw := range sacctmgrKeywords {
		if lower == kw {
			return fail("not a sacctmgr keyword", fmt.Sprintf("%q is sacctmgr syntax", name))
		}
	}
	if len(lower) >= 5 {
		for _, kw := range sacctmgrWithOptions {
			if strings.HasPrefix(kw, lower) {
				return fail("not a sacctmgr keyword", fmt.Sprintf("sacctmgr reads %q as the option %s", name, kw))
			}
		}
	}
	if kind != KindPartition && lower != name {
		hint := fmt.Sprintf("Slurm stores %s names in lower case (it would silently create %q); write %q", kind, lower, lower)
		if kind == KindUser {
			hint += " (unless slurmdbd runs with Parameters=PreserveCaseUser)"
		}
		return fail("lower case only", hint)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' ||
			kind == KindPartition && c >= 'A' && c <= 'Z' ||
			kind == KindUser && c == '@'
		if !ok {
			allowed := "a-z 0-9 _ - ."
			switch kind {
			case KindPartition:
				allowed = "a-z A-Z 0-9 _ - ."
			case KindUser:
				allowed = "a-z 0-9 _ - . @"
			}
			return fail("only "+allowed, fmt.Sprintf("found %q", c))
		}
	}
	return nil
}
