package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/spf13/cobra"
)

// runListing is one line of `runbook runs --json`.
type runListing struct {
	ID      string    `json:"id"`
	Dir     string    `json:"dir"`
	Started time.Time `json:"started,omitzero"`
	Runbook string    `json:"runbook,omitempty"`
	Mode    string    `json:"mode,omitempty"`
	Hosts   []string  `json:"hosts,omitempty"`
	Result  string    `json:"result,omitempty"`
	Ticked  int       `json:"ticked"`
	Total   int       `json:"total"`
	Error   string    `json:"error,omitempty"`
}

func newRunsCmd() *cobra.Command {
	var stateDir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the recorded plan and apply runs, oldest first",
		Long: `runs lists the run records under --state-dir/runs, oldest first: when each
run started (UTC), its runbook, plan or apply, the hosts, the result and
how many checklist items were ticked on evidence. A record that cannot be
read is listed with the reason. "runbook report RUN" prints one.`,
		Example: `  runbook runs
  runbook runs --state-dir /var/lib/runbook
  runbook runs --json | jq -r '.[-1].id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root := filepath.Join(stateDir, "runs")
			runs, err := report.List(root)
			if err != nil {
				return exitWith(exitFailed, "cannot list the runs: %v", err)
			}
			listing := make([]runListing, 0, len(runs))
			for _, ri := range runs {
				l := runListing{ID: ri.ID, Dir: ri.Dir}
				if ri.Err != nil {
					l.Error = ri.Err.Error()
				} else {
					r := ri.Run
					l.Started, l.Runbook, l.Mode, l.Result = r.Started.UTC(), r.Runbook, r.Mode, r.Result
					for _, h := range r.Hosts {
						l.Hosts = append(l.Hosts, h.Name)
					}
					l.Ticked, l.Total = r.Tally()
				}
				listing = append(listing, l)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				b, err := json.MarshalIndent(listing, "", "  ")
				if err != nil {
					return exitWith(exitFailed, "%v", err)
				}
				fmt.Fprintln(out, string(b))
				return nil
			}
			if len(listing) == 0 {
				fmt.Fprintf(out, "No runs recorded under %s.\n", root)
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "STARTED (UTC)\tRUNBOOK\tMODE\tHOSTS\tRESULT\tCHECKLIST\tID")
			unreadable := 0
			for _, l := range listing {
				if l.Error != "" {
					unreadable++
					fmt.Fprintf(tw, "%s\t%s\t-\t-\tunreadable\t-\t%s\n", startedFromID(l.ID), runbookFromID(l.ID), l.ID)
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", l.Started.Format("2006-01-02 15:04:05"),
					l.Runbook, l.Mode, hostList(l.Hosts), l.Result, l.Ticked, l.Total, l.ID)
			}
			if err := tw.Flush(); err != nil {
				return exitWith(exitFailed, "%v", err)
			}
			if unreadable > 0 {
				fmt.Fprintln(out)
				for _, l := range listing {
					if l.Error != "" {
						fmt.Fprintf(out, "note: %s: %s\n", l.ID, strings.ReplaceAll(l.Error, "\n", " "))
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", ".runbook", "where run records are kept (runs/<time>-<runbook>/)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON")
	return cmd
}

// hostList keeps the HOSTS column short: the first three names and a count.
func hostList(hosts []string) string {
	switch {
	case len(hosts) == 0:
		return "-"
	case len(hosts) <= 3:
		return strings.Join(hosts, ",")
	}
	return fmt.Sprintf("%s +%d", strings.Join(hosts[:3], ","), len(hosts)-3)
}

// startedFromID reads the start time back from a run directory's name
// (report.RunDir), for a run whose record cannot be read.
func startedFromID(id string) string {
	stamp, _, _ := strings.Cut(id, "-")
	t, err := time.Parse("20060102T150405.000Z", stamp)
	if err != nil {
		return "?"
	}
	return t.Format("2006-01-02 15:04:05")
}

func runbookFromID(id string) string {
	if _, name, ok := strings.Cut(id, "-"); ok && name != "" {
		return name
	}
	return "?"
}
