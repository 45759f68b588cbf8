package inventory

import "strings"

// knownSSHKeywords are OpenSSH 9.2's client keywords (readconf.c
// keywords[], deprecated and unsupported ones included: ssh accepts
// those lines) and Debian's GSSAPI additions. Any other keyword makes
// ssh refuse the whole file, unless IgnoreUnknown names it.
var knownSSHKeywords = map[string]bool{
	"addkeystoagent": true, "addressfamily": true, "afstokenpassing": true, "batchmode": true,
	"bindaddress": true, "bindinterface": true, "canonicaldomains": true,
	"canonicalizefallbacklocal": true, "canonicalizehostname": true, "canonicalizemaxdots": true,
	"canonicalizepermittedcnames": true, "casignaturealgorithms": true, "certificatefile": true,
	"challengeresponseauthentication": true, "checkhostip": true, "cipher": true, "ciphers": true,
	"clearallforwardings": true, "compression": true, "compressionlevel": true,
	"connectionattempts": true, "connecttimeout": true, "controlmaster": true, "controlpath": true,
	"controlpersist": true, "dsaauthentication": true, "dynamicforward": true,
	"enableescapecommandline": true, "enablesshkeysign": true, "escapechar": true,
	"exitonforwardfailure": true, "fallbacktorsh": true, "fingerprinthash": true,
	"forkafterauthentication": true, "forwardagent": true, "forwardx11": true,
	"forwardx11timeout": true, "forwardx11trusted": true, "gatewayports": true,
	"globalknownhostsfile": true, "globalknownhostsfile2": true, "gssapiauthentication": true,
	"gssapidelegatecredentials": true, "hashknownhosts": true, "host": true,
	"hostbasedacceptedalgorithms": true, "hostbasedauthentication": true, "hostbasedkeytypes": true,
	"hostkeyalgorithms": true, "hostkeyalias": true, "hostname": true, "identitiesonly": true,
	"identityagent": true, "identityfile": true, "identityfile2": true, "ignoreunknown": true,
	"include": true, "ipqos": true, "kbdinteractiveauthentication": true,
	"kbdinteractivedevices": true, "keepalive": true, "kerberosauthentication": true,
	"kerberostgtpassing": true, "kexalgorithms": true, "knownhostscommand": true,
	"localcommand": true, "localforward": true, "loglevel": true, "logverbose": true, "macs": true,
	"match": true, "nohostauthenticationforlocalhost": true, "numberofpasswordprompts": true,
	"passwordauthentication": true, "permitlocalcommand": true, "permitremoteopen": true,
	"pkcs11provider": true, "port": true, "preferredauthentications": true, "protocol": true,
	"proxycommand": true, "proxyjump": true, "proxyusefdpass": true, "pubkeyacceptedalgorithms": true,
	"pubkeyacceptedkeytypes": true, "pubkeyauthentication": true, "rekeylimit": true,
	"remotecommand": true, "remoteforward": true, "requesttty": true, "requiredrsasize": true,
	"revokedhostkeys": true, "rhostsauthentication": true, "rhostsrsaauthentication": true,
	"rsaauthentication": true, "securitykeyprovider": true, "sendenv": true,
	"serveralivecountmax": true, "serveraliveinterval": true, "sessiontype": true, "setenv": true,
	"skeyauthentication": true, "smartcarddevice": true, "stdinnull": true,
	"streamlocalbindmask": true, "streamlocalbindunlink": true, "stricthostkeychecking": true,
	"syslogfacility": true, "tcpkeepalive": true, "tisauthentication": true, "tunnel": true,
	"tunneldevice": true, "updatehostkeys": true, "useprivilegedport": true, "user": true,
	"userknownhostsfile": true, "userknownhostsfile2": true, "useroaming": true, "usersh": true,
	"verifyhostkeydns": true, "visualhostkey": true, "xauthlocation": true,
	"gssapikeyexchange": true, "gssapiclientidentity": true, "gssapiserveridentity": true, "gssapirenewalforcesrekey": true,
	"gssapitrustdns": true, "gssapikexalgorithms": true,
}

// notHonouredRule is a setting the transport does not reproduce, with
// what that means for the run.
type notHonouredRule struct {
	why string
	// applies reports whether the value changes anything (nil: always).
	applies func(args []string) bool
	// userOnly: warned in the user's config, not the system's (RHEL's
	// crypto policy sets the algorithm lists for every host there).
	userOnly bool
}

func (r notHonouredRule) appliesTo(args []string) bool { return r.applies == nil || r.applies(args) }

func valueNot(values ...string) func([]string) bool {
	return func(args []string) bool {
		if len(args) == 0 {
			return false
		}
		for _, v := range values {
			if strings.EqualFold(args[0], v) {
				return false
			}
		}
		return true
	}
}

func valueIs(values ...string) func([]string) bool {
	not := valueNot(values...)
	return func(args []string) bool { return len(args) > 0 && !not(args) }
}

// notHonoured lists the active ssh_config settings runbook's SSH
// transport ignores although they change where it connects, as whom,
// with which key or how far it trusts the host. Each is a warning
// naming its file and line. Settings that only matter to an
// interactive ssh (forwardings, ControlMaster, RemoteCommand, TTYs,
// GSSAPI, which Debian's /etc/ssh/ssh_config turns on for every host)
// are not listed.
var notHonoured = map[string]notHonouredRule{
	"certificatefile":             {why: "runbook does not offer certificates; only the key itself is tried"},
	"pkcs11provider":              {why: "runbook cannot use PKCS#11 tokens", applies: valueNot("none")},
	"identityagent":               {why: "runbook asks the agent at $SSH_AUTH_SOCK only", applies: valueNot("SSH_AUTH_SOCK")},
	"knownhostscommand":           {why: "runbook does not run it; only the known_hosts files are read", applies: valueNot("none")},
	"proxyusefdpass":              {why: "runbook reads the ProxyCommand's stdout as the connection, not a passed descriptor", applies: valueIs("yes", "true")},
	"bindaddress":                 {why: "runbook connects from the default source address"},
	"bindinterface":               {why: "runbook connects from the default interface"},
	"addressfamily":               {why: "runbook uses whichever address family the name resolves to", applies: valueNot("any")},
	"canonicalizepermittedcnames": {why: "CNAMEs are followed only where ssh -G resolves (an ssh client installed); the Go resolver does not", applies: valueNot("none")},
	"forwardagent":                {why: "runbook does not forward the agent: a step that needs it on the host will find no keys", applies: valueNot("no", "false")},
	"pubkeyauthentication":        {why: "runbook offers public keys anyway", applies: valueIs("no", "false")},
	"preferredauthentications":    {why: "runbook tries public keys, then a password (password_env), in its own order"},
	"kexalgorithms":               {why: "runbook negotiates with golang.org/x/crypto/ssh's own algorithm lists", userOnly: true},
	"ciphers":                     {why: "runbook negotiates with golang.org/x/crypto/ssh's own algorithm lists", userOnly: true},
	"macs":                        {why: "runbook negotiates with golang.org/x/crypto/ssh's own algorithm lists", userOnly: true},
	"hostkeyalgorithms":           {why: "runbook negotiates with golang.org/x/crypto/ssh's own algorithm lists", userOnly: true},
	"pubkeyacceptedalgorithms":    {why: "runbook negotiates with golang.org/x/crypto/ssh's own algorithm lists", userOnly: true},
	"pubkeyacceptedkeytypes":      {why: "runbook negotiates with golang.org/x/crypto/ssh's own algorithm lists", userOnly: true},
	"connecttimeout":              {why: "runbook uses its own --connect-timeout", applies: valueNot("none")},
	"revokedhostkeys":             {why: "runbook does not read a revoked-keys file (only @revoked lines in known_hosts)", applies: valueNot("none")},
	"verifyhostkeydns":            {why: "runbook does not look host keys up in DNS (SSHFP)", applies: valueIs("yes", "true", "ask")},
}
