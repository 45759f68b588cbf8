package inventory

// Ansible's typed inventory values, and how runbook holds them as cty
// values. Ansible 2.14's INI plugin passes every value (host line and
// [group:vars] alike) through Python's ast.literal_eval and keeps the
// text when that fails; pyLiteral is that function for the values an
// inventory can hold. ansibleToCty is the mapping from Ansible's types
// to cty (docs/language.md, "Types of values"), there for every Ansible
// format, so a value means the same whichever format it was written in.

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
)

// ansibleINIValue is what Ansible's INI plugin makes of the text of a
// value (_parse_value: ast.literal_eval, else the text itself), as cty.
// An error is a value Ansible fails on too (an unhashable dict key) or
// one runbook cannot represent.
func ansibleINIValue(s string) (cty.Value, error) {
	v, ok, err := pyLiteral(s)
	if err != nil {
		return cty.NilVal, err
	}
	if !ok {
		return cty.StringVal(s), nil
	}
	switch v.kind {
	case pyComplex, pyEllipsis:
		// Neither is a value outside Python; later ansible-core keeps the
		// text, and so does runbook.
		return cty.StringVal(s), nil
	}
	return ansibleToCty(v)
}

// ansibleToCty converts a value as Ansible holds it to the cty value a
// runbook reads in host.vars. v is a pyValue (from an INI literal) or a
// Go value decoded from YAML or JSON: nil, bool, int, int64, uint64,
// *big.Int, float64, string, []byte, []any, map[string]any, map[any]any.
//
//	str, bytes        string (bytes decoded as UTF-8)
//	int, float        number (3.0 and 3 are the same number)
//	bool              bool
//	None              null
//	list, tuple, set  tuple (a set in the order written, duplicates dropped)
//	dict              object (keys as JSON writes them: 1 -> "1", True -> "true")
//	complex, ...      string: the text as written
func ansibleToCty(v any) (cty.Value, error) {
	return toCty(v, 0)
}

func toCty(v any, depth int) (cty.Value, error) {
	if depth > maxValueDepth {
		return cty.NilVal, errors.New("value nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType), nil
	case bool:
		return cty.BoolVal(x), nil
	case int:
		return cty.NumberIntVal(int64(x)), nil
	case int64:
		return cty.NumberIntVal(x), nil
	case uint64:
		return cty.NumberUIntVal(x), nil
	case *big.Int:
		return cty.NumberVal(new(big.Float).SetInt(x)), nil
	case float64:
		return floatToCty(x), nil
	case string:
		return cty.StringVal(strings.ToValidUTF8(x, "\uFFFD")), nil
	case []byte:
		return cty.StringVal(strings.ToValidUTF8(string(x), "\uFFFD")), nil
	case []any:
		elems := make([]cty.Value, 0, len(x))
		for _, e := range x {
			c, err := toCty(e, depth+1)
			if err != nil {
				return cty.NilVal, err
			}
			elems = append(elems, c)
		}
		return tupleOf(elems), nil
	case map[string]any:
		attrs := make(map[string]cty.Value, len(x))
		for k, e := range x {
			c, err := toCty(e, depth+1)
			if err != nil {
				return cty.NilVal, err
			}
			attrs[strings.ToValidUTF8(k, "\uFFFD")] = c
		}
		return objectOf(attrs), nil
	case map[any]any:
		attrs := make(map[string]cty.Value, len(x))
		for k, e := range x {
			ks, err := jsonKey(k)
			if err != nil {
				return cty.NilVal, err
			}
			c, err := toCty(e, depth+1)
			if err != nil {
				return cty.NilVal, err
			}
			attrs[ks] = c
		}
		return objectOf(attrs), nil
	case pyValue:
		return x.toCty(depth)
	case *pyValue:
		return x.toCty(depth)
	}
	return cty.NilVal, fmt.Errorf("unsupported value of type %T", v)
}

func floatToCty(f float64) cty.Value {
	switch {
	case math.IsInf(f, 1):
		return cty.PositiveInfinity
	case math.IsInf(f, -1):
		return cty.NegativeInfinity
	case math.IsNaN(f):
		// cty has no NaN; neither YAML's .nan nor JSON can reach a runbook
		// as a number.
		return cty.StringVal("NaN")
	}
	return cty.NumberFloatVal(f)
}

func tupleOf(elems []cty.Value) cty.Value {
	if len(elems) == 0 {
		return cty.EmptyTupleVal
	}
	return cty.TupleVal(elems)
}

func objectOf(attrs map[string]cty.Value) cty.Value {
	if len(attrs) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(attrs)
}

// jsonKey is a dict key as Python's json module writes it (what
// ansible-inventory --list shows).
func jsonKey(k any) (string, error) {
	switch x := k.(type) {
	case nil:
		return "null", nil
	case bool:
		return strconv.FormatBool(x), nil
	case string:
		return strings.ToValidUTF8(x, "\uFFFD"), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case *big.Int:
		return x.String(), nil
	case float64:
		return pyFloatRepr(x), nil
	case pyValue:
		return x.jsonKey()
	case *pyValue:
		return x.jsonKey()
	}
	return "", fmt.Errorf("a %T cannot be a key", k)
}

// pyFloatRepr is Python's repr(float): the shortest digits that read
// back, in fixed notation for exponents -4..15, with at least one
// decimal ("1.0").
func pyFloatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	n, _ := strconv.Atoi(exp)
	if n < -4 || n >= 16 {
		return mant + "e" + exp
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// maxValueDepth bounds nesting in a value: Python itself stops at 200
// nested brackets ("too many nested parentheses").
const maxValueDepth = 200

// pyKind is the Python type of a literal.
type pyKind int

const (
	pyNone pyKind = iota
	pyBool
	pyInt
	pyFloat
	pyComplex
	pyStr
	pyBytes
	pyEllipsis
	pyTuple
	pyList
	pySet
	pyDict
)

// pyValue is a value ast.literal_eval returns.
type pyValue struct {
	kind   pyKind
	b      bool
	i      *big.Int
	f      float64 // float; complex: the real part
	im     float64 // complex: the imaginary part
	s      string  // str (UTF-8, surrogates resolved); bytes (raw); complex and Ellipsis: the text
	items  []pyValue
	values []pyValue // dict: values[i] belongs to items[i]
}

func (v pyValue) toCty(depth int) (cty.Value, error) {
	if depth > maxValueDepth {
		return cty.NilVal, errors.New("value nested too deeply")
	}
	switch v.kind {
	case pyNone:
		return cty.NullVal(cty.DynamicPseudoType), nil
	case pyBool:
		return cty.BoolVal(v.b), nil
	case pyInt:
		return cty.NumberVal(new(big.Float).SetInt(v.i)), nil
	case pyFloat:
		return floatToCty(v.f), nil
	case pyStr, pyComplex, pyEllipsis:
		return cty.StringVal(v.s), nil
	case pyBytes:
		return cty.StringVal(strings.ToValidUTF8(v.s, "\uFFFD")), nil
	case pyTuple, pyList, pySet:
		elems := make([]cty.Value, 0, len(v.items))
		for _, e := range v.items {
			c, err := e.toCty(depth + 1)
			if err != nil {
				return cty.NilVal, err
			}
			elems = append(elems, c)
		}
		return tupleOf(elems), nil
	case pyDict:
		attrs := make(map[string]cty.Value, len(v.items))
		for i, k := range v.items {
			ks, err := k.jsonKey()
			if err != nil {
				return cty.NilVal, err
			}
			c, err := v.values[i].toCty(depth + 1)
			if err != nil {
				return cty.NilVal, err
			}
			attrs[ks] = c
		}
		return objectOf(attrs), nil
	}
	return cty.NilVal, fmt.Errorf("unknown value kind %d", v.kind)
}

func (v pyValue) jsonKey() (string, error) {
	switch v.kind {
	case pyNone:
		return "null", nil
	case pyBool:
		return strconv.FormatBool(v.b), nil
	case pyInt:
		return v.i.String(), nil
	case pyFloat:
		return pyFloatRepr(v.f), nil
	case pyStr, pyComplex, pyEllipsis:
		return v.s, nil
	case pyBytes:
		return strings.ToValidUTF8(v.s, "\uFFFD"), nil
	}
	return "", errors.New("a tuple cannot be a dict key here")
}

// hashable is Python's: lists, dicts and sets are not, nor a tuple
// holding one.
func (v pyValue) hashable() bool {
	switch v.kind {
	case pyList, pyDict, pySet:
		return false
	case pyTuple:
		for _, e := range v.items {
			if !e.hashable() {
				return false
			}
		}
	}
	return true
}

func (v pyValue) typeName() string {
	return [...]string{"NoneType", "bool", "int", "float", "complex", "str", "bytes", "ellipsis", "tuple", "list", "set", "dict"}[v.kind]
}

// hashKey is equal for values Python's == holds equal (what makes two
// dict keys or set elements one): numbers by value across bool, int,
// float and complex (1 == 1.0 == True), text never equal to bytes.
func (v pyValue) hashKey() string {
	num := func(re *big.Float, im float64) string {
		if re.Sign() == 0 {
			re = new(big.Float) // -0.0 == 0
		}
		if im == 0 {
			im = 0
		}
		return "n" + re.Text('p', 0) + "," + strconv.FormatFloat(im, 'x', -1, 64)
	}
	switch v.kind {
	case pyBool:
		n := int64(0)
		if v.b {
			n = 1
		}
		return num(new(big.Float).SetInt64(n), 0)
	case pyInt:
		return num(new(big.Float).SetInt(v.i), 0)
	case pyFloat:
		return num(new(big.Float).SetFloat64(v.f), 0)
	case pyComplex:
		return num(new(big.Float).SetFloat64(v.f), v.im)
	case pyNone:
		return "N"
	case pyEllipsis:
		return "E"
	case pyStr:
		return "s" + v.s
	case pyBytes:
		return "b" + v.s
	case pyTuple:
		var b strings.Builder
		b.WriteString("t")
		for _, e := range v.items {
			k := e.hashKey()
			b.WriteString(strconv.Itoa(len(k)))
			b.WriteByte(':')
			b.WriteString(k)
		}
		return b.String()
	}
	return "?" // unhashable: never asked
}

// errPyType is Python's TypeError while building a literal (an
// unhashable dict key or set element): Ansible's INI plugin does not
// catch it, so the inventory fails to load.
type errPyType struct{ msg string }

func (e *errPyType) Error() string { return e.msg }

// pyLiteral is ast.literal_eval(s) of Python 3.11: ok=false where Python
// raises ValueError or SyntaxError (the INI plugin then keeps the text),
// err for a TypeError or what runbook does not evaluate (\N{...}).
func pyLiteral(s string) (v pyValue, ok bool, err error) {
	if strings.ContainsRune(s, 0) {
		return pyValue{}, false, nil // "source code string cannot contain null bytes"
	}
	s = strings.TrimLeft(s, " \t")
	p := &pyParser{src: s}
	if err := p.lex(); err != nil {
		if errors.Is(err, errNamedEscape) {
			return pyValue{}, false, err
		}
		return pyValue{}, false, nil
	}
	n, perr := p.parseTop()
	if perr != nil {
		if errors.Is(perr, errNamedEscape) {
			return pyValue{}, false, perr
		}
		return pyValue{}, false, nil
	}
	v, cerr := convertNode(n)
	if cerr != nil {
		var te *errPyType
		if errors.As(cerr, &te) {
			return pyValue{}, false, te
		}
		return pyValue{}, false, nil // ValueError: malformed node
	}
	return v, true, nil
}

var errNamedEscape = errors.New(`\N{...} escapes are not supported in inventory values; write the character itself`)

// Syntax nodes of the literal subset of Python expressions.
type pyNodeKind int

const (
	nConst pyNodeKind = iota
	nTuple
	nList
	nSet
	nDict
	nUnary // op '+' or '-'
	nBinary
	nCall  // name() with no arguments
	nOther // parses, but is not a literal (a name, an f-string): ValueError
)

type pyNode struct {
	kind  pyNodeKind
	val   pyValue
	op    byte
	name  string
	elts  []*pyNode
	vals  []*pyNode // dict values
	left  *pyNode
	right *pyNode
	text  string // nUnary, nBinary: the source (the text a complex keeps)
}

var errMalformed = errors.New("malformed node or string")

// convertNode is literal_eval's _convert, evaluating in the same order so
// the same error (ValueError or TypeError) comes first.
func convertNode(n *pyNode) (pyValue, error) {
	switch n.kind {
	case nConst:
		return n.val, nil
	case nTuple, nList:
		out := pyValue{kind: pyTuple}
		if n.kind == nList {
			out.kind = pyList
		}
		for _, e := range n.elts {
			v, err := convertNode(e)
			if err != nil {
				return pyValue{}, err
			}
			out.items = append(out.items, v)
		}
		return out, nil
	case nSet:
		out := pyValue{kind: pySet}
		seen := map[string]bool{}
		for _, e := range n.elts {
			v, err := convertNode(e)
			if err != nil {
				return pyValue{}, err
			}
			if !v.hashable() {
				return pyValue{}, &errPyType{"unhashable type: '" + v.typeName() + "'"}
			}
			if k := v.hashKey(); !seen[k] {
				seen[k] = true
				out.items = append(out.items, v)
			}
		}
		return out, nil
	case nCall:
		if n.name == "set" {
			return pyValue{kind: pySet}, nil
		}
		return pyValue{}, errMalformed
	case nDict:
		out := pyValue{kind: pyDict}
		at := map[string]int{}
		for i, kn := range n.elts {
			k, err := convertNode(kn)
			if err != nil {
				return pyValue{}, err
			}
			v, err := convertNode(n.vals[i])
			if err != nil {
				return pyValue{}, err
			}
			if !k.hashable() {
				return pyValue{}, &errPyType{"unhashable type: '" + k.typeName() + "'"}
			}
			if j, dup := at[k.hashKey()]; dup {
				out.values[j] = v // the first key stays, the last value wins
				continue
			}
			at[k.hashKey()] = len(out.items)
			out.items = append(out.items, k)
			out.values = append(out.values, v)
		}
		return out, nil
	case nBinary:
		left, err := signedNum(n.left)
		if err != nil {
			return pyValue{}, err
		}
		right, err := plainNum(n.right)
		if err != nil {
			return pyValue{}, err
		}
		if (left.kind == pyInt || left.kind == pyFloat) && right.kind == pyComplex {
			re := left.f
			if left.kind == pyInt {
				re, _ = new(big.Float).SetInt(left.i).Float64()
			}
			im := right.im
			if n.op == '-' {
				re, im = re-right.f, -im
			} else {
				re += right.f
			}
			return pyValue{kind: pyComplex, f: re, im: im, s: n.text}, nil
		}
		return pyValue{}, errMalformed
	}
	return signedNum(n)
}

func plainNum(n *pyNode) (pyValue, error) {
	if n.kind != nConst {
		return pyValue{}, errMalformed
	}
	switch n.val.kind {
	case pyInt, pyFloat, pyComplex:
		return n.val, nil
	}
	return pyValue{}, errMalformed
}

func signedNum(n *pyNode) (pyValue, error) {
	if n.kind != nUnary {
		return plainNum(n)
	}
	v, err := plainNum(n.left)
	if err != nil || n.op == '+' {
		return v, err
	}
	switch v.kind {
	case pyInt:
		v.i = new(big.Int).Neg(v.i)
	case pyFloat:
		v.f = -v.f
	case pyComplex:
		v.f, v.im = -v.f, -v.im
	}
	if v.kind == pyComplex {
		v.s = n.text
	}
	return v, nil
}

// Tokens of the literal subset.
type pyTokKind int

const (
	tEOF pyTokKind = iota
	tNum
	tStr
	tName
	tOp // one of ( ) [ ] { } , : + - and "..."
)

type pyTok struct {
	kind  pyTokKind
	text  string // op text, name, number text
	val   pyValue
	bytes bool // tStr: a bytes literal
	fstr  bool // tStr: an f-string (not a constant)
	pos   int  // where it starts in the source
	end   int  // and where it ends
}

type pyParser struct {
	src  string
	toks []pyTok
	at   int
}

var (
	reImag  = regexp.MustCompile(`^(?:(?:[0-9](?:_?[0-9])*\.(?:[0-9](?:_?[0-9])*)?|\.[0-9](?:_?[0-9])*)(?:[eE][-+]?[0-9](?:_?[0-9])*)?|[0-9](?:_?[0-9])*[eE][-+]?[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*)[jJ]`)
	reFloat = regexp.MustCompile(`^(?:(?:[0-9](?:_?[0-9])*\.(?:[0-9](?:_?[0-9])*)?|\.[0-9](?:_?[0-9])*)(?:[eE][-+]?[0-9](?:_?[0-9])*)?|[0-9](?:_?[0-9])*[eE][-+]?[0-9](?:_?[0-9])*)`)
	reInt   = regexp.MustCompile(`^(?:0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?0)*|[1-9](?:_?[0-9])*)`)
)

var errSyntax = errors.New("invalid syntax")

func isIdentRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nl, unicode.Pc, unicode.Other_ID_Start, unicode.Other_ID_Continue)
}

func (p *pyParser) lex() error {
	s := p.src
	depth := 0
	add := func(t pyTok, start, end int) {
		t.pos, t.end = start, end
		p.toks = append(p.toks, t)
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			i++
			continue
		case c == '#':
			i = len(s)
			continue
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			t, err := lexNumber(s[i:])
			if err != nil {
				return err
			}
			end := i + len(t.text)
			if r, _ := utf8.DecodeRuneInString(s[end:]); end < len(s) && isIdentRune(r) {
				return errSyntax // "invalid decimal literal" (or a keyword after a number: not a literal)
			}
			add(t, i, end)
			i = end
			continue
		case c == '.':
			if !strings.HasPrefix(s[i:], "...") {
				return errSyntax
			}
			add(pyTok{kind: tOp, text: "..."}, i, i+3)
			i += 3
			continue
		case c == '"' || c == '\'':
			t, n, err := lexString(s[i:], "")
			if err != nil {
				return err
			}
			add(t, i, i+n)
			i += n
			continue
		case strings.IndexByte("()[]{},:+-", c) >= 0:
			switch c {
			case '(', '[', '{':
				depth++
				if depth > maxValueDepth {
					return errSyntax // "too many nested parentheses"
				}
			case ')', ']', '}':
				depth--
			}
			add(pyTok{kind: tOp, text: string(c)}, i, i+1)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isIdentRune(r) || unicode.IsDigit(r) {
			return errSyntax
		}
		j := i + size
		for j < len(s) {
			r, size := utf8.DecodeRuneInString(s[j:])
			if !isIdentRune(r) {
				break
			}
			j += size
		}
		word := s[i:j]
		if j < len(s) && (s[j] == '"' || s[j] == '\'') && isStringPrefix(word) {
			t, n, err := lexString(s[j:], word)
			if err != nil {
				return err
			}
			add(t, i, j+n)
			i = j + n
			continue
		}
		add(pyTok{kind: tName, text: word}, i, j)
		i = j
	}
	add(pyTok{kind: tEOF}, len(s), len(s))
	return nil
}

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "br", "rb", "f", "fr", "rf":
		return true
	}
	return false
}

func lexNumber(s string) (pyTok, error) {
	if m := reImag.FindString(s); m != "" {
		re, im := 0.0, parsePyFloat(m[:len(m)-1])
		return pyTok{kind: tNum, text: m, val: pyValue{kind: pyComplex, f: re, im: im, s: m}}, nil
	}
	if m := reFloat.FindString(s); m != "" {
		return pyTok{kind: tNum, text: m, val: pyValue{kind: pyFloat, f: parsePyFloat(m)}}, nil
	}
	if m := reInt.FindString(s); m != "" {
		digits := strings.ReplaceAll(m, "_", "")
		base := 10
		if len(digits) > 1 && digits[0] == '0' {
			switch digits[1] {
			case 'x', 'X':
				base, digits = 16, digits[2:]
			case 'o', 'O':
				base, digits = 8, digits[2:]
			case 'b', 'B':
				base, digits = 2, digits[2:]
			}
		}
		n, ok := new(big.Int).SetString(digits, base)
		if !ok {
			return pyTok{}, errSyntax
		}
		return pyTok{kind: tNum, text: m, val: pyValue{kind: pyInt, i: n}}, nil
	}
	return pyTok{}, errSyntax
}

func parsePyFloat(s string) float64 {
	// Overflow is ±Inf, as in Python; the syntax was checked already.
	f, _ := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	return f
}

// lexString reads one string literal (s starts at its opening quote) and
// returns it with the length read.
func lexString(s, prefix string) (pyTok, int, error) {
	lp := strings.ToLower(prefix)
	raw := strings.Contains(lp, "r")
	isBytes := strings.Contains(lp, "b")
	q := s[0]
	triple := len(s) >= 3 && s[1] == q && s[2] == q
	start := 1
	if triple {
		start = 3
	}
	end := -1
	for i := start; i < len(s); i++ {
		if s[i] == '\\' {
			i++ // the escaped character never ends the string, raw or not
			continue
		}
		if s[i] != q {
			continue
		}
		if !triple {
			end = i
			break
		}
		if i+2 < len(s) && s[i+1] == q && s[i+2] == q {
			end = i
			break
		}
	}
	if end < 0 {
		return pyTok{}, 0, errSyntax // unterminated string literal
	}
	body := s[start:end]
	n := end + 1
	if triple {
		n = end + 3
	}
	tok := pyTok{kind: tStr, bytes: isBytes, fstr: strings.Contains(lp, "f")}
	if isBytes {
		for i := 0; i < len(body); i++ {
			if body[i] >= 0x80 {
				return pyTok{}, 0, errSyntax // bytes can only contain ASCII literal characters
			}
		}
	}
	if raw || tok.fstr {
		tok.val = pyValue{kind: pyStr, s: body}
	} else {
		dec, err := decodeEscapes(body, isBytes)
		if err != nil {
			return pyTok{}, 0, err
		}
		tok.val = pyValue{kind: pyStr, s: dec}
	}
	if isBytes {
		tok.val.kind = pyBytes
	}
	return tok, n, nil
}

// decodeEscapes applies Python's backslash escapes. A str's result is
// UTF-8 with surrogate pairs joined (lone surrogates become U+FFFD);
// a bytes literal's is its bytes.
func decodeEscapes(body string, isBytes bool) (string, error) {
	if !strings.Contains(body, `\`) {
		return body, nil
	}
	var units []rune // str: code points, surrogates kept until the end
	var out []byte   // bytes
	put := func(r rune) {
		if isBytes {
			out = append(out, byte(r))
		} else {
			units = append(units, r)
		}
	}
	hex := func(h string) (rune, bool) {
		n, err := strconv.ParseUint(h, 16, 32)
		return rune(n), err == nil && !strings.ContainsAny(h, "+-_")
	}
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' {
			if isBytes {
				out = append(out, c)
				i++
			} else {
				r, size := utf8.DecodeRuneInString(body[i:])
				units = append(units, r)
				i += size
			}
			continue
		}
		if i+1 >= len(body) {
			return "", errSyntax
		}
		e := body[i+1]
		i += 2
		switch e {
		case '\n':
		case '\\', '\'', '"':
			put(rune(e))
		case 'a':
			put(7)
		case 'b':
			put(8)
		case 'f':
			put(12)
		case 'n':
			put(10)
		case 'r':
			put(13)
		case 't':
			put(9)
		case 'v':
			put(11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := rune(e - '0')
			for k := 0; k < 2 && i < len(body) && body[i] >= '0' && body[i] <= '7'; k++ {
				v = v*8 + rune(body[i]-'0')
				i++
			}
			if isBytes {
				v &= 0xff
			}
			put(v)
		case 'x':
			if i+2 > len(body) {
				return "", errSyntax
			}
			r, ok := hex(body[i : i+2])
			if !ok {
				return "", errSyntax
			}
			put(r)
			i += 2
		case 'u', 'U', 'N':
			if isBytes {
				out = append(out, '\\', e)
				continue
			}
			if e == 'N' {
				return "", errNamedEscape
			}
			w := 4
			if e == 'U' {
				w = 8
			}
			if i+w > len(body) {
				return "", errSyntax
			}
			r, ok := hex(body[i : i+w])
			if !ok || r > unicode.MaxRune {
				return "", errSyntax
			}
			put(r)
			i += w
		default:
			// An unknown escape keeps its backslash (a DeprecationWarning).
			put('\\')
			if isBytes {
				out = append(out, e)
			} else {
				r, size := utf8.DecodeRuneInString(body[i-1:])
				units = append(units, r)
				i += size - 1
			}
		}
	}
	if isBytes {
		return string(out), nil
	}
	return joinSurrogates(units), nil
}

// joinSurrogates turns UTF-16 surrogate pairs into the character they
// encode (as a JSON reader of Python's output would) and lone ones into
// U+FFFD.
func joinSurrogates(rs []rune) string {
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if utf16.IsSurrogate(r) {
			if i+1 < len(rs) {
				if d := utf16.DecodeRune(r, rs[i+1]); d != unicode.ReplacementChar {
					b.WriteRune(d)
					i++
					continue
				}
			}
			r = unicode.ReplacementChar
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (p *pyParser) peek() pyTok { return p.toks[p.at] }

func (p *pyParser) isOp(s string) bool {
	t := p.toks[p.at]
	return t.kind == tOp && t.text == s
}

func (p *pyParser) expectOp(s string) error {
	if !p.isOp(s) {
		return errSyntax
	}
	p.at++
	return nil
}

// parseTop reads the whole input as one expression (eval mode): a bare
// "1, 2" is a tuple.
func (p *pyParser) parseTop() (*pyNode, error) {
	n, err := p.parseExprList(tEOF, "")
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, errSyntax
	}
	return n, nil
}

// parseExprList reads expr (, expr)* [,] up to the closing token; with a
// comma it is a tuple.
func (p *pyParser) parseExprList(closeKind pyTokKind, closeOp string) (*pyNode, error) {
	closing := func() bool {
		t := p.peek()
		return t.kind == closeKind && (closeKind != tOp || t.text == closeOp)
	}
	first, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if !p.isOp(",") {
		return first, nil
	}
	tuple := &pyNode{kind: nTuple, elts: []*pyNode{first}}
	for p.isOp(",") {
		p.at++
		if closing() {
			break
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		tuple.elts = append(tuple.elts, e)
	}
	return tuple, nil
}

func (p *pyParser) parseExpr() (*pyNode, error) {
	start := p.peek().pos
	left, err := p.parseUnary(0)
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		op := p.peek().text[0]
		p.at++
		right, err := p.parseUnary(0)
		if err != nil {
			return nil, err
		}
		left = &pyNode{kind: nBinary, op: op, left: left, right: right, text: p.textFrom(start)}
	}
	return left, nil
}

// textFrom is the source from start to the end of the last token read.
func (p *pyParser) textFrom(start int) string {
	return p.src[start:p.toks[p.at-1].end]
}

func (p *pyParser) parseUnary(depth int) (*pyNode, error) {
	if depth > maxValueDepth {
		return nil, errSyntax
	}
	if p.isOp("+") || p.isOp("-") {
		start := p.peek().pos
		op := p.peek().text[0]
		p.at++
		operand, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &pyNode{kind: nUnary, op: op, left: operand, text: p.textFrom(start)}, nil
	}
	return p.parseAtom()
}

func (p *pyParser) parseAtom() (*pyNode, error) {
	t := p.peek()
	switch t.kind {
	case tNum:
		p.at++
		return &pyNode{kind: nConst, val: t.val}, nil
	case tStr:
		// Adjacent literals concatenate; str and bytes do not mix.
		p.at++
		val, isBytes, fstr := t.val, t.bytes, t.fstr
		for p.peek().kind == tStr {
			n := p.peek()
			if n.bytes != isBytes {
				return nil, errSyntax
			}
			val.s += n.val.s
			fstr = fstr || n.fstr
			p.at++
		}
		if fstr {
			return &pyNode{kind: nOther}, nil // JoinedStr: not a constant
		}
		return &pyNode{kind: nConst, val: val}, nil
	case tName:
		p.at++
		switch t.text {
		case "True", "False":
			return &pyNode{kind: nConst, val: pyValue{kind: pyBool, b: t.text == "True"}}, nil
		case "None":
			return &pyNode{kind: nConst, val: pyValue{kind: pyNone}}, nil
		}
		if p.isOp("(") {
			p.at++
			if err := p.expectOp(")"); err != nil {
				return nil, err // a call with arguments: outside the subset read
			}
			return &pyNode{kind: nCall, name: t.text}, nil
		}
		return &pyNode{kind: nOther}, nil
	case tOp:
		switch t.text {
		case "...":
			p.at++
			return &pyNode{kind: nConst, val: pyValue{kind: pyEllipsis, s: "..."}}, nil
		case "(":
			p.at++
			if p.isOp(")") {
				p.at++
				return &pyNode{kind: nTuple}, nil
			}
			n, err := p.parseExprList(tOp, ")")
			if err != nil {
				return nil, err
			}
			return n, p.expectOp(")")
		case "[":
			p.at++
			list := &pyNode{kind: nList}
			for !p.isOp("]") {
				e, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				list.elts = append(list.elts, e)
				if !p.isOp(",") {
					break
				}
				p.at++
			}
			return list, p.expectOp("]")
		case "{":
			p.at++
			if p.isOp("}") {
				p.at++
				return &pyNode{kind: nDict}, nil
			}
			first, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if p.isOp(":") {
				d := &pyNode{kind: nDict}
				k := first
				for {
					if err := p.expectOp(":"); err != nil {
						return nil, err
					}
					v, err := p.parseExpr()
					if err != nil {
						return nil, err
					}
					d.elts, d.vals = append(d.elts, k), append(d.vals, v)
					if !p.isOp(",") {
						break
					}
					p.at++
					if p.isOp("}") {
						break
					}
					if k, err = p.parseExpr(); err != nil {
						return nil, err
					}
				}
				return d, p.expectOp("}")
			}
			set := &pyNode{kind: nSet, elts: []*pyNode{first}}
			for p.isOp(",") {
				p.at++
				if p.isOp("}") {
					break
				}
				e, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				set.elts = append(set.elts, e)
			}
			return set, p.expectOp("}")
		}
	}
	return nil, errSyntax
}

// sortedKeys returns m's keys sorted (for stable output).
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
