package report

import (
	"bytes"
	"encoding"
	"encoding/json"
	"encoding/xml"
	"html"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

// SecretForms returns the ways secret can be written in what runbook
// prints and records: as it is, and as each escaping
// writes it inside a quoted or escaped text (a shell word, a JSON or Go
// string, HTML, XML, an HCL string), once or twice over (a command line
// quoted in an error message, a command's JSON output). Each escaping
// works character by character, so a secret inside a longer text is
// escaped into exactly these forms: a redactor that knows them finds the
// secret in any rendering, not only where it is replaced before escaping.
// A secret with invalid UTF-8 also gets the forms of its coercion to
// valid UTF-8, which is what a record holds; one with white space at
// either end, the forms of it trimmed, as messages trim a command's output
// ("exited 3: " + its stderr).
func SecretForms(secret string) []string {
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	var bases []string
	for _, b := range []string{secret, strings.TrimSpace(secret)} {
		bases = append(bases, b)
		if !utf8.ValidString(b) {
			bases = append(bases, validUTF8(b), strings.ToValidUTF8(b, string(utf8.RuneError)))
		}
	}
	for _, b := range bases {
		add(b)
		for _, once := range escapings {
			e := once(b)
			add(e)
			for _, twice := range escapings {
				add(twice(e))
			}
		}
	}
	return forms
}

// escapings write a text the way it appears inside a quoted or escaped
// string of each syntax runbook renders, without the surrounding quotes.
var escapings = []func(string) string{
	// A shell word: ShellQuote turns ' into '\''.
	func(s string) string { return unquote(transport.ShellQuote(s), "'") },
	// JSON as encoding/json writes it (<, > and & as \u003c...) and
	// without HTML escaping (json.Encoder.SetEscapeHTML(false)).
	func(s string) string { b, _ := json.Marshal(s); return unquote(string(b), `"`) },
	func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		return unquote(strings.TrimSuffix(b.String(), "\n"), `"`)
	},
	// Go's %q, in error messages and in HCL's diagnostics.
	func(s string) string { return unquote(strconv.Quote(s), `"`) },
	html.EscapeString,
	func(s string) string {
		var b bytes.Buffer
		_ = xml.EscapeText(&b, []byte(s))
		return b.String()
	},
	// An HCL string, as in a var file or a runbook's default.
	func(s string) string {
		return unquote(string(hclwrite.TokensForValue(cty.StringVal(s)).Bytes()), `"`)
	},
}

// unquote strips one quote character from both ends of s, when s is
// quoted with it.
func unquote(s, q string) string {
	if len(s) >= 2*len(q) && strings.HasPrefix(s, q) && strings.HasSuffix(s, q) {
		return s[len(q) : len(s)-len(q)]
	}
	return s
}

var (
	rawJSON       = reflect.TypeOf(json.RawMessage(nil))
	timeType      = reflect.TypeOf(time.Time{})
	marshalerType = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	textMarshaler = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
	// customJSON caches, per type, whether it marshals itself.
	customJSON sync.Map // reflect.Type → bool
)

// marshalsItself reports whether JSON would call t's own MarshalJSON or
// MarshalText, whose round trip a field-by-field copy cannot mirror.
func marshalsItself(t reflect.Type) bool {
	if v, ok := customJSON.Load(t); ok {
		return v.(bool)
	}
	p := reflect.PointerTo(t)
	b := t.Implements(marshalerType) || p.Implements(marshalerType) || t.Implements(textMarshaler) || p.Implements(textMarshaler)
	customJSON.Store(t, b)
	return b
}

// Redacted returns the run as it may be written: when r.Redactor is set, a
// deep copy with every string (commands, outputs, errors, hints, notes,
// summaries, titles, changes, checklist lines and evidence, variables)
// passed through it; otherwise r itself. r is never modified.
//
// The copy is what a JSON round trip of r would give (the first version
// made it that way), built directly by reflection: the round trip cost a
// tenth of the controller's CPU at 50 hosts × 20 steps, as much as the
// rest of the report. So, as in the round trip: fields that JSON leaves
// out (json:"-", unexported, omitempty and empty) are zero in the copy,
// strings are coerced to valid UTF-8, times lose their monotonic reading.
// Reflection keeps it complete when fields are added.
func (r *Run) Redacted() *Run {
	if r == nil || r.Redactor == nil {
		return r
	}
	f := r.Redactor.Redact
	var c Run
	if !redactCopy(reflect.ValueOf(&c).Elem(), reflect.ValueOf(r).Elem(), f) {
		// A field of a kind the copy does not know (a new field holding an
		// interface, a func, ...): the JSON round trip handles anything.
		return redactedViaJSON(r)
	}
	return &c
}

// redactedViaJSON is the general path: marshal, unmarshal, redact.
func redactedViaJSON(r *Run) *Run {
	b, err := json.Marshal(r)
	if err != nil {
		// Run holds only plain data; this cannot fail. If it ever did,
		// an empty record is better than an unredacted one.
		return &Run{SchemaVersion: r.SchemaVersion, ID: r.ID, Mode: r.Mode, Result: r.Result}
	}
	var c Run
	if err := json.Unmarshal(b, &c); err != nil {
		return &Run{SchemaVersion: r.SchemaVersion, ID: r.ID, Mode: r.Mode, Result: r.Result}
	}
	redactValue(reflect.ValueOf(&c).Elem(), r.Redactor.Redact)
	return &c
}

// redactCopy sets dst (settable, zero) to a redacted copy of src, as a JSON
// round trip would; false when src holds something it cannot copy.
func redactCopy(dst, src reflect.Value, f func(string) string) bool {
	t := src.Type()
	switch {
	case t == rawJSON:
		if src.Len() == 0 {
			return true
		}
		if !json.Valid(src.Bytes()) {
			// JSON cannot marshal the run at all; the round trip knows
			// what to write instead.
			return false
		}
		dst.SetBytes(redactRawJSON(src.Bytes(), f))
		return true
	case t == timeType:
		dst.Set(reflect.ValueOf(jsonTime(src.Interface().(time.Time))))
		return true
	case marshalsItself(t):
		return false
	}
	switch src.Kind() {
	case reflect.String:
		dst.SetString(f(validUTF8(src.String())))
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		dst.Set(src)
	case reflect.Pointer:
		if src.IsNil() {
			return true
		}
		p := reflect.New(t.Elem())
		if !redactCopy(p.Elem(), src.Elem(), f) {
			return false
		}
		dst.Set(p)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if !sf.IsExported() || tag == "-" {
				continue
			}
			v := src.Field(i)
			if strings.Contains(tag, ",omitempty") && emptyJSON(v) {
				continue
			}
			if !redactCopy(dst.Field(i), v, f) {
				return false
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return true
		}
		if t.Elem().Kind() == reflect.Uint8 {
			dst.SetBytes(bytes.Clone(src.Bytes()))
			return true
		}
		s := reflect.MakeSlice(t, src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			if !redactCopy(s.Index(i), src.Index(i), f) {
				return false
			}
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return true
		}
		if t.Key().Kind() != reflect.String || t.Elem().Kind() != reflect.String {
			return false
		}
		m := reflect.MakeMapWithSize(t, src.Len())
		iter := src.MapRange()
		for iter.Next() {
			k := reflect.New(t.Key()).Elem()
			k.SetString(f(validUTF8(iter.Key().String())))
			e := reflect.New(t.Elem()).Elem()
			e.SetString(f(validUTF8(iter.Value().String())))
			m.SetMapIndex(k, e)
		}
		dst.Set(m)
	default:
		// Interfaces, arrays, funcs, channels: leave them to JSON.
		return src.IsZero()
	}
	return true
}

// jsonTime is t as time.Time's JSON round trip returns it: no monotonic
// reading, and the location time.Parse picks for its RFC 3339 offset.
func jsonTime(t time.Time) time.Time {
	t = t.Round(0)
	_, off := t.Zone()
	if off == 0 {
		return t.UTC() // written as "Z"
	}
	if _, local := t.In(time.Local).Zone(); local == off {
		return t.In(time.Local)
	}
	return t.In(time.FixedZone("", off))
}

// emptyJSON is encoding/json's test for omitempty.
func emptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// validUTF8 replaces each invalid byte with U+FFFD, as encoding/json does
// (strings.ToValidUTF8 would replace a run of them with one).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// redactRawJSON redacts a valid JSON document (step outputs and their
// type). Decoding and re-encoding every step's outputs was most of the
// cost of Redacted, so a document the redactor leaves alone is kept as it
// is (the common case: no secret in a command's output); otherwise
// redactJSON decodes it.
func redactRawJSON(b []byte, f func(string) string) []byte {
	if unchangedJSON(b, f) {
		return bytes.Clone(b)
	}
	return redactJSON(b, f)
}

// unchangedJSON reports whether f leaves every string of the valid JSON
// document b alone. A string without escapes is a piece of b's text, so
// f leaving b alone leaves it alone (f replaces secrets wherever they
// appear); a string with escapes (\n, \", \u003c) may hide a secret from
// that check, so it is decoded and checked by itself.
func unchangedJSON(b []byte, f func(string) string) bool {
	if !utf8.Valid(b) || f(string(b)) != string(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		j, escaped := i+1, false
		for ; j < len(b) && b[j] != '"'; j++ {
			if b[j] == '\\' {
				escaped = true
				j++
			}
		}
		if j >= len(b) {
			return false
		}
		if escaped {
			var s string
			if json.Unmarshal(b[i:j+1], &s) != nil || f(s) != s {
				return false
			}
		}
		i = j
	}
	return true
}

// redactValue walks v and replaces every settable string, map key and map
// value through f (in place, on the JSON round trip's copy).
func redactValue(v reflect.Value, f func(string) string) {
	if v.Type() == rawJSON {
		if v.Len() > 0 && v.CanSet() {
			v.SetBytes(redactJSON(v.Bytes(), f))
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(f(v.String()))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			redactValue(v.Elem(), f)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				redactValue(v.Field(i), f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			redactValue(v.Index(i), f)
		}
	case reflect.Map:
		if v.IsNil() || v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() != reflect.String {
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString(f(iter.Key().String()))
			e := reflect.New(v.Type().Elem()).Elem()
			e.SetString(f(iter.Value().String()))
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	}
}

// redactJSON redacts every string inside a JSON document (step outputs):
// decoded first, so a secret that JSON escapes (a quote, <, &) is found
// too. What does not decode is redacted as plain text.
func redactJSON(b []byte, f func(string) string) []byte {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []byte(f(string(b)))
	}
	out, err := json.Marshal(redactAny(v, f))
	if err != nil {
		return []byte(f(string(b)))
	}
	return out
}

func redactAny(v any, f func(string) string) any {
	switch x := v.(type) {
	case string:
		return f(x)
	case []any:
		for i := range x {
			x[i] = redactAny(x[i], f)
		}
		return x
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[f(k)] = redactAny(e, f)
		}
		return m
	}
	return v
}
