package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/runbook-hpc/runbook/engine/lang/tforacle"
)

// literalInputs are values as an inventory could hold them: every form
// of Python literal, and text that only looks like one.
var literalInputs = []string{
	"", " ", "0", "00", "0_0", "007", "09", "09.5", "09j", "1__0", "1_", "0x_1", "0x", "0b102", "0b11", "0o777", "0777", "0O17", "0XfF",
	"-0", "+5", "- 5", "--1", "-(1)", "-(-1)", "+-1", "123456789012345678901234567890", "-123456789012345678901234567890",
	"1.e5", "1_000.5_5", ".5", "5.", "1e3", "1E5", "1.5e-3", "1e1_0", "1_e10", "1e", "1e999", "-1e999", "1e-400", "0.0", "-0.0", "0e0", "3.0", "1_000.",
	".5j", "1j", "1.5J", "0j", "1+2j", "1-2j", "-1-1j", "1j+1", "+1j", "(1+2j)", "1+1", "1+2j+3j", "True+1j", "[1+2j, -3j]",
	"True", "False", "None", "true", "false", "none", "yes", "no", "TRUE", "-True", "not True", "Ellipsis", "...", "[...]", ". . .",
	"'x'", `"y"`, `'it''s'`, `"a" "b"`, `"a" b"b"`, `b"a" b'b'`, `r"\d"`, `R'\n'`, `u"x"`, `U'x'`, `f"x"`, `rf"x"`, `"a" f"b"`, `ur"x"`, `br"\x"`, `Rb"x"`, `bR"x"`,
	`"\d"`, `"\\"`, `"\'"`, `'\"'`, `"\t\n\r\a\b\f\v"`, `"\x41"`, `"\x4"`, `"\101\0\777"`, `b"\777"`, `"\u00e9"`, `"\U0001F600"`, `"\U00110000"`, `b"\u00e9"`, `b"é"`, `"é"`,
	`"\ud83d\ude00"`, `"\ud800"`, `"""a"""`, `'''a'''`, `"""a`, `"a`, `'a\'`, `"a\`, `""`, `''`, `""""""`, `"a" # c`, `"#"`,
	"[]", "()", "{}", "[1,]", "(1,)", "(1)", "((1,))", "(,)", "[,]", "{,}", "1,2", "1,", ",1", "[1, [2, [3]]]", "{1:2,}", "{1:2,,}", "{1, 2}", "{1,}",
	"{1: 'x', True: 'y'}", "{1, 1.0, True}", "{'a': 1, 'a': 2}", "{None: 1, 1.5: 2, False: 3}", "{(1, 2): 3}", "{[1]: 1}", "{{1}}", "{{}}", "{1: [1]}",
	"{1152921504606846976, 1152921504606846976.0}", "{9007199254740993, 9007199254740992.0}", "{0.0, -0.0, 0, False}", "{1, 1+0j, 0+1j, 1j}",
	"{(1, 2): 'a', (1.0, 2.0): 'b'}", "{'a', b'a'}", "{(1, [2]): 3}", "{((),): 1, ((),): 2}",
	"{x: [1]}", "{[1]: x}", "{[1]: 1, 2: f'x'}", "set()", "set( )", "set([1])", "set", "-set()", "frozenset()", "{**{}}", "[*a]",
	"1 #c", "1 ; 2", "1 2", "(1)(2)", "1.__class__", "1 .real", "1if 1 else 2", "1 if 1 else 2", "lambda: 1", "[1, 2", "x=", "a=b", "1==1",
	"foo", "foo-bar", "host-01.internal", "10.0.0.1", "1.2.3", "/usr/bin/python3", "{{ x }}", `"{{ x }}"`, "http://x:1/y", "a b", "Café", "ﾠ1", "１２", "-１", "١",
	"\t1", " 1", "1\t", "\f1", "1\f", "[\t1 ,\t2 ]",
	strings.Repeat("[", 200) + strings.Repeat("]", 200), strings.Repeat("[", 201) + strings.Repeat("]", 201), "-" + strings.Repeat("(", 150) + "1" + strings.Repeat(")", 150),
}

// pyEvalScript prints, for each input line (JSON strings), what
// ast.literal_eval makes of it, in a form both sides can write.
const pyEvalScript = `
import ast, json, sys, warnings
def enc(v):
    if v is None or isinstance(v, bool) or isinstance(v, str):
        return v
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        return {"float": repr(v)}
    if isinstance(v, complex):
        return {"complex": [repr(v.real), repr(v.imag)]}
    if v is Ellipsis:
        return {"ellipsis": True}
    if isinstance(v, bytes):
        return {"bytes": v.decode("latin-1")}
    if isinstance(v, list):
        return {"list": [enc(e) for e in v]}
    if isinstance(v, tuple):
        return {"tuple": [enc(e) for e in v]}
    if isinstance(v, (set, frozenset)):
        return {"set": sorted(json.dumps(enc(e), sort_keys=True) for e in v)}
    if isinstance(v, dict):
        return {"dict": sorted([json.dumps(enc(k), sort_keys=True), enc(x)] for k, x in v.items())}
    return {"other": repr(v)}
for line in sys.stdin:
    s = json.loads(line)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = {"value": enc(ast.literal_eval(s))}
    except (ValueError, SyntaxError):
        out = {"text": True}
    except Exception as e:
        out = {"error": type(e).__name__}
    print(json.dumps(out, sort_keys=True), flush=True)
`

// pyEncode is pyLiteral's result in pyEvalScript's form.
func pyEncode(v pyValue) any {
	switch v.kind {
	case pyNone:
		return nil
	case pyBool:
		return v.b
	case pyStr:
		return v.s
	case pyInt:
		return map[string]any{"int": v.i.String()}
	case pyFloat:
		return map[string]any{"float": pyFloatReprForTest(v.f)}
	case pyComplex:
		return map[string]any{"complex": []any{pyFloatReprForTest(v.f), pyFloatReprForTest(v.im)}}
	case pyEllipsis:
		return map[string]any{"ellipsis": true}
	case pyBytes:
		r := []rune{}
		for i := 0; i < len(v.s); i++ {
			r = append(r, rune(v.s[i]))
		}
		return map[string]any{"bytes": string(r)}
	case pyList, pyTuple:
		items := []any{}
		for _, e := range v.items {
			items = append(items, pyEncode(e))
		}
		return map[string]any{map[pyKind]string{pyList: "list", pyTuple: "tuple"}[v.kind]: items}
	case pySet:
		items := []string{}
		for _, e := range v.items {
			b, _ := json.Marshal(pyEncode(e))
			items = append(items, pySortKeysJSON(b))
		}
		sort.Strings(items)
		out := []any{}
		for _, s := range items {
			out = append(out, s)
		}
		return map[string]any{"set": out}
	case pyDict:
		type kv struct {
			k string
			v any
		}
		var pairs []kv
		for i, k := range v.items {
			b, _ := json.Marshal(pyEncode(k))
			pairs = append(pairs, kv{pySortKeysJSON(b), pyEncode(v.values[i])})
		}
		sort.Slice(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
		out := []any{}
		for _, p := range pairs {
			out = append(out, []any{p.k, p.v})
		}
		return map[string]any{"dict": out}
	}
	return map[string]any{"other": fmt.Sprint(v.kind)}
}

// pySortKeysJSON re-encodes JSON the way Python's json.dumps(sort_keys=True)
// spaces it.
func pySortKeysJSON(b []byte) string {
	var v any
	_ = json.Unmarshal(b, &v)
	var w func(v any) string
	w = func(v any) string {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var parts []string
			for _, k := range keys {
				kb, _ := json.Marshal(k)
				parts = append(parts, string(kb)+": "+w(x[k]))
			}
			return "{" + strings.Join(parts, ", ") + "}"
		case []any:
			var parts []string
			for _, e := range x {
				parts = append(parts, w(e))
			}
			return "[" + strings.Join(parts, ", ") + "]"
		}
		b, _ := json.Marshal(v)
		return pyASCII(string(b))
	}
	return w(v)
}

// pyASCII escapes non-ASCII as Python's json.dumps does by default.
func pyASCII(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func pyFloatReprForTest(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return pyFloatRepr(f)
}

// requirePython returns python3, or skips (fails under
// RUNBOOK_REQUIRE_ORACLES: it comes with ansible-core).
func requirePython(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if v := os.Getenv(tforacle.RequireEnv); v != "" && v != "0" {
			t.Fatal(tforacle.RequireEnv + " is set and there is no python3 (make deps installs it with ansible-core)")
		}
		t.Skip("no python3 (" + tforacle.RequireEnv + "=1 makes this a failure)")
	}
	return py
}

// pythonEval runs ast.literal_eval over inputs in one python3.
func pythonEval(t *testing.T, py string, inputs []string) []map[string]any {
	t.Helper()
	var in bytes.Buffer
	for _, s := range inputs {
		b, _ := json.Marshal(s)
		in.Write(b)
		in.WriteByte('\n')
	}
	cmd := exec.Command(py, "-I", "-c", pyEvalScript)
	cmd.Stdin = &in
	cmd.Env = append(os.Environ(), "PYTHONIOENCODING=utf-8")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var res []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("python3 output %q: %v", line, err)
		}
		res = append(res, m)
	}
	if len(res) != len(inputs) {
		t.Fatalf("python3 answered %d of %d inputs", len(res), len(inputs))
	}
	return res
}

func checkLiterals(t *testing.T, py string, inputs []string) {
	t.Helper()
	want := pythonEval(t, py, inputs)
	for i, s := range inputs {
		v, ok, err := pyLiteral(s)
		var got map[string]any
		switch {
		case err == errNamedEscape:
			continue // runbook refuses \N{...}; checked elsewhere
		case err != nil:
			got = map[string]any{"error": "TypeError"}
		case !ok:
			got = map[string]any{"text": true}
		default:
			b, _ := json.Marshal(map[string]any{"value": pyEncode(v)})
			_ = json.Unmarshal(b, &got)
		}
		wb, _ := json.Marshal(want[i])
		gb, _ := json.Marshal(got)
		if !bytes.Equal(wb, gb) {
			t.Errorf("literal_eval(%q)\n  Python  %s\n  runbook %s", s, wb, gb)
		}
	}
}

// TestPyLiteralMatchesPython holds pyLiteral against Python's own
// ast.literal_eval: the same value, the same "not a literal" (text), the
// same TypeError.
func TestPyLiteralMatchesPython(t *testing.T) {
	py := requirePython(t)
	checkLiterals(t, py, literalInputs)
}

// TestPyLiteralRandom does the same for generated near-literals: numbers
// with odd underscores and prefixes, escapes, brackets that may not
// close, unary and binary signs.
func TestPyLiteralRandom(t *testing.T) {
	py := requirePython(t)
	r := rand.New(rand.NewSource(19))
	atoms := []string{"0", "1", "00", "007", "1_0", "1__0", "0x1f", "0b2", "0o7", ".5", "5.", "1e3", "1e", "2j", "1_j",
		"True", "None", "x", "...", "'a'", `"b"`, `"\x4"`, `'\101'`, `b"c"`, `r"\d"`, `f"x"`, `"\u00e9"`, "set()", "()", "[]", "{}"}
	var gen func(depth int) string
	gen = func(depth int) string {
		switch n := r.Intn(10); {
		case n < 4 || depth > 3:
			return atoms[r.Intn(len(atoms))]
		case n == 4:
			return []string{"-", "+", "- ", "--"}[r.Intn(4)] + gen(depth+1)
		case n == 5:
			return gen(depth+1) + []string{"+", "-", " + ", "*"}[r.Intn(4)] + gen(depth+1)
		default:
			open := []string{"[", "(", "{"}[r.Intn(3)]
			closing := map[string]string{"[": "]", "(": ")", "{": "}"}[open]
			var parts []string
			for k := r.Intn(4); k >= 0; k-- {
				e := gen(depth + 1)
				if open == "{" && r.Intn(2) == 0 {
					e += ": " + gen(depth+1)
				}
				parts = append(parts, e)
			}
			s := open + strings.Join(parts, []string{",", ", ", " ,"}[r.Intn(3)])
			if r.Intn(5) == 0 {
				s += ","
			}
			if r.Intn(12) != 0 {
				s += closing
			}
			return s
		}
	}
	inputs := make([]string, 0, 3000)
	for len(inputs) < 3000 {
		inputs = append(inputs, gen(0))
	}
	checkLiterals(t, py, inputs)
}

// TestAnsibleINIValue: what reaches a runbook, including what
// ansible-inventory 2.14 cannot print (complex, Ellipsis, sets, bytes in
// a list), which later ansible-core turns into text or lists.
func TestAnsibleINIValue(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"64", "64"},
		{"True", "true"},
		{"3.0", "3"},
		{"0.5", "0.5"},
		{"007", `"007"`},
		{"None", "null"},
		{"['a','b']", `["a","b"]`},
		{"x=1 # comment", `"x=1 # comment"`},
		{"1 # comment", "1"},
		{"foo # comment", `"foo # comment"`},
		{"(1, 2)", "[1,2]"},
		{"{1, 2, 1}", "[1,2]"},
		{"{3, True, 1}", "[3,true]"},
		{"set()", "[]"},
		{"1j", `"1j"`},
		{"1+2j", `"1+2j"`},
		{"...", `"..."`},
		{"[..., 1j, set(), {1, 2}, b'x', -2j]", `["...","1j",[],[1,2],"x","-2j"]`},
		{"b'bytes'", `"bytes"`},
		{"{1: 'a', True: 'b', None: 'c', 1.5: 'd', 'k': 'e'}", `{"1":"b","1.5":"d","k":"e","null":"c"}`},
		{"1e999", "Infinity"},
		{"'\\ud83d\\ude00'", `"😀"`},
		{"'${x}'", `"${x}"`},
	} {
		v, err := ansibleINIValue(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		got := "Infinity"
		if !v.RawEquals(cty.PositiveInfinity) {
			b, err := ctyjson.Marshal(v, v.Type())
			if err != nil {
				t.Errorf("%q: %v", c.in, err)
				continue
			}
			got = string(b)
		}
		if got != c.want {
			t.Errorf("%q: got %s, want %s", c.in, got, c.want)
		}
	}
	for _, in := range []string{"{[1]: 2}", "{(1, [2]): 3}", "{{}}", "'\\N{BULLET}'", "{(1, 2): 'tuple key'}"} {
		if _, err := ansibleINIValue(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// FuzzPyLiteral: no input makes the literal reader or the conversion
// panic (TestPyLiteralRandom holds the answers to Python's).
//
//	go test -run '^$' -fuzz FuzzPyLiteral -fuzztime 30s ./inventory/
func FuzzPyLiteral(f *testing.F) {
	for _, s := range literalInputs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := ansibleINIValue(s); err != nil {
			return
		}
		v, ok, _ := pyLiteral(s)
		if ok {
			if _, err := ansibleToCty(v); err != nil && v.kind != pyDict {
				t.Errorf("%q: %v", s, err)
			}
		}
	})
}
