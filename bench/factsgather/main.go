// Command factsgather is the facts workload's runbook side (bench/facts.go,
// issue 17): what runbook does to gather host.facts, without the rest of
// a run. It reads an HCL inventory with runbook's own reader, connects to
// every host of a group at once with runbook's SSH transport
// (inventory.Connect), runs facts.Script() as one command per host (one
// round trip), and parses the output with facts.Parse.
//
//	factsgather -i inventory.hcl -group bench [-json h001.json]
//
// It checks each host's facts (hostname as the inventory host's daemon
// names it, rbbench-hNNN; with -fqdn-suffix its fqdn; an OS ID; CPUs;
// memory; no note but the init system's) and exits 1 when one is wrong, so a broken gather is never
// timed as a fast one. -json writes the first host's facts, for the
// harness to compare with Ansible's.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/runbook-hpc/runbook/engine/facts"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/inventory"
)

func main() {
	invPath := flag.String("i", "", "HCL inventory")
	group := flag.String("group", "bench", "hosts to gather (an inventory pattern)")
	hostnamePrefix := flag.String("hostname-prefix", "rbbench-", "each host's uname -n must be this + its inventory name")
	fqdnSuffix := flag.String("fqdn-suffix", "", "when set, each host's fqdn must be its uname -n + this")
	jsonOut := flag.String("json", "", "write the first host's facts here")
	flag.Parse()
	if err := mainErr(*invPath, *group, *hostnamePrefix, *fqdnSuffix, *jsonOut); err != nil {
		fmt.Fprintln(os.Stderr, "factsgather:", err)
		os.Exit(1)
	}
}

func mainErr(invPath, group, hostnamePrefix, fqdnSuffix, jsonOut string) error {
	inv, diags := inventory.Load(invPath, inventory.Options{SSHConfigPath: "none"})
	if diags.HasErrors() {
		return diags
	}
	hosts, err := inv.Select([]string{group})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	opts := inventory.ConnectOptions{NoAgent: true, LookupEnv: func(string) (string, bool) { return "", false }}
	got := make([]facts.Facts, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() {
			c, err := inventory.Connect(ctx, h, opts)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			res, err := c.Run(ctx, transport.Command{Line: facts.Script(), NoStdin: true, Timeout: time.Minute})
			if err != nil || res.ExitCode != 0 {
				errs[i] = fmt.Errorf("exit %d, %v: %s", res.ExitCode, err, res.Stderr)
				return
			}
			if got[i], err = facts.Parse(res.Stdout); err != nil {
				errs[i] = err
				return
			}
			errs[i] = check(got[i], hostnamePrefix+h.Name, fqdnSuffix)
		})
	}
	wg.Wait()
	bad := 0
	for i, err := range errs {
		if err != nil {
			bad++
			fmt.Fprintf(os.Stderr, "factsgather: %s: %v\n", hosts[i].Name, err)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d host(s) failed", bad, len(hosts))
	}
	if jsonOut != "" && len(got) > 0 {
		b, err := json.MarshalIndent(got[0], "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("factsgather: %d host(s) ok, one command each\n", len(hosts))
	return nil
}

func check(f facts.Facts, wantHostname, fqdnSuffix string) error {
	var bad []string
	if f.Hostname != wantHostname {
		bad = append(bad, fmt.Sprintf("hostname %q, want %q", f.Hostname, wantHostname))
	}
	if fqdnSuffix != "" && f.FQDN != wantHostname+fqdnSuffix {
		bad = append(bad, fmt.Sprintf("fqdn %q, want %q", f.FQDN, wantHostname+fqdnSuffix))
	}
	if f.OS.ID == "" || f.OS.Family == "" || f.Architecture == "" || f.Kernel == "" || f.CPUs < 1 || f.MemoryMB < 1 || f.PackageManager == "" {
		bad = append(bad, fmt.Sprintf("facts incomplete: %+v", f))
	}
	for _, n := range f.Notes {
		if !strings.HasPrefix(n, "init_system:") && (fqdnSuffix != "" || !strings.HasPrefix(n, "fqdn:")) {
			bad = append(bad, "note: "+n)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}
