package slurm

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ValueType says how a QoS field's value is parsed, compared and written.
type ValueType int

const (
	TypeString      ValueType = iota // free text (Description)
	TypeInt                          // whole number, -1 clears
	TypeFloat                        // printed with %f (1.000000)
	TypeDuration                     // see Field.BareUnit / Field.MinuteResolution
	TypeTRES                         // TRES list, compared as a map
	TypeFlags                        // QoS flags, compared as a set
	TypeQoSList                      // QoS names, compared as a set (Preempt)
	TypePreemptMode                  // off/cluster, cancel, requeue, suspend, gang
)

func (t ValueType) String() string {
	names := [...]string{"string", "int", "float", "duration", "TRES", "flags", "QoS list", "preempt mode"}
	if t < 0 || int(t) >= len(names) {
		return fmt.Sprintf("ValueType(%d)", int(t))
	}
	return names[t]
}

// Field describes one settable QoS field.
type Field struct {
	// Name is the canonical name and the keyword used in `sacctmgr ... set`.
	Name string
	// Aliases are other names accepted case-insensitively (sacctmgr's own
	// abbreviations and the printed column header).
	Aliases []string
	// Format is the name used in `format=`.
	Format string
	// Header is the column header sacctmgr prints for Format (verified
	// against real 22.05 output: MaxTRESPerUser prints MaxTRESPU,
	// MaxTRESPerJob prints MaxTRES, Description prints Descr, ...).
	Header string
	Type   ValueType
	// BareUnit is what a bare number means (TypeDuration only).
	BareUnit Unit
	// MinuteResolution: Slurm stores the value in whole minutes
	// (time_str2mins rounds 1:30 up to 00:02:00).
	MinuteResolution bool
	// Unset is the canonical value of the field when it holds no limit:
	// what `sacctmgr show` prints for a fresh or cleared QoS.
	Unset string
	// Clear is the `set` value that returns the field to Unset (verified on
	// 22.05.8: Priority=0, GraceTime=0, PreemptMode=cluster, Preempt=
	// (empty), UsageFactor=-1, everything else -1).
	Clear string
	// Doc is a one-line description.
	Doc string
}

// qosFields is the catalogue, in sacctmgr's default `show qos` column order.
// Diff reports changes in this order.
var qosFields = []Field{
	{Name: "Description", Aliases: []string{"Descr"}, Format: "Description", Header: "Descr", Type: TypeString,
		Doc: "free text; sacctmgr stores it lower-cased; defaults to the QoS name"},
	{Name: "Priority", Aliases: []string{"Prio"}, Format: "Priority", Header: "Priority", Type: TypeInt, Unset: "0", Clear: "0",
		Doc: "job priority factor; needs priority/multifactor and PriorityWeightQOS > 0 to matter"},
	{Name: "GraceTime", Format: "GraceTime", Header: "GraceTime", Type: TypeDuration, BareUnit: UnitSeconds, Unset: "00:00:00", Clear: "0",
		Doc: "preemption grace time; a bare number is SECONDS (60 -> 00:01:00)"},
	{Name: "Preempt", Format: "Preempt", Header: "Preempt", Type: TypeQoSList, Clear: "",
		Doc: "QoS names this QoS can preempt"},
	{Name: "PreemptExemptTime", Format: "PreemptExemptTime", Header: "PreemptExemptTime", Type: TypeDuration, BareUnit: UnitMinutes, Clear: "-1",
		Doc: "minimum run time before preemption; a bare number is MINUTES (60 -> 01:00:00)"},
	{Name: "PreemptMode", Format: "PreemptMode", Header: "PreemptMode", Type: TypePreemptMode, Unset: "cluster", Clear: "cluster",
		Doc: "off/cluster (use the cluster default), cancel, requeue, suspend, gang"},
	{Name: "Flags", Format: "Flags", Header: "Flags", Type: TypeFlags, Clear: "-1",
		Doc: "QoS flags, e.g. DenyOnLimit"},
	{Name: "UsageThreshold", Aliases: []string{"UsageThres"}, Format: "UsageThreshold", Header: "UsageThres", Type: TypeFloat, Clear: "-1",
		Doc: "fair-share usage threshold"},
	{Name: "UsageFactor", Format: "UsageFactor", Header: "UsageFactor", Type: TypeFloat, Unset: "1.000000", Clear: "-1",
		Doc: "usage multiplier (default 1)"},
	{Name: "GrpTRES", Format: "GrpTRES", Header: "GrpTRES", Type: TypeTRES, Clear: "-1",
		Doc: "TRES limit for all jobs of the QoS together"},
	{Name: "GrpJobs", Format: "GrpJobs", Header: "GrpJobs", Type: TypeInt, Clear: "-1",
		Doc: "running jobs of the QoS together"},
	{Name: "GrpSubmitJobs", Aliases: []string{"GrpSubmit"}, Format: "GrpSubmitJobs", Header: "GrpSubmit", Type: TypeInt, Clear: "-1",
		Doc: "queued+running jobs of the QoS together"},
	{Name: "GrpWall", Format: "GrpWall", Header: "GrpWall", Type: TypeDuration, BareUnit: UnitMinutes, MinuteResolution: true, Clear: "-1",
		Doc: "wall-clock limit for all jobs of the QoS together; a bare number is MINUTES"},
	{Name: "MaxTRESPerJob", Aliases: []string{"MaxTRES"}, Format: "MaxTRESPerJob", Header: "MaxTRES", Type: TypeTRES, Clear: "-1",
		Doc: "TRES limit per job (gres/gpu=N is N GPUs, never GPU memory)"},
	{Name: "MaxTRESPerNode", Format: "MaxTRESPerNode", Header: "MaxTRESPerNode", Type: TypeTRES, Clear: "-1",
		Doc: "TRES limit per node of a job"},
	{Name: "MaxWall", Aliases: []string{"MaxWallDurationPerJob"}, Format: "MaxWall", Header: "MaxWall", Type: TypeDuration, BareUnit: UnitMinutes, MinuteResolution: true, Clear: "-1",
		Doc: "wall-clock limit per job; a bare number is MINUTES (60 -> 01:00:00)"},
	{Name: "MaxTRESPerUser", Aliases: []string{"MaxTRESPU"}, Format: "MaxTRESPerUser", Header: "MaxTRESPU", Type: TypeTRES, Clear: "-1",
		Doc: "TRES limit per user, e.g. gres/gpu=2 (not gpu=2)"},
	{Name: "MaxJobsPerUser", Aliases: []string{"MaxJobsPU"}, Format: "MaxJobsPerUser", Header: "MaxJobsPU", Type: TypeInt, Clear: "-1",
		Doc: "running jobs per user"},
	{Name: "MaxSubmitJobsPerUser", Aliases: []string{"MaxSubmitJobsPU", "MaxSubmitPU"}, Format: "MaxSubmitJobsPerUser", Header: "MaxSubmitPU", Type: TypeInt, Clear: "-1",
		Doc: "queued+running jobs per user"},
	{Name: "MaxTRESPerAccount", Aliases: []string{"MaxTRESPA", "MaxTRESPerAcct"}, Format: "MaxTRESPerAccount", Header: "MaxTRESPA", Type: TypeTRES, Clear: "-1",
		Doc: "TRES limit per account"},
	{Name: "MaxJobsPerAccount", Aliases: []string{"MaxJobsPA", "MaxJobsPerAcct"}, Format: "MaxJobsPerAccount", Header: "MaxJobsPA", Type: TypeInt, Clear: "-1",
		Doc: "running jobs per account"},
	{Name: "MaxSubmitJobsPerAccount", Aliases: []string{"MaxSubmitJobsPA", "MaxSubmitPA", "MaxSubmitJobsPerAcct"}, Format: "MaxSubmitJobsPerAccount", Header: "MaxSubmitPA", Type: TypeInt, Clear: "-1",
		Doc: "queued+running jobs per account"},
	{Name: "MinTRESPerJob", Aliases: []string{"MinTRES"}, Format: "MinTRESPerJob", Header: "MinTRES", Type: TypeTRES, Clear: "-1",
		Doc: "minimum TRES a job must request"},
}

var fieldIndex = func() map[string]int {
	m := map[string]int{}
	for i, f := range qosFields {
		for _, n := range append([]string{f.Name, f.Format, f.Header}, f.Aliases...) {
			m[strings.ToLower(n)] = i
		}
	}
	return m
}()

// QoSFields returns the field catalogue in sacctmgr's column order.
func QoSFields() []Field { return append([]Field(nil), qosFields...) }

// LookupField finds a QoS field by its name, an alias, its format= name or
// its printed column header, case-insensitively.
func LookupField(name string) (Field, bool) {
	i, ok := fieldIndex[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return Field{}, false
	}
	return qosFields[i], true
}

func lookupFieldErr(name string) (Field, error) {
	f, ok := LookupField(name)
	if !ok {
		names := make([]string, len(qosFields))
		for i, f := range qosFields {
			names[i] = f.Name
		}
		return Field{}, fmt.Errorf("unknown QoS field %q (known: %s)", name, strings.Join(names, ", "))
	}
	return f, nil
}

// qosFlags in the order sacctmgr prints them (slurmdb_qos_flags_str; the
// list matches 22.05.8's "Valid QOS flags are" message).
var qosFlags = []string{"DenyOnLimit", "EnforceUsageThreshold", "NoReserve", "PartitionMaxNodes", "PartitionMinNodes",
	"OverPartQOS", "PartitionTimeLimit", "RequiresReservation", "NoDecay", "UsageFactorSafe"}

// value is a parsed field value.
type value struct {
	unset bool
	s     string   // TypeString, TypePreemptMode (canonical)
	n     int64    // TypeInt
	f     float64  // TypeFloat
	d     Duration // TypeDuration
	t     TRES     // TypeTRES (limits only)
	set   []string // TypeFlags, TypeQoSList (canonical, ordered)
}

// maxUint32Limit: sacctmgr stores counts as uint32 and reserves the top
// values for NO_VAL/INFINITE.
const maxUint32Limit = math.MaxUint32 - 2

func (f Field) parse(raw string) (value, error) {
	s := strings.TrimSpace(raw)
	bad := func(format string, a ...any) (value, error) {
		return value{}, fmt.Errorf("%s=%q: %s", f.Name, raw, fmt.Sprintf(format, a...))
	}
	switch f.Type {
	case TypeString:
		if s == "" || s == "-1" {
			return value{unset: true}, nil
		}
		if strings.ContainsAny(s, "|\n\r\"'") {
			return bad("must not contain '|', quotes or newlines")
		}
		return value{s: strings.ToLower(s)}, nil
	case TypeInt:
		if s == "" || s == "-1" {
			return value{unset: true}, nil
		}
		if !isDigits(s) {
			return bad("not a whole number (or -1 to clear)")
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > maxUint32Limit {
			return bad("out of range")
		}
		if f.Unset != "" && strconv.FormatInt(n, 10) == f.Unset {
			return value{unset: true}, nil
		}
		return value{n: n}, nil
	case TypeFloat:
		if s == "" || s == "-1" {
			return value{unset: true}, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e15 {
			return bad("not a non-negative number (or -1 to clear)")
		}
		if f.Unset != "" && fmt.Sprintf("%f", v) == f.Unset {
			return value{unset: true}, nil
		}
		return value{f: v}, nil
	case TypeDuration:
		d, err := ParseDuration(s, f.BareUnit)
		if err != nil {
			return value{}, fmt.Errorf("%s: %w", f.Name, err)
		}
		if !d.IsLimit() || (f.Unset != "" && d.Seconds == 0) {
			// UNLIMITED is stored as "no limit"; GraceTime 0 is its default.
			return value{unset: true}, nil
		}
		if f.MinuteResolution && d.Seconds%60 != 0 {
			return bad("%s is stored in whole minutes (Slurm would round %s up to %s); write whole minutes",
				f.Name, s, FormatSeconds((d.Seconds+59)/60*60))
		}
		if d.Seconds > int64(maxUint32Limit) {
			return bad("out of range")
		}
		return value{d: d}, nil
	case TypeTRES:
		t, err := ParseTRES(s)
		if err != nil {
			return value{}, fmt.Errorf("%s: %w", f.Name, err)
		}
		t = t.Limits()
		if len(t) == 0 {
			return value{unset: true}, nil
		}
		return value{t: t}, nil
	case TypeFlags:
		if s == "" || s == "-1" {
			return value{unset: true}, nil
		}
		have := map[string]bool{}
		for _, p := range strings.Split(s, ",") {
			p = strings.TrimSpace(p)
			found := ""
			for _, fl := range qosFlags {
				if strings.EqualFold(p, fl) {
					found = fl
				}
			}
			if found == "" {
				return bad("unknown QoS flag %q (valid: %s)", p, strings.Join(qosFlags, ","))
			}
			have[found] = true
		}
		var out []string
		for _, fl := range qosFlags {
			if have[fl] {
				out = append(out, fl)
			}
		}
		return value{set: out}, nil
	case TypeQoSList:
		if s == "" || s == "-1" || s == "''" {
			return value{unset: true}, nil
		}
		have := map[string]bool{}
		for _, p := range strings.Split(s, ",") {
			p = strings.ToLower(strings.TrimSpace(p))
			if err := ValidateName(KindQoS, p); err != nil {
				return value{}, fmt.Errorf("%s: %w", f.Name, err)
			}
			have[p] = true
		}
		out := make([]string, 0, len(have))
		for p := range have {
			out = append(out, p)
		}
		sort.Strings(out)
		return value{set: out}, nil
	case TypePreemptMode:
		mode, err := canonicalPreemptMode(s)
		if err != nil {
			return bad("%v", err)
		}
		if mode == "cluster" {
			return value{unset: true}, nil
		}
		return value{s: mode}, nil
	}
	return value{}, fmt.Errorf("%s: unsupported field type %v", f.Name, f.Type)
}

// canonicalPreemptMode returns the lower-case form sacctmgr prints. OFF,
// an empty value, -1 and "cluster" all mean "use the cluster-wide
// PreemptMode" and print as `cluster` (verified: PreemptMode=off reads back
// as cluster).
func canonicalPreemptMode(s string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	switch l {
	case "", "-1", "off", "cluster":
		return "cluster", nil
	}
	gang := false
	primary := ""
	for _, p := range strings.Split(l, ",") {
		switch p = strings.TrimSpace(p); p {
		case "gang":
			gang = true
		case "cancel", "requeue", "suspend":
			if primary != "" && primary != p {
				return "", fmt.Errorf("only one of cancel, requeue, suspend may be given")
			}
			primary = p
		default:
			return "", fmt.Errorf("unknown PreemptMode %q (valid: off, cluster, cancel, requeue, suspend, gang)", p)
		}
	}
	switch {
	case gang && primary != "":
		return "gang," + primary, nil
	case gang:
		return "gang", nil
	}
	return primary, nil
}

// canonical renders a parsed value as sacctmgr would print it.
func (f Field) canonical(v value) string {
	if v.unset {
		return f.Unset
	}
	switch f.Type {
	case TypeString, TypePreemptMode:
		return v.s
	case TypeInt:
		return strconv.FormatInt(v.n, 10)
	case TypeFloat:
		return fmt.Sprintf("%f", v.f)
	case TypeDuration:
		return FormatSeconds(v.d.Seconds)
	case TypeTRES:
		return v.t.String()
	case TypeFlags, TypeQoSList:
		return strings.Join(v.set, ",")
	}
	return ""
}

// Normalize returns the canonical form of a value of this field: the
// string `sacctmgr -P show qos` prints once the value is stored. It works
// for both a desired value written by an admin and a live value read from
// sacctmgr, so two values are equivalent exactly when their canonical forms
// are equal: GraceTime `60` == `00:01:00`; MaxWall `8:00:00` == `08:00:00`;
// MaxTRESPerUser `gpu=2` == `gres/gpu=2`; Flags compare as sets; `-1` ==
// empty == the field's Unset value (Priority `0`, UsageFactor `1.000000`,
// PreemptMode `cluster`).
func (f Field) Normalize(raw string) (string, error) {
	v, err := f.parse(raw)
	if err != nil {
		return "", err
	}
	return f.canonical(v), nil
}

// Normalize looks the field up by any of its names and normalizes value.
func Normalize(field, value string) (string, error) {
	f, err := lookupFieldErr(field)
	if err != nil {
		return "", err
	}
	return f.Normalize(value)
}

// setValue returns the value to put after `Field=` so that the field ends
// up holding desired; live is needed for TRES fields, which sacctmgr merges
// rather than replaces.
func (f Field) setValue(desired, live value) string {
	if desired.unset && f.Type != TypeTRES {
		return f.Clear
	}
	switch f.Type {
	case TypeString:
		return desired.s
	case TypeDuration:
		if f.BareUnit == UnitSeconds {
			// GraceTime: sacctmgr parses it with strtol; only plain seconds
			// are safe (1:00:00 would be stored as 1 second).
			return strconv.FormatInt(desired.d.Seconds, 10)
		}
		return FormatSeconds(desired.d.Seconds)
	case TypeFloat:
		return strconv.FormatFloat(desired.f, 'f', -1, 64)
	case TypeTRES:
		arg := ReplaceArg(desired.t, live.t)
		if len(arg) == 0 {
			return f.Clear
		}
		return arg.String()
	}
	return f.canonical(desired)
}

// FieldChange is one difference between the desired and the live QoS.
type FieldChange struct {
	Field   string // canonical field name
	Current string // live value, canonical; "(unset)" when it holds no value
	Desired string // desired value, canonical; "(unset)" when it is to be cleared
	// SetArg is the argv element for `sacctmgr -i modify qos NAME set ...`,
	// e.g. `MaxTRESPerUser=gres/gpu=2`. For TRES fields it also clears
	// live types absent from the desired list (`cpu=-1,gres/gpu=2`).
	SetArg string
}

func display(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

// Diff compares desired field values (keys: any field name or alias,
// case-insensitive) with live ones (keys: field names, aliases or the
// column headers sacctmgr printed) and returns the fields that differ, in
// catalogue order. Fields absent from desired are not managed and never
// reported; a desired field absent from live is an error (the caller did
// not query it). Live keys that are not QoS fields (e.g. Name) are ignored.
func Diff(desired, live map[string]string) ([]FieldChange, error) {
	want := make(map[string]string, len(desired))
	for k, v := range desired {
		f, err := lookupFieldErr(k)
		if err != nil {
			return nil, fmt.Errorf("desired: %w", err)
		}
		if _, dup := want[f.Name]; dup {
			return nil, fmt.Errorf("desired: field %s given twice (as %q and another alias)", f.Name, k)
		}
		want[f.Name] = v
	}
	have := make(map[string]string, len(live))
	for k, v := range live {
		f, ok := LookupField(k)
		if !ok {
			continue
		}
		if prev, dup := have[f.Name]; dup && prev != v {
			return nil, fmt.Errorf("live: field %s given twice with different values (%q, %q)", f.Name, prev, v)
		}
		have[f.Name] = v
	}
	var changes []FieldChange
	for _, f := range qosFields {
		d, ok := want[f.Name]
		if !ok {
			continue
		}
		l, ok := have[f.Name]
		if !ok {
			return nil, fmt.Errorf("live value of %s missing: include it in the show format= list", f.Name)
		}
		dv, err := f.parse(d)
		if err != nil {
			return nil, fmt.Errorf("desired %w", err)
		}
		if dv.unset && f.Type == TypeString {
			return nil, fmt.Errorf("desired %s=%q: a description cannot be cleared", f.Name, d)
		}
		lv, err := f.parse(l)
		if err != nil {
			return nil, fmt.Errorf("live %w", err)
		}
		dc, lc := f.canonical(dv), f.canonical(lv)
		if dc == lc {
			continue
		}
		changes = append(changes, FieldChange{
			Field:   f.Name,
			Current: display(lc),
			Desired: display(dc),
			SetArg:  f.Name + "=" + f.setValue(dv, lv),
		})
	}
	return changes, nil
}

// UnsetLive returns the live values of a freshly created QoS (every
// catalogue field at its Unset value, Description = the name), so that
// Diff(desired, UnsetLive(name)) yields the settings to pass to
// AddQoSArgv. Note that re-adding a deleted QoS "undeletes" it with all
// limits reset, so this is also right after a delete/add cycle.
func UnsetLive(name string) map[string]string {
	m := make(map[string]string, len(qosFields))
	for _, f := range qosFields {
		m[f.Name] = f.Unset
	}
	m["Description"] = name
	return m
}

// Warnings returns advice about desired values that are valid but probably
// not what was meant (huge GPU counts, normalised spellings).
func Warnings(desired map[string]string) []string {
	var w []string
	keys := make([]string, 0, len(desired))
	for k := range desired {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := LookupField(k)
		if !ok || f.Type != TypeTRES {
			continue
		}
		raw := desired[k]
		t, err := ParseTRES(raw)
		if err != nil {
			continue
		}
		for _, item := range strings.Split(raw, ",") {
			key := strings.ToLower(strings.TrimSpace(strings.SplitN(item, "=", 2)[0]))
			if bareGRES[key] {
				w = append(w, fmt.Sprintf("%s: %q written as gres/%s (sacctmgr rejects bare %q: \"no TRES known by type %s\")", f.Name, key, key, key, key))
			}
		}
		for _, s := range t.Warnings() {
			w = append(w, f.Name+": "+s)
		}
	}
	return w
}

func resolveFields(fields []string) ([]Field, error) {
	seen := map[string]bool{}
	out := make([]Field, 0, len(fields))
	for _, n := range fields {
		f, err := lookupFieldErr(n)
		if err != nil {
			return nil, err
		}
		if seen[f.Name] {
			continue
		}
		seen[f.Name] = true
		out = append(out, f)
	}
	return out, nil
}

// ShowQoSArgv builds `sacctmgr -n -P show qos NAME format=Name,F1,F2...`.
// fields are QoS field names (any alias); duplicates are dropped. -n -P
// because headerless '|'-separated output is the only form that is never
// truncated and never ambiguous; ParseShowQoS knows the column order.
func ShowQoSArgv(name string, fields []string) ([]string, error) {
	if err := ValidateName(KindQoS, name); err != nil {
		return nil, err
	}
	fs, err := resolveFields(fields)
	if err != nil {
		return nil, err
	}
	formats := []string{"Name"}
	for _, f := range fs {
		formats = append(formats, f.Format)
	}
	return []string{"sacctmgr", "-n", "-P", "show", "qos", name, "format=" + strings.Join(formats, ",")}, nil
}

// ParseShowQoS parses the output of ShowQoSArgv(name, fields). It returns
// the live values keyed by canonical field name, and found=false when the
// QoS does not exist (sacctmgr prints nothing and exits 0).
func ParseShowQoS(out []byte, name string, fields []string) (live map[string]string, found bool, err error) {
	fs, err := resolveFields(fields)
	if err != nil {
		return nil, false, err
	}
	cols := []string{"Name"}
	for _, f := range fs {
		cols = append(cols, f.Name)
	}
	t, err := ParseParsableNoHeader(out, cols)
	if err != nil {
		return nil, false, err
	}
	switch len(t.Rows) {
	case 0:
		return nil, false, nil
	case 1:
	default:
		return nil, false, fmt.Errorf("show qos %s: %d rows, want 1", name, len(t.Rows))
	}
	row := t.Rows[0]
	if !strings.EqualFold(row[0], name) {
		return nil, false, fmt.Errorf("show qos %s: got a row for %q", name, row[0])
	}
	live = make(map[string]string, len(fs))
	for i, f := range fs {
		live[f.Name] = row[i+1]
	}
	return live, true, nil
}

// ErrNoChanges is returned by ModifyQoSArgv when there is nothing to set;
// running sacctmgr with an empty set list fails ("You didn't give me
// anything to set").
var ErrNoChanges = errors.New("no changes to apply")

// AddQoSArgv builds `sacctmgr -i add qos NAME [F=V ...]`. -i is mandatory:
// without it and with stdin at EOF sacctmgr loops forever printing "Y or N
// please". Settings may be given at creation time (e.g. the SetArgs of
// Diff(desired, UnsetLive(name))).
func AddQoSArgv(name string, settings []FieldChange) ([]string, error) {
	if err := ValidateName(KindQoS, name); err != nil {
		return nil, err
	}
	argv := []string{"sacctmgr", "-i", "add", "qos", name}
	for _, c := range settings {
		if err := checkSetArg(c.SetArg); err != nil {
			return nil, err
		}
		argv = append(argv, c.SetArg)
	}
	return argv, nil
}

// ModifyQoSArgv builds `sacctmgr -i modify qos NAME set A=B ...` from the
// changes Diff returned.
func ModifyQoSArgv(name string, changes []FieldChange) ([]string, error) {
	if err := ValidateName(KindQoS, name); err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return nil, ErrNoChanges
	}
	argv := []string{"sacctmgr", "-i", "modify", "qos", name, "set"}
	for _, c := range changes {
		if err := checkSetArg(c.SetArg); err != nil {
			return nil, err
		}
		argv = append(argv, c.SetArg)
	}
	return argv, nil
}

// checkSetArg refuses set arguments that were not produced by Diff: the
// key must be a catalogue field and the value must not smuggle in another
// argument.
func checkSetArg(arg string) error {
	k, v, ok := strings.Cut(arg, "=")
	if !ok {
		return fmt.Errorf("set argument %q: want FIELD=VALUE", arg)
	}
	f, ok := LookupField(k)
	if !ok || f.Name != k {
		return fmt.Errorf("set argument %q: %q is not a canonical QoS field name", arg, k)
	}
	if strings.ContainsAny(v, "\n\r|") {
		return fmt.Errorf("set argument %q: value contains a newline or '|'", arg)
	}
	return nil
}

// DeleteQoSArgv builds `sacctmgr -i delete qos NAME`. Deleting a QoS that
// running jobs use is allowed; re-adding it later resets all its limits and
// does not re-attach it to associations.
func DeleteQoSArgv(name string) ([]string, error) {
	if err := ValidateName(KindQoS, name); err != nil {
		return nil, err
	}
	return []string{"sacctmgr", "-i", "delete", "qos", name}, nil
}
