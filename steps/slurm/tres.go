package slurm

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// TRES is a trackable-resource list such as `billing=1,cpu=1,gres/gpu=1,node=1`
// keyed by the lower-cased TRES type/name. Sizes (mem, bb/*) are held in MB,
// the unit Slurm stores them in, so `mem=2G` and `mem=2048` compare equal.
// A count of -1 means "clear this limit" and only ever comes from input.
type TRES map[string]int64

// ErrGPUMemoryTRES is wrapped by the error for any attempt at a GPU-memory
// TRES. Slurm 22.05 has no such TRES: the seed guide's "GPU memory limit
// (MaxTRESPerJob=gres/gpu:20000)" is a mistake (sacctmgr: `no TRES id found
// for gres/gpu:20000`), and `gres/gpumem=...` gives `no TRES known by type
// gres/gpumem`.
var ErrGPUMemoryTRES = errors.New("Slurm 22.05 has no GPU-memory TRES")

// ErrColonTRES is wrapped by the error for `gpu:2` / `gres/gpu:2`: ':' is the
// sbatch --gres syntax, sacctmgr wants TYPE=COUNT.
var ErrColonTRES = errors.New("TRES limits are written TYPE=COUNT, not TYPE:COUNT")

// tresOrder lists the built-in TRES types with their fixed ids. Every other
// TRES type is dynamic (gres/NAME, license/NAME, bb/NAME, fs/NAME, ic/NAME).
//
// Display order: scontrol prints TRES lists in id order
// (TRES=cpu=1,mem=2G,node=1,billing=1,gres/gpu=1) but sacctmgr and sacct
// print them sorted by name (MaxTRESPU cpu=4,gres/gpu=2,mem=2G; AllocTRES
// billing=1,cpu=1,gres/gpu=1,node=1 — verified on 22.05.8). String follows
// sacctmgr. Order never matters for meaning: compare TRES with Equal.
var tresOrder = map[string]int{
	"cpu": 1, "mem": 2, "energy": 3, "node": 4, "billing": 5, "fs/disk": 6, "vmem": 7, "pages": 8,
}

// tresPrefixes are the dynamic TRES types; the part after '/' is a name.
var tresPrefixes = []string{"gres/", "license/", "bb/", "fs/", "ic/"}

// bareGRES are GRES names an admin writes without the gres/ prefix. They
// are recognised and rewritten (gpu=2 -> gres/gpu=2) because the intent is
// unambiguous; sacctmgr itself rejects them (`no TRES known by type gpu`).
var bareGRES = map[string]bool{"gpu": true, "mps": true, "shard": true}

// tresMisspellings maps names people write to what they mean.
var tresMisspellings = map[string]string{
	"cpus": "cpu", "core": "cpu", "cores": "cpu", "nodes": "node", "memory": "mem",
	"gpus": "gres/gpu", "gres/gpus": "gres/gpu", "gres": "gres/gpu",
}

// gpuMemoryKeys are fragments that betray an attempt at a GPU-memory TRES.
var gpuMemoryKeys = []string{"gpumem", "gpu_mem", "gpu-mem", "mem_per_gpu", "mempergpu", "mem-per-gpu", "gpu_memory", "gpumemory", "vram"}

// ParseTRES parses a TRES list as written by an admin or printed by
// Slurm. It accepts `TYPE=COUNT[,TYPE=COUNT...]`, the empty string and `-1`
// (both: no entries), sizes with K/M/G/T/P suffixes for mem and bb/*, and
// rewrites bare `gpu=N` to `gres/gpu=N`. It rejects, with an explanation,
// the mistakes a real cluster rejects: `gpu:2`, `gres/gpu:2`,
// `gres/gpu:20000`, and any GPU-memory TRES.
func ParseTRES(s string) (TRES, error) {
	t := TRES{}
	s = strings.TrimSpace(s)
	if s == "" || s == "-1" {
		return t, nil
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("TRES %q: empty item (stray ',')", s)
		}
		eq := strings.IndexByte(item, '=')
		if eq < 0 {
			if strings.Contains(item, ":") {
				key := strings.ToLower(item[:strings.IndexByte(item, ':')])
				if isGPUMemoryKey(key) {
					return nil, gpuMemoryError(item)
				}
				name, _ := canonicalTRESKey(key)
				if name == "" {
					name = key
				}
				count := item[strings.IndexByte(item, ':')+1:]
				return nil, fmt.Errorf("TRES %q: %w: write %s=%s (sacctmgr answers \"no TRES id found for %s\"); "+
					"if you meant GPU memory: %v, and gres/gpu=N would mean N GPUs", item, ErrColonTRES, name, count, item, ErrGPUMemoryTRES)
			}
			return nil, fmt.Errorf("TRES %q: missing =COUNT (write e.g. gres/gpu=2)", item)
		}
		rawKey := strings.ToLower(strings.TrimSpace(item[:eq]))
		val := strings.TrimSpace(item[eq+1:])
		if isGPUMemoryKey(rawKey) {
			return nil, gpuMemoryError(item)
		}
		key, err := canonicalTRESKey(rawKey)
		if err != nil {
			return nil, fmt.Errorf("TRES %q: %w", item, err)
		}
		n, err := parseTRESCount(key, val)
		if err != nil {
			return nil, fmt.Errorf("TRES %q: %w", item, err)
		}
		if _, dup := t[key]; dup {
			return nil, fmt.Errorf("TRES %q: %s given twice", s, key)
		}
		t[key] = n
	}
	return t, nil
}

func isGPUMemoryKey(key string) bool {
	k := strings.ToLower(key)
	for _, frag := range gpuMemoryKeys {
		if strings.Contains(k, frag) {
			return true
		}
	}
	return false
}

func gpuMemoryError(item string) error {
	return fmt.Errorf("TRES %q: %w (sacctmgr: \"no TRES known by type gres/gpumem\"); "+
		"a QoS can limit the NUMBER of GPUs (gres/gpu=N) but not their memory, and gres/gpu=20000 would mean "+
		"20000 GPUs per job; restrict GPU memory by GPU type (gres/gpu:TYPE in AccountingStorageTRES) or partition instead", item, ErrGPUMemoryTRES)
}

// canonicalTRESKey validates a lower-cased TRES key and rewrites bare GRES
// names.
func canonicalTRESKey(k string) (string, error) {
	if k == "" {
		return "", errors.New("empty TRES type")
	}
	if _, ok := tresOrder[k]; ok {
		return k, nil
	}
	if bareGRES[k] {
		return "gres/" + k, nil
	}
	if want, ok := tresMisspellings[k]; ok {
		return "", fmt.Errorf("unknown TRES type %q: did you mean %s?", k, want)
	}
	for _, p := range tresPrefixes {
		if !strings.HasPrefix(k, p) {
			continue
		}
		name := k[len(p):]
		typ := ""
		if i := strings.IndexByte(name, ':'); i >= 0 {
			name, typ = name[:i], name[i+1:]
			if p != "gres/" {
				return "", fmt.Errorf("TRES type %q: only gres/ TRES have a :TYPE suffix", k)
			}
			if typ == "" || isDigits(typ) {
				return "", fmt.Errorf("TRES type %q: %w (a GRES type like gres/gpu:a100 is a name, not a count)", k, ErrColonTRES)
			}
			if !validTRESName(typ) {
				return "", fmt.Errorf("TRES type %q: invalid GRES type name %q", k, typ)
			}
		}
		if !validTRESName(name) {
			return "", fmt.Errorf("TRES type %q: invalid name %q", k, name)
		}
		if p == "gres/" && (name == "gpus" || name == "gpu_count") {
			return "", fmt.Errorf("unknown TRES type %q: did you mean gres/gpu?", k)
		}
		return k, nil
	}
	return "", fmt.Errorf("unknown TRES type %q (built-ins: cpu, mem, energy, node, billing, fs/disk, vmem, pages; dynamic: gres/NAME, license/NAME, bb/NAME)", k)
}

func validTRESName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' || r == '@') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func isSizeTRES(key string) bool { return key == "mem" || strings.HasPrefix(key, "bb/") }

// maxTRESCount keeps counts well inside int64 after unit scaling.
const maxTRESCount = int64(1) << 50

func parseTRESCount(key, v string) (int64, error) {
	if v == "-1" {
		return -1, nil
	}
	if v == "" {
		return 0, errors.New("missing count after '='")
	}
	mult := int64(1)
	num := v
	if isSizeTRES(key) {
		switch v[len(v)-1] {
		case 'K', 'k':
			mult = -1024 // divide: KB -> MB
		case 'M', 'm':
		case 'G', 'g':
			mult = 1024
		case 'T', 't':
			mult = 1024 * 1024
		case 'P', 'p':
			mult = 1024 * 1024 * 1024
		default:
			mult = 0
		}
		if mult != 0 {
			num = v[:len(v)-1]
		} else {
			mult = 1
		}
	}
	if !isDigits(num) {
		if strings.Contains(v, ":") {
			return 0, fmt.Errorf("count %q: %w", v, ErrColonTRES)
		}
		return 0, fmt.Errorf("count %q is not a whole number (or -1 to clear)", v)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > maxTRESCount {
		return 0, fmt.Errorf("count %q is out of range", v)
	}
	if mult < 0 {
		if n%1024 != 0 {
			return 0, fmt.Errorf("size %q is not a whole number of MB (Slurm stores %s in MB)", v, key)
		}
		return n / 1024, nil
	}
	if n > maxTRESCount/mult {
		return 0, fmt.Errorf("count %q is out of range", v)
	}
	if isSizeTRES(key) && n*mult >= maxTRESSizeMB {
		return 0, fmt.Errorf("size %q is out of range: Slurm prints sizes up to P, and 1024P or more comes back as %q", v, "1?")
	}
	return n * mult, nil
}

// maxTRESSizeMB is 1024P in MB: measured on 22.05, sacctmgr prints
// mem=1024P (and more) back as `mem=1?`, and takes `1E` as 1M.
const maxTRESSizeMB = int64(1) << 40

// formatTRESCount renders a count the way sacctmgr/scontrol print it; mem
// and bb/* are converted to the largest exact unit (2048 -> 2G, 1500 ->
// 1500M), like Slurm's convert_num_unit with CONVERT_NUM_UNIT_EXACT.
func formatTRESCount(key string, n int64) string {
	if !isSizeTRES(key) || n <= 0 {
		return strconv.FormatInt(n, 10)
	}
	units := "MGTP" // Slurm's convert_num_unit goes no further
	u := 0
	for n%1024 == 0 && u < len(units)-1 {
		n /= 1024
		u++
	}
	return strconv.FormatInt(n, 10) + string(units[u])
}

// Keys returns the keys sorted by name, the order sacctmgr and sacct print.
func (t TRES) Keys() []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// String formats t as sacctmgr prints it (sorted by name). -1
// entries are kept so the result can be used as a `set` value.
func (t TRES) String() string {
	var b strings.Builder
	for i, k := range t.Keys() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(formatTRESCount(k, t[k]))
	}
	return b.String()
}

// Limits returns t without its -1 (clear) entries: the state a limit list
// is in after sacctmgr has applied it.
func (t TRES) Limits() TRES {
	out := make(TRES, len(t))
	for k, v := range t {
		if v >= 0 {
			out[k] = v
		}
	}
	return out
}

// Equal compares two TRES lists as maps, ignoring -1 (clear) entries.
func (t TRES) Equal(o TRES) bool {
	a, b := t.Limits(), o.Limits()
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Count returns the count for key; key may be written as a user would
// (`gpu` finds `gres/gpu`).
func (t TRES) Count(key string) (int64, bool) {
	k := strings.ToLower(strings.TrimSpace(key))
	if ck, err := canonicalTRESKey(k); err == nil {
		k = ck
	}
	n, ok := t[k]
	return n, ok
}

// Contains reports whether t holds key with exactly count n, e.g.
// Contains(allocTRES, "gres/gpu", 1) for a job that got one GPU.
func Contains(t TRES, key string, n int64) bool {
	c, ok := t.Count(key)
	return ok && c == n
}

// ReplaceArg returns the value to hand sacctmgr so that a TRES limit field
// currently holding live ends up holding exactly desired. sacctmgr MERGES
// a TRES `set` into the existing list (TRES_STR_FLAG_REPLACE replaces per
// type, it does not drop the others), so every live type absent from
// desired must be cleared explicitly with =-1.
func ReplaceArg(desired, live TRES) TRES {
	out := desired.Limits()
	for k, v := range live {
		if _, keep := out[k]; !keep && v >= 0 {
			out[k] = -1
		}
	}
	return out
}

// Warnings returns advice about values that are valid but probably not
// meant, e.g. a huge GPU count that betrays a GPU-memory intent.
func (t TRES) Warnings() []string {
	var w []string
	for _, k := range t.Keys() {
		if strings.HasPrefix(k, "gres/gpu") && t[k] >= 1000 {
			w = append(w, fmt.Sprintf("%s=%d limits the NUMBER of GPUs to %d; if this was meant as GPU memory, Slurm 22.05 has no GPU-memory TRES", k, t[k], t[k]))
		}
	}
	return w
}
