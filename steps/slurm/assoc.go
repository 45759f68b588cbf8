package slurm

import (
	"fmt"
	"sort"
	"strings"
)

// AssocFilter selects associations for ShowAssocArgv. Empty slices do not
// filter.
type AssocFilter struct {
	Accounts []string
	Users    []string
}

// assocColumns is the fixed format= list of ShowAssocArgv, with the
// headers sacctmgr prints for them (DefaultQOS prints "Def QOS").
var assocColumns = []string{"Cluster", "Account", "User", "Partition", "QOS", "DefaultQOS"}

// Assoc is one association row.
type Assoc struct {
	Cluster    string
	Account    string
	User       string // empty for the account's own association
	Partition  string
	QOS        []string // the QoS the association may use, lower case, sorted
	DefaultQOS string
}

// HasQoS reports whether the association may use qos.
func (a Assoc) HasQoS(qos string) bool { return hasQoS(a.QOS, qos) }

// hasQoS: list (lower case, as splitList leaves it) holds qos.
func hasQoS(list []string, qos string) bool {
	q := strings.ToLower(qos)
	for _, x := range list {
		if x == q {
			return true
		}
	}
	return false
}

// ShowAssocArgv builds
// `sacctmgr -n -P show assoc where account=A user=U format=Cluster,Account,User,Partition,QOS,DefaultQOS`.
// Use it (not `show user`) to check QoS access: `sacctmgr show user
// format=User,Account,QOS` prints blank Account/QOS columns unless
// `withassoc` is given, which is how the seed guide's Step 5 check misleads.
func ShowAssocArgv(f AssocFilter) ([]string, error) {
	argv := []string{"sacctmgr", "-n", "-P", "show", "assoc"}
	var where []string
	if len(f.Accounts) > 0 {
		if err := validateAll(KindAccount, f.Accounts); err != nil {
			return nil, err
		}
		where = append(where, "account="+strings.Join(f.Accounts, ","))
	}
	if len(f.Users) > 0 {
		if err := validateAll(KindUser, f.Users); err != nil {
			return nil, err
		}
		where = append(where, "user="+strings.Join(f.Users, ","))
	}
	if len(where) > 0 {
		argv = append(argv, "where")
		argv = append(argv, where...)
	}
	return append(argv, "format="+strings.Join(assocColumns, ",")), nil
}

// ParseAssocs parses the output of ShowAssocArgv.
func ParseAssocs(out []byte) ([]Assoc, error) {
	t, err := ParseParsableNoHeader(out, assocColumns)
	if err != nil {
		return nil, err
	}
	as := make([]Assoc, 0, len(t.Rows))
	for _, r := range t.Rows {
		as = append(as, Assoc{
			Cluster: r[0], Account: r[1], User: r[2], Partition: r[3],
			QOS: splitList(r[4]), DefaultQOS: strings.ToLower(r[5]),
		})
	}
	return as, nil
}

// splitList splits a comma list, lower-cases, drops empties, sorts.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func validateAll(kind EntityKind, names []string) error {
	for _, n := range names {
		if err := ValidateName(kind, n); err != nil {
			return err
		}
	}
	return nil
}

// GrantQoSArgv builds `sacctmgr -i modify user where account=ACCOUNT set
// qos+=QOS` (the seed guide's Step 5). It adds the QoS to the user
// associations that exist under ACCOUNT now; users added to the account
// later inherit the account association's QoS list, not this change, so
// re-run it (or grant on the account too) after adding users. Re-running
// when the users already have the QoS still prints "Modified user
// associations" (sacctmgr does no change detection), so check with
// ShowAssocArgv first if "changed" matters.
func GrantQoSArgv(account, qos string) ([]string, error) {
	if err := ValidateName(KindAccount, account); err != nil {
		return nil, err
	}
	if err := ValidateName(KindQoS, qos); err != nil {
		return nil, err
	}
	return []string{"sacctmgr", "-i", "modify", "user", "where", "account=" + account, "set", "qos+=" + qos}, nil
}

// RevokeQoSArgv is the inverse of GrantQoSArgv (`qos-=QOS`).
func RevokeQoSArgv(account, qos string) ([]string, error) {
	if err := ValidateName(KindAccount, account); err != nil {
		return nil, err
	}
	if err := ValidateName(KindQoS, qos); err != nil {
		return nil, err
	}
	return []string{"sacctmgr", "-i", "modify", "user", "where", "account=" + account, "set", "qos-=" + qos}, nil
}

// AddAccountArgv builds `sacctmgr -i add account NAME [Description=D]
// [Organization=O]`. sacctmgr stores both texts lower-cased. The texts are
// single argv elements: a remote transport must quote them.
func AddAccountArgv(name, description, organization string) ([]string, error) {
	if err := ValidateName(KindAccount, name); err != nil {
		return nil, err
	}
	argv := []string{"sacctmgr", "-i", "add", "account", name}
	for _, kv := range [][2]string{{"Description", description}, {"Organization", organization}} {
		if kv[1] == "" {
			continue
		}
		if strings.ContainsAny(kv[1], "|\n\r\"'") {
			return nil, fmt.Errorf("account %s: %s must not contain '|', quotes or newlines", name, kv[0])
		}
		argv = append(argv, kv[0]+"="+kv[1])
	}
	return argv, nil
}

// AdminLevel values accepted by AddUserArgv.
var adminLevels = map[string]string{"": "", "none": "None", "operator": "Operator", "administrator": "Administrator", "admin": "Administrator"}

// AddUserArgv builds `sacctmgr -i add user NAME Account=ACCOUNT
// [AdminLevel=LEVEL]`. AdminLevel=Administrator is the sudo-free way to
// let a runbook user manage QoS (facts §7).
func AddUserArgv(user, account, adminLevel string) ([]string, error) {
	if err := ValidateName(KindUser, user); err != nil {
		return nil, err
	}
	if err := ValidateName(KindAccount, account); err != nil {
		return nil, err
	}
	lvl, ok := adminLevels[strings.ToLower(adminLevel)]
	if !ok {
		return nil, fmt.Errorf("admin level %q: want None, Operator or Administrator", adminLevel)
	}
	argv := []string{"sacctmgr", "-i", "add", "user", user, "Account=" + account}
	if lvl != "" {
		argv = append(argv, "AdminLevel="+lvl)
	}
	return argv, nil
}

// userColumns is the format= list of ShowUserWithAssocArgv and the headers
// sacctmgr prints for it.
var userColumns = []string{"User", "DefaultAccount", "Account", "QOS", "AdminLevel"}

// ShowUserWithAssocArgv builds `sacctmgr -n -P show user NAME withassoc
// format=User,DefaultAccount,Account,QOS,AdminLevel`. Without withassoc
// the Account and QOS columns are blank (facts §6.5).
func ShowUserWithAssocArgv(user string) ([]string, error) {
	if err := ValidateName(KindUser, user); err != nil {
		return nil, err
	}
	return []string{"sacctmgr", "-n", "-P", "show", "user", user, "withassoc", "format=" + strings.Join(userColumns, ",")}, nil
}

// UserAssoc is one row of ShowUserWithAssocArgv output.
type UserAssoc struct {
	User, DefaultAccount, Account string
	QOS                           []string
	AdminLevel                    string
}

// HasQoS reports whether the association may use qos.
func (u UserAssoc) HasQoS(qos string) bool { return hasQoS(u.QOS, qos) }

// ParseUserWithAssoc parses the output of ShowUserWithAssocArgv; no rows
// means the user does not exist in Slurm accounting.
func ParseUserWithAssoc(out []byte) ([]UserAssoc, error) {
	t, err := ParseParsableNoHeader(out, userColumns)
	if err != nil {
		return nil, err
	}
	us := make([]UserAssoc, 0, len(t.Rows))
	for _, r := range t.Rows {
		us = append(us, UserAssoc{User: r[0], DefaultAccount: r[1], Account: r[2], QOS: splitList(r[3]), AdminLevel: r[4]})
	}
	return us, nil
}
