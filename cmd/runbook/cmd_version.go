package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is runbook's version, as `runbook version`, `runbook --version`,
// report.json, saved plans and the JSON events show it. A release build
// stamps it at link time (make build does, from git describe):
//
//	go build -ldflags "-X main.version=0.2.0" ./cmd/runbook
//
// Left unstamped (a plain go build or go install), it is read from the
// build information the go command embeds: the module's version, else the
// commit it was built from.
var version string

func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	version = resolveVersion(version, info)
}

// resolveVersion is the stamped version when there is one, else the main
// module's version from info (without its leading v: `go install
// …/cmd/runbook@v0.2.0` gives 0.2.0, a go build in a git checkout a Go
// pseudo-version such as 0.0.0-20260314150405-0123456789ab+dirty), else
// dev+ the commit's first 12 hex digits (.dirty with uncommitted
// changes), else dev.
func resolveVersion(stamped string, info *debug.BuildInfo) string {
	if stamped != "" {
		return stamped
	}
	if info == nil {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		if len(v) > 1 && v[0] == 'v' && v[1] >= '0' && v[1] <= '9' {
			v = v[1:]
		}
		return v
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := "dev+" + rev
	if dirty {
		v += ".dirty"
	}
	return v
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print runbook's version",
		Example: "  runbook version\n  runbook --version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "runbook "+version)
			return nil
		},
	}
}
