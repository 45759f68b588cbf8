package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/inventory"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// loadInventory finds and loads the inventory: -i, else RUNBOOK_INVENTORY,
// else inventory.hcl beside the runbook, else the local host.
func loadInventory(stderr io.Writer, explicit, runbookPath string) (*inventory.Inventory, error) {
	return loadInventoryOpts(stderr, explicit, runbookPath, inventory.Options{})
}

// loadInventoryOpts is loadInventory with options: -u and --private-key.
func loadInventoryOpts(stderr io.Writer, explicit, runbookPath string, opts inventory.Options) (*inventory.Inventory, error) {
	inv, diags, err := readInventoryOpts(explicit, runbookPath, opts)
	if err != nil {
		return nil, err
	}
	// Warnings too: an ssh config the parser rejects is ignored whole, and
	// hosts would silently lose its User, HostName, Port...
	printDiags(stderr, nil, diags)
	if diags.HasErrors() {
		return nil, exitWith(exitInvalid, "")
	}
	return inv, nil
}

// readInventory is loadInventory without the printing (validate --json
// reports the diagnostics as JSON); err is an exit 3 that is no
// diagnostic (no inventory where -i points).
func readInventory(explicit, runbookPath string) (*inventory.Inventory, hcl.Diagnostics, error) {
	return readInventoryOpts(explicit, runbookPath, inventory.Options{})
}

func readInventoryOpts(explicit, runbookPath string, opts inventory.Options) (*inventory.Inventory, hcl.Diagnostics, error) {
	path, err := inventory.Locate(explicit, runbookPath)
	if err != nil {
		return nil, nil, exitWith(exitInvalid, "%v", err)
	}
	if opts.PrivateKey != "" {
		if st, err := os.Stat(opts.PrivateKey); err != nil || st.IsDir() {
			return nil, nil, exitWith(exitInvalid, "--private-key %s: no such key file", opts.PrivateKey)
		}
	}
	if path == "" {
		// The local host is reached without SSH: no user or key to set.
		return inventory.LocalInventory(inventory.Options{}), nil, nil
	}
	inv, diags := inventory.Load(path, opts)
	return inv, diags, nil
}

// inventoryOptions are the flags that change how hosts are reached.
func (f *runFlags) inventoryOptions() inventory.Options {
	return inventory.Options{RemoteUser: f.remoteUser, PrivateKey: f.privateKey}
}

func (f *runFlags) connectOptions(stderr io.Writer) inventory.ConnectOptions {
	opts := inventory.ConnectOptions{
		AcceptNewHostKeys:      f.acceptNewKeys,
		InsecureIgnoreHostKeys: f.insecureKeys,
		Logf:                   func(format string, args ...any) { fmt.Fprintf(stderr, "runbook: "+format+"\n", args...) },
	}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		opts.PassphraseFunc = transport.TerminalPassphrase()
	}
	return opts
}

// resolveTargets turns the runbook's hosts and the inventory into targets.
// It also returns the secrets (become passwords, passphrases) reports must
// redact.
func resolveTargets(cmd *cobra.Command, l *loaded, runbookPath string, f *runFlags) ([]engine.Target, []string, string, error) {
	targets, secrets, inv, err := resolveTargetsInv(cmd, l, runbookPath, f)
	path := ""
	if inv != nil {
		path = inv.Path
	}
	return targets, secrets, path, err
}

func resolveTargetsInv(cmd *cobra.Command, l *loaded, runbookPath string, f *runFlags) ([]engine.Target, []string, *inventory.Inventory, error) {
	stderr := cmd.ErrOrStderr()
	inv, err := loadInventoryOpts(stderr, f.inventory, runbookPath, f.inventoryOptions())
	if err != nil {
		return nil, nil, nil, err
	}
	hosts, err := selectHosts(inv, l, f.limit)
	if err != nil {
		return nil, nil, nil, err
	}
	if f.insecureKeys {
		fmt.Fprintln(stderr, "runbook: WARNING: --insecure-ignore-host-keys: SSH host keys are NOT verified; anyone on the path can impersonate these hosts.")
	}
	opts := f.connectOptions(stderr)
	// Local commands must not inherit the secrets the run was given in
	// the environment: its sensitive variables, any host's *_env values.
	for _, v := range l.cfg.Variables {
		if v.Sensitive {
			opts.HideEnv = append(opts.HideEnv, config.EnvPrefix+v.Name)
		}
	}
	for _, h := range hosts {
		opts.HideEnv = append(opts.HideEnv, h.SecretEnvNames()...)
	}
	var targets []engine.Target
	var secrets []string
	for _, h := range hosts {
		secrets = append(secrets, h.Secrets(opts)...)
		targets = append(targets, engine.Target{
			Host:     eval.Host{Name: h.Name, Address: h.Address, User: h.User, Vars: h.Vars},
			Describe: h.Describe(),
			Connect: func(ctx context.Context) (transport.Transport, error) {
				return inventory.Connect(ctx, h, opts)
			},
		})
	}
	return targets, secrets, inv, nil
}

// selectHosts is the hosts a run works on: the runbook's hosts in the
// inventory (with none, the local host), narrowed by --limit.
func selectHosts(inv *inventory.Inventory, l *loaded, limit []string) ([]*inventory.Host, error) {
	var hosts []*inventory.Host
	var err error
	if inv.Path == "" {
		hosts = inv.Hosts // no inventory: the runbook runs here, whatever it names
	} else {
		patterns := l.cfg.Runbook.Hosts
		if len(patterns) == 0 {
			patterns = []string{"all"}
		}
		if hosts, err = inv.Select(patterns); err != nil {
			return nil, exitWith(exitInvalid, "runbook hosts %q: %v", strings.Join(patterns, ", "), err)
		}
	}
	if len(limit) > 0 {
		if hosts, err = inv.Limit(hosts, limit); err != nil {
			// inventory.Limit already names the flag; say it once.
			msg := err.Error()
			if !strings.HasPrefix(msg, "--limit") {
				msg = "--limit: " + msg
			}
			return nil, exitWith(exitInvalid, "%s", msg)
		}
	}
	if len(hosts) == 0 {
		return nil, exitWith(exitInvalid, "no hosts to run on")
	}
	return hosts, nil
}

func newInventoryCmd() *cobra.Command {
	var path, runbook, user, key string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inventory [HOST]",
		Short: "List the resolved hosts and groups, and how each host is reached",
		Long: `List the resolved hosts and groups, and how each host is reached.

With HOST, explain in words how that host is reached: address, user, port,
keys in the order they are offered, jump hosts or ProxyCommand, known_hosts
files and host key policy, and where each comes from (the inventory, an
ssh_config file and line, ssh -G, or OpenSSH's defaults). --json prints the
same for every host.`,
		Example: `  runbook inventory -i inventory.hcl
  runbook inventory -i inventory.hcl ctl1          # how ctl1 is reached, and why
  runbook inventory -i inventory.hcl --json        # every host's resolved settings
  runbook inventory --runbook runbooks/phase2.hcl   # the inventory phase2 would use`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := inventory.Options{RemoteUser: user, PrivateKey: key}
			inv, err := loadInventoryOpts(cmd.ErrOrStderr(), path, runbook, opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 1 {
				return explainInventoryHost(out, inv, args[0], opts)
			}
			if asJSON {
				return printInventoryJSON(out, inv, opts)
			}
			src := inv.Path
			if src == "" {
				src = "(none: the local host)"
			}
			fmt.Fprintf(out, "inventory: %s\n\nhosts:\n", src)
			for _, h := range inv.Hosts {
				groups := ""
				if len(h.Groups) > 0 {
					groups = "  [" + strings.Join(h.Groups, ", ") + "]"
				}
				fmt.Fprintf(out, "  %-16s %s%s\n", h.Name, h.Describe(), groups)
				keys := make([]string, 0, len(h.Vars))
				for k := range h.Vars {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(out, "  %-16s   var %s = %s\n", "", k, hclValue(h.Vars[k]))
				}
			}
			if names := inv.GroupNames(); len(names) > 0 {
				fmt.Fprintln(out, "\ngroups:")
				for _, g := range names {
					members, _ := inv.Select([]string{g})
					var ms []string
					for _, m := range members {
						ms = append(ms, m.Name)
					}
					fmt.Fprintf(out, "  %-16s %s\n", g, strings.Join(ms, ", "))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "inventory", "i", "", "inventory: a file (HCL, Ansible INI or YAML), a directory of Ansible inventory files, or a comma list of hosts (ctl1,ctl2,); default $RUNBOOK_INVENTORY, then inventory.hcl beside --runbook")
	cmd.Flags().StringVarP(&user, "user", "u", "", "show hosts as reached with -u `user`")
	cmd.Flags().StringVar(&key, "private-key", "", "show hosts as reached with --private-key `file`")
	cmd.Flags().StringVar(&runbook, "runbook", "", "locate the inventory as this runbook would")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print every host's resolved connection settings, and where each came from, as JSON")
	return cmd
}
