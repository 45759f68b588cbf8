package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/engine/planfile"
	"github.com/runbook-hpc/runbook/inventory"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"
)

// Shell completion: `runbook completion bash|zsh|fish` prints the script;
// the script calls back into `runbook __complete ...` (cobra's hidden
// command), which answers from the functions below: runbook files for
// FILE arguments, the runbook's variables for --var, inventory hosts and
// groups for --limit, the checklist languages for --lang.

func newCompletionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script for bash, zsh or fish",
		Long: `completion prints a script that makes the shell complete runbook's
commands and flags, runbook files (*.hcl), the variables of the runbook on
the command line (--var <TAB> lists name=), inventory hosts and groups
(--limit) and checklist languages (--lang).

bash needs the bash-completion package. Load the script in every new shell
by putting it where your shell looks for completions (see the examples), or
for the current shell only with source <(runbook completion bash).`,
		Example: `  source <(runbook completion bash)                                  # this bash only
  runbook completion bash | sudo tee /etc/bash_completion.d/runbook   # every user, bash
  runbook completion zsh > "${fpath[1]}/_runbook"                      # zsh (compinit must be on)
  runbook completion fish > ~/.config/fish/completions/runbook.fish    # fish`,
		ValidArgs:             []string{"bash", "zsh", "fish"},
		Args:                  oneArg,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, w := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(w, true)
			case "zsh":
				return root.GenZshCompletion(w)
			case "fish":
				return root.GenFishCompletion(w, true)
			}
			return exitWith(exitInvalid, "completion: the shells are bash, zsh and fish, not %q", args[0])
		},
	}
}

// stepFlags are flag names that take a step name, wherever a command has
// one: their values complete to the runbook's steps.
var stepFlags = []string{"step", "steps", "only", "skip", "start-at", "target"}

// registerCompletions adds completion to every command's FILE arguments
// and to the flags that take names from the runbook or the inventory.
func registerCompletions(root *cobra.Command) {
	for _, c := range root.Commands() {
		name := c.Name()
		switch {
		case name == "fmt":
			c.ValidArgsFunction = fileArgs(true, "hcl")
		case name == "apply":
			c.ValidArgsFunction = fileArgs(false, "hcl", "plan", "json")
		case strings.Contains(c.Use, "FILE"):
			c.ValidArgsFunction = fileArgs(false, "hcl")
		}
		flags := map[string]cobra.CompletionFunc{
			"var":        completeVars,
			"extra-vars": completeVars,
			"limit":      completeLimit,
			"lang":       completeLang,
			"state-dir": func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return nil, cobra.ShellCompDirectiveFilterDirs
			},
			"runbook": fileArgs(true, "hcl"),
			"forks":   cobra.NoFileCompletions,
		}
		if name == "checklist" {
			flags["format"] = cobra.FixedCompletions([]string{"md\tMarkdown", "json\tJSON"}, cobra.ShellCompDirectiveNoFileComp)
		}
		for _, f := range stepFlags {
			flags[f] = completeSteps
		}
		for flag, fn := range flags {
			if c.Flags().Lookup(flag) != nil {
				_ = c.RegisterFlagCompletionFunc(flag, fn)
			}
		}
	}
}

// fileArgs completes runbook files (and directories to reach them); many
// is false for commands that take one file.
func fileArgs(many bool, exts ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if !many && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return exts, cobra.ShellCompDirectiveFilterFileExt
	}
}

// completionRunbook parses the runbook named by the first argument (or
// the one a saved plan was made from), without resolving variables. It
// returns nil when there is none or it cannot be read.
func completionRunbook(args []string) *config.Config {
	if len(args) == 0 {
		return nil
	}
	path := args[0]
	if planfile.IsPlanFile(path) {
		pf, err := planfile.Read(path)
		if err != nil {
			return nil
		}
		path = pf.RunbookFile
	}
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		return nil
	}
	cfg, _ := config.ParseFile(path, steps.Builtin())
	return cfg
}

// completeVars offers `name=` for each variable of the runbook, with its
// description; after `name=` it offers true/false for a bool.
func completeVars(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cfg := completionRunbook(args)
	if cfg == nil {
		return cobra.AppendActiveHelp(nil, "give the runbook file first: runbook plan FILE --var name=value"), cobra.ShellCompDirectiveNoFileComp
	}
	if name, _, ok := strings.Cut(toComplete, "="); ok {
		if v := cfg.Variable(name); v != nil && v.Type == cty.Bool {
			return []string{name + "=true", name + "=false"}, cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, v := range cfg.Variables {
		if strings.HasPrefix(v.Name, toComplete) {
			out = append(out, withDescription(v.Name+"=", v.Description))
		}
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// completeLimit offers the inventory's hosts and groups; in a list
// ("a,b,<TAB>") it completes the last name and keeps the rest.
func completeLimit(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	explicit, _ := cmd.Flags().GetString("inventory")
	runbookPath := ""
	if len(args) > 0 {
		runbookPath = args[0]
	}
	inv := completionInventory(explicit, runbookPath)
	if inv == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	head, term := "", toComplete
	if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
		head, term = toComplete[:i+1], toComplete[i+1:]
	}
	if term != "" && (term[0] == '!' || term[0] == '&') {
		head, term = head+term[:1], term[1:]
	}
	var out []string
	for _, h := range inv.Hosts {
		if strings.HasPrefix(h.Name, term) {
			out = append(out, withDescription(head+h.Name, "host: "+h.Describe()))
		}
	}
	for _, g := range inv.GroupNames() {
		if strings.HasPrefix(g, term) {
			out = append(out, withDescription(head+g, "group"))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completionInventory loads the inventory a run would use (-i,
// $RUNBOOK_INVENTORY, inventory.hcl beside the runbook, else this host).
func completionInventory(explicit, runbookPath string) *inventory.Inventory {
	path, err := inventory.Locate(explicit, runbookPath)
	if err != nil {
		return nil
	}
	if path == "" {
		return inventory.LocalInventory(inventory.Options{})
	}
	inv, diags := inventory.Load(path, inventory.Options{})
	if diags.HasErrors() {
		return nil
	}
	return inv
}

// completeLang offers the languages the runbook's checklists are written
// in (always en).
func completeLang(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	langs := map[string]bool{"en": true}
	if cfg := completionRunbook(args); cfg != nil {
		vars, _ := cfg.ResolveVariables(nil, os.Environ())
		if scope, diags := eval.StaticScope(cfg, vars); !diags.HasErrors() {
			for _, st := range cfg.Steps {
				byLang, _ := scope.Checklist(st)
				for l := range byLang {
					langs[l] = true
				}
			}
		}
	}
	var out []string
	for l := range langs {
		if strings.HasPrefix(l, toComplete) {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeSteps offers the runbook's step names, with kind and title.
func completeSteps(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cfg := completionRunbook(args)
	if cfg == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	head, term := "", toComplete
	if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
		head, term = toComplete[:i+1], toComplete[i+1:]
	}
	var out []string
	for _, st := range cfg.Steps {
		if strings.HasPrefix(st.Name, term) {
			out = append(out, withDescription(head+st.Name, st.Kind))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// withDescription is cobra's "value<TAB>description", the description on
// one line (zsh and fish show it beside the value).
func withDescription(value, desc string) string {
	desc = strings.Join(strings.Fields(desc), " ")
	if desc == "" {
		return value
	}
	if r := []rune(desc); len(r) > 70 {
		desc = string(r[:67]) + "..."
	}
	return fmt.Sprintf("%s\t%s", value, desc)
}
