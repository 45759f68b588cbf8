package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// IsHostList says whether an -i argument is a list of hosts rather than
// a path, by Ansible's rule (its host_list plugin): it names nothing that
// exists and holds a comma. "ctl1," is a one-host list.
func IsHostList(s string) bool {
	if !strings.Contains(s, ",") {
		return false
	}
	_, err := os.Lstat(s)
	return errors.Is(err, fs.ErrNotExist)
}

// parseHostList reads "ctl1,ctl2:2222,[fe80::1]:22," as Ansible's
// host_list plugin does: each entry a host with an optional port, all
// ungrouped, no variables. Ansible does not expand ranges there and
// would take "node[01:04]" or "admin@ctl1" for a host name that no DNS
// knows; runbook refuses them instead, with what to write.
func parseHostList(list string, b *builder) hcl.Diagnostics {
	var diags hcl.Diagnostics
	fail := func(format string, args ...any) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid host list", Detail: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for _, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		host, port, ok := parseAddress(entry, false)
		if !ok {
			switch {
			case strings.Contains(entry, "@"):
				at := strings.LastIndex(entry, "@")
				fail("-i %q: %q is not a host: give the user with -u (-i %s, -u %s).", list, entry, entry[at+1:], entry[:at])
				continue
			case strings.ContainsAny(entry, "[]"):
				fail("-i %q: %q: a host list does not expand ranges (nor does Ansible's); list the hosts, or write them in an inventory file (node[01:04] there).", list, entry)
				continue
			case strings.ContainsAny(entry, " \t"):
				fail("-i %q: %q is not a host name.", list, entry)
				continue
			}
			host, port = entry, 0 // as Ansible: the entry, whole, is the name
		}
		if host == "all" || host == "ungrouped" {
			fail("-i %q: %q cannot name a host.", list, host)
			continue
		}
		if seen[host] {
			continue
		}
		seen[host] = true
		h := &rawHost{name: host, vars: map[string]cty.Value{}}
		if port > 0 {
			h.vars["ansible_port"] = cty.NumberIntVal(int64(port))
		}
		b.hosts = append(b.hosts, h)
	}
	if len(b.hosts) == 0 && !diags.HasErrors() {
		fail("-i %q names no host.", list)
	}
	b.connVars = iniConnVars
	return diags
}
