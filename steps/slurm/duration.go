package slurm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Unit is what a bare number (no ':' and no '-') means in a Slurm time
// value. Slurm is not consistent about it, which is the trap:
//
//   - sacctmgr MaxWall / GrpWall go through time_str2mins: `60` is 60
//     MINUTES and reads back as `01:00:00`.
//   - sacctmgr PreemptExemptTime goes through time_str2secs, whose bare
//     number is also MINUTES (`60` → `01:00:00`) although it is stored in
//     seconds.
//   - sacctmgr GraceTime goes through get_uint: `60` is 60 SECONDS and reads
//     back as `00:01:00`. Worse, get_uint is strtol: `GraceTime=1:00:00` is
//     silently stored as 1 second and `GraceTime=00:01:00` is rejected. That
//     is why FormatSetValue always hands sacctmgr plain seconds for
//     GraceTime.
type Unit int

const (
	// UnitSeconds: a bare number is a count of seconds (GraceTime).
	UnitSeconds Unit = iota
	// UnitMinutes: a bare number is a count of minutes (MaxWall, GrpWall,
	// PreemptExemptTime, sbatch --time, partition MaxTime).
	UnitMinutes
)

func (u Unit) String() string {
	if u == UnitMinutes {
		return "minutes"
	}
	return "seconds"
}

// DurationKind distinguishes a finite duration from the two special states.
type DurationKind int

const (
	// DurationUnset: empty, `-1`, `N/A`, `NONE` or `(null)`. For sacctmgr
	// limits this means "no limit" (`-1` is how a limit is cleared, and a
	// cleared limit prints as an empty cell).
	DurationUnset DurationKind = iota
	// DurationFinite: Seconds holds the value.
	DurationFinite
	// DurationUnlimited: `UNLIMITED` or `INFINITE` (case-insensitive).
	// sacctmgr stores it as "no limit", i.e. the same as DurationUnset;
	// scontrol prints it for partitions (`MaxTime=UNLIMITED`).
	DurationUnlimited
)

// Duration is a parsed Slurm time value.
type Duration struct {
	Kind    DurationKind
	Seconds int64 // meaningful only when Kind == DurationFinite
}

// IsLimit reports whether d is an actual finite limit. Unset and unlimited
// are both "no limit" for sacctmgr QoS fields.
func (d Duration) IsLimit() bool { return d.Kind == DurationFinite }

// maxComponent bounds every number in a time string so the arithmetic can
// never overflow (MaxUint32 days × 86400 is far inside an int64). It must
// admit every bare second count a QoS field can hold (uint32): runbook
// writes GraceTime back as plain seconds, and a lower bound here once made
// "27777800:0" normalize but its own SetArg "GraceTime=1666668000" not.
const maxComponent = math.MaxUint32

// ParseDuration parses a Slurm time value. bare says what a plain number
// means (see Unit). Accepted forms, as in Slurm's time_str2secs:
//
//	M            (bare; unit per the bare argument)
//	M:S
//	H:M:S
//	D-H   D-H:M   D-H:M:S
//	UNLIMITED / INFINITE          -> DurationUnlimited
//	"" / -1 / N/A / NONE / (null) -> DurationUnset
//
// Surrounding white space is ignored. Anything else is an error: Slurm
// would answer "Bad MaxWall time format" or, worse for GraceTime, silently
// store something else.
func ParseDuration(s string, bare Unit) (Duration, error) {
	t := strings.TrimSpace(s)
	switch strings.ToUpper(t) {
	case "", "-1", "N/A", "NONE", "(NULL)":
		return Duration{Kind: DurationUnset}, nil
	case "UNLIMITED", "INFINITE":
		return Duration{Kind: DurationUnlimited}, nil
	}
	var days int64
	rest := t
	hasDays := false
	if i := strings.IndexByte(t, '-'); i >= 0 {
		d, err := parseComponent(t[:i], s)
		if err != nil {
			return Duration{}, err
		}
		days, rest, hasDays = d, t[i+1:], true
		if rest == "" {
			return Duration{}, fmt.Errorf("time %q: nothing after the day separator '-' (write D-HH, D-HH:MM or D-HH:MM:SS)", s)
		}
	}
	parts := strings.Split(rest, ":")
	if len(parts) > 3 {
		return Duration{}, fmt.Errorf("time %q: too many ':' (at most HH:MM:SS)", s)
	}
	nums := make([]int64, len(parts))
	for i, p := range parts {
		n, err := parseComponent(p, s)
		if err != nil {
			return Duration{}, err
		}
		nums[i] = n
	}
	var secs int64
	switch {
	case hasDays:
		// D-H, D-H:M, D-H:M:S
		secs = days * 86400
		mult := []int64{3600, 60, 1}
		for i, n := range nums {
			secs += n * mult[i]
		}
	case len(nums) == 3:
		secs = nums[0]*3600 + nums[1]*60 + nums[2]
	case len(nums) == 2:
		secs = nums[0]*60 + nums[1]
	default:
		if bare == UnitMinutes {
			secs = nums[0] * 60
		} else {
			secs = nums[0]
		}
	}
	return Duration{Kind: DurationFinite, Seconds: secs}, nil
}

func parseComponent(p, whole string) (int64, error) {
	if p == "" {
		return 0, fmt.Errorf("time %q: empty number", whole)
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("time %q: %q is not a number (forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, UNLIMITED, -1)", whole, p)
		}
	}
	n, err := strconv.ParseInt(p, 10, 64)
	if err != nil || n > maxComponent {
		return 0, fmt.Errorf("time %q: %q is out of range", whole, p)
	}
	return n, nil
}

// FormatSeconds renders seconds the way Slurm prints durations
// (secs2time_str): `HH:MM:SS`, or `D-HH:MM:SS` from one day on. Negative
// input renders as the empty string.
func FormatSeconds(secs int64) string {
	if secs < 0 {
		return ""
	}
	days := secs / 86400
	h := secs / 3600 % 24
	m := secs / 60 % 60
	s := secs % 60
	if days > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", days, h, m, s)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
}

// String renders d as sacctmgr prints a QoS limit: empty when unset,
// `UNLIMITED` when unlimited, otherwise FormatSeconds.
func (d Duration) String() string {
	switch d.Kind {
	case DurationFinite:
		return FormatSeconds(d.Seconds)
	case DurationUnlimited:
		return "UNLIMITED"
	}
	return ""
}
