package report

import (
	"bytes"
	"encoding/json"
	"reflect"
)

var rawJSON = reflect.TypeOf(json.RawMessage(nil))

// Redacted returns the run as it may be written: when r.Redactor is set, a
// deep copy with every string (commands, outputs, errors, hints, notes,
// summaries, titles, changes, checklist lines and evidence, variables)
// passed through it; otherwise r itself. r is never modified.
func (r *Run) Redacted() *Run {
	if r == nil || r.Redactor == nil {
		return r
	}
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

// redactValue walks v and replaces every settable string, map key and map
// value through f. Reflection keeps it complete when fields are added.
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
