package main

import (
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newManCmd is the hidden `runbook man DIR`: it writes a section 1 man
// page for runbook and each of its commands (runbook.1, runbook-apply.1,
// …) into DIR, from the same help text as --help. cmd/mkdeb calls it to
// put the pages into the .deb. The pages' date is SOURCE_DATE_EPOCH when
// set (a reproducible build), else today.
func newManCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "man DIR",
		Short:   "Write runbook's man pages into DIR",
		Example: "  runbook man /tmp/man1",
		Hidden:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return exitWith(exitFailed, "man: %v", err)
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			hdr := &doc.GenManHeader{Section: "1", Source: "runbook " + version, Manual: "runbook manual"}
			if err := doc.GenManTree(root, hdr, args[0]); err != nil {
				return exitWith(exitFailed, "man: %v", err)
			}
			return nil
		},
	}
}
