package inventory

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/hcllimits"
)

// Limits on what an inventory may be (see engine/hcllimits for why).
const (
	MaxFileBytes = hcllimits.MaxFileBytes
	MaxNesting   = hcllimits.MaxNesting
	// maxRangeHosts caps an INI host range (node[0:9999]-[0:9999] would
	// otherwise expand to 10^8 hosts).
	maxRangeHosts = 10000
)

func readCapped(path string, limit int64) ([]byte, bool, error) {
	return hcllimits.ReadCapped(path, limit)
}

func tooLarge(path string, src []byte) *hcl.Diagnostic {
	return hcllimits.TooLarge("Inventory file", path, src)
}

func checkNesting(path string, src []byte) hcl.Diagnostics { return hcllimits.CheckNesting(path, src) }
