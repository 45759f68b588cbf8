package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/runbook-hpc/runbook/inventory"
)

// inventoryJSON is `runbook inventory --json`: every host's connection
// settings resolved as Connect will use them, with where each came from.
type inventoryJSON struct {
	SchemaVersion int                 `json:"schema_version"`
	Inventory     string              `json:"inventory"`
	Hosts         []inventoryHostJSON `json:"hosts"`
	Groups        map[string][]string `json:"groups"`
}

type inventoryHostJSON struct {
	*inventory.HostSSH
	Groups []string `json:"groups"`
}

// resolveHostsSSH resolves every host, several at once: with an ssh
// client each host is one `ssh -G` (or two) away.
func resolveHostsSSH(hosts []*inventory.Host, opts inventory.Options) []*inventory.HostSSH {
	out := make([]*inventory.HostSSH, len(hosts))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = h.ResolveSSH(opts)
		}()
	}
	wg.Wait()
	return out
}

func printInventoryJSON(w io.Writer, inv *inventory.Inventory, opts inventory.Options) error {
	doc := inventoryJSON{SchemaVersion: 1, Inventory: inv.Path, Groups: map[string][]string{}}
	for i, s := range resolveHostsSSH(inv.Hosts, opts) {
		groups := inv.Hosts[i].Groups
		if groups == nil {
			groups = []string{}
		}
		doc.Hosts = append(doc.Hosts, inventoryHostJSON{HostSSH: s, Groups: groups})
	}
	for _, g := range inv.GroupNames() {
		members, _ := inv.Select([]string{g})
		names := []string{}
		for _, m := range members {
			names = append(names, m.Name)
		}
		doc.Groups[g] = names
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// explainInventoryHost is `runbook inventory HOST`: one host in words.
func explainInventoryHost(w io.Writer, inv *inventory.Inventory, name string, opts inventory.Options) error {
	h := inv.Host(name)
	if h == nil {
		return exitWith(exitInvalid, "no host %q in the inventory %s", name, inv.Path)
	}
	fmt.Fprint(w, h.ResolveSSH(opts).Explain())
	return nil
}
