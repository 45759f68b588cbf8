package main

import (
	"strings"
)

// check refuses plan/apply flag values that cannot mean anything, before
// anything is loaded or contacted: an error here is exit 3.
func (f *runFlags) check() error {
	if f.forks < 1 {
		return exitWith(exitInvalid, "--forks %d: the number of hosts worked on at once must be at least 1", f.forks)
	}
	// An unset --limit is nil; `--limit ''` sets it to an empty list, which
	// would otherwise mean "no limit" and run on every host.
	if f.limit != nil && len(f.limit) == 0 {
		return exitWith(exitInvalid, "--limit is empty: name the hosts or groups to run on (--limit ctl1,compute), or leave --limit out to run on every host")
	}
	for _, l := range f.limit {
		if strings.TrimSpace(l) == "" {
			return exitWith(exitInvalid, "--limit %q names an empty host or group: separate names with single commas (--limit ctl1,compute)", strings.Join(f.limit, ","))
		}
	}
	if strings.TrimSpace(f.stateDir) == "" {
		return exitWith(exitInvalid, "--state-dir is empty: give the directory run records are written under (default .runbook)")
	}
	return nil
}
