package logs

// Filter patterns, as "Filter pattern syntax for metric filters,
// subscription filters, filter log events, and Live Tail" in the
// CloudWatch Logs User Guide describes them. A pattern is one of:
//
//   - terms: ERROR "exact phrase" ?optional -excluded. Matching is by
//     case-sensitive substring; every plain term must appear, no excluded
//     term may, and when there are ?terms at least one of them must.
//   - a JSON pattern in braces: { $.a.b[0] = "x*" && ($.n > 5 || $.f IS TRUE) },
//     with =, !=, <, >, <=, >=, IS TRUE, IS FALSE, IS NULL, NOT EXISTS,
//     && binding tighter than ||, and parentheses.
//   - a space-delimited pattern in brackets: [ip, user, ..., status = 4*, bytes > 1000],
//     matched field by field against the message split at spaces ("..."
//     and [...] in the message are one field each).
//   - a regular expression between percent signs: %ERROR|WARN%.
//
// String values may start or end with the wildcard *, and may be regular
// expressions between % signs; numbers compare as numbers.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// patternError is a filter pattern the service cannot parse; its text is
// what the client sees, in AWS's words.
type patternError struct{ msg string }

func (e *patternError) Error() string { return e.msg }

// errPattern is AWS's answer to most malformed filter patterns.
var errPattern = &patternError{"Invalid filter pattern"}

// parseFilter compiles a filter pattern into a predicate on event
// messages. The empty pattern matches every event.
func parseFilter(p string) (func(message string) bool, error) {
	p = strings.TrimSpace(p)
	switch {
	case p == "":
		return func(string) bool { return true }, nil
	case p[0] == '{':
		if p[len(p)-1] != '}' {
			return nil, &patternError{"If a filter pattern starts with '{' it must end with '}'"}
		}
		return parseJSONPattern(p[1 : len(p)-1])
	case p[0] == '[':
		if p[len(p)-1] != ']' {
			return nil, &patternError{"If a filter pattern starts with '[' it must end with ']'"}
		}
		return parseDelimited(p[1 : len(p)-1])
	case len(p) >= 2 && p[0] == '%' && p[len(p)-1] == '%':
		re, err := compileRegex(p[1 : len(p)-1])
		if err != nil {
			return nil, err
		}
		return re.MatchString, nil
	}
	return parseTerms(p)
}

// --- terms ---

// parseTerms compiles a pattern of terms.
func parseTerms(p string) (func(string) bool, error) {
	var all, anyOf, none []string
	op := byte(0) // '?' or '-' before the next term
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case isSpace(c):
			i++
			continue
		case c == '?' || c == '-':
			if op != 0 {
				return nil, &patternError{fmt.Sprintf("Invalid character(s) in term '%c'", c)}
			}
			op = c
			i++
			continue
		}
		var term string
		if c == '"' {
			t, n, err := readQuoted(p[i:])
			if err != nil {
				return nil, err
			}
			if i+n < len(p) && !isSpace(p[i+n]) {
				return nil, errPattern
			}
			term, i = t, i+n
		} else {
			j := i
			for j < len(p) && !isSpace(p[j]) {
				j++
			}
			term, i = p[i:j], j
			if !bareTerm(term) {
				return nil, &patternError{fmt.Sprintf("Invalid character(s) in term '%s'", term)}
			}
		}
		switch op {
		case '?':
			anyOf = append(anyOf, term)
		case '-':
			none = append(none, term)
		default:
			all = append(all, term)
		}
		op = 0
	}
	if op != 0 {
		return nil, errPattern
	}
	return func(msg string) bool {
		for _, t := range all {
			if !strings.Contains(msg, t) {
				return false
			}
		}
		for _, t := range none {
			if strings.Contains(msg, t) {
				return false
			}
		}
		if len(anyOf) == 0 {
			return true
		}
		for _, t := range anyOf {
			if strings.Contains(msg, t) {
				return true
			}
		}
		return false
	}, nil
}

// bareTerm reports whether a term may go without quotes: letters, digits
// and a few punctuation marks that cannot be taken for pattern syntax.
// (AWS asks for quotes around any term with characters "other than
// alphanumeric or underscore"; nephele is a little more lenient.)
func bareTerm(t string) bool {
	for _, r := range t {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-.:/@#,;=+'", r) {
			return false
		}
	}
	return t != ""
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// readQuoted reads a double-quoted string at the start of s, with \" and
// \\ escapes, and returns its content and the bytes it took.
func readQuoted(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				i++
			}
		}
		b.WriteByte(s[i])
	}
	return "", 0, errPattern
}

// --- regular expressions ---

// compileRegex compiles the text between % signs. AWS allows letters,
// digits, the symbols : _ # = @ / ; , - and space, and the operators
// ^ $ ? [ ] { } | \ * + .; not ( ), nor multi-byte characters.
func compileRegex(s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, errPattern
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || !(isAlnum(c) || strings.IndexByte(":_#=@/;,- ^$?[]{}|\\*+.", c) >= 0) {
			return nil, errPattern
		}
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, errPattern
	}
	return re, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// --- expressions shared by JSON and space-delimited patterns ---

type tokenKind int

const (
	tEnd tokenKind = iota
	tLParen
	tRParen
	tAnd
	tOr
	tOp     // = != < <= > >=
	tString // "quoted"
	tRegex  // %regex%
	tWord   // anything else: a selector, a field name, a bare value, a keyword
)

type token struct {
	kind tokenKind
	text string
}

// wordStop are the characters that end a word.
const wordStop = "()=!<>&|\"%"

// lex splits the inside of a JSON or space-delimited pattern into tokens.
func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSpace(c):
			i++
		case c == '(':
			out, i = append(out, token{tLParen, "("}), i+1
		case c == ')':
			out, i = append(out, token{tRParen, ")"}), i+1
		case strings.HasPrefix(s[i:], "&&"):
			out, i = append(out, token{tAnd, "&&"}), i+2
		case strings.HasPrefix(s[i:], "||"):
			out, i = append(out, token{tOr, "||"}), i+2
		case strings.HasPrefix(s[i:], "!="), strings.HasPrefix(s[i:], "<="), strings.HasPrefix(s[i:], ">="):
			out, i = append(out, token{tOp, s[i : i+2]}), i+2
		case c == '=' || c == '<' || c == '>':
			out, i = append(out, token{tOp, s[i : i+1]}), i+1
		case c == '"':
			t, n, err := readQuoted(s[i:])
			if err != nil {
				return nil, err
			}
			out, i = append(out, token{tString, t}), i+n
		case c == '%':
			j := strings.IndexByte(s[i+1:], '%')
			if j < 0 {
				return nil, errPattern
			}
			out, i = append(out, token{tRegex, s[i+1 : i+1+j]}), i+j+2
		case strings.IndexByte(wordStop, c) >= 0:
			return nil, errPattern // a lone &, | or !
		default:
			j := i
			for j < len(s) && !isSpace(s[j]) && strings.IndexByte(wordStop, s[j]) < 0 {
				j++
			}
			out, i = append(out, token{tWord, s[i:j]}), j
		}
	}
	return out, nil
}

// node is a compiled condition. Its argument is what the pattern's names
// refer to: the decoded JSON event, or the fields of a space-delimited one.
type node func(subject any) bool

// parser is a recursive-descent parser of conditions:
//
//	or    = and { "||" and }
//	and   = unary { "&&" unary }
//	unary = "(" or ")" | cond
//	cond  = selector op value | selector IS (TRUE|FALSE|NULL) | selector NOT EXISTS   (JSON)
//	cond  = name op value                                                           (delimited)
type parser struct {
	toks []token
	i    int
	json bool
	// names collects the field names a delimited condition refers to.
	names []string
}

func (p *parser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{kind: tEnd}
}

func (p *parser) next() token {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

// parse parses the whole token list as one condition.
func (p *parser) parse() (node, error) {
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEnd {
		return nil, errPattern
	}
	return n, nil
}

func (p *parser) or() (node, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tOr {
		p.next()
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(v any) bool { return l(v) || right(v) }
	}
	return left, nil
}

func (p *parser) and() (node, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tAnd {
		p.next()
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(v any) bool { return l(v) && right(v) }
	}
	return left, nil
}

func (p *parser) unary() (node, error) {
	if p.peek().kind == tLParen {
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next().kind != tRParen {
			return nil, errPattern
		}
		return n, nil
	}
	return p.cond()
}

func (p *parser) cond() (node, error) {
	t := p.next()
	if t.kind != tWord {
		return nil, errPattern
	}
	if !p.json {
		return p.fieldCond(t.text)
	}
	path, err := parseSelector(t.text)
	if err != nil {
		return nil, err
	}
	switch op := p.next(); {
	case op.kind == tOp:
		lit, err := p.literal(op.text)
		if err != nil {
			return nil, err
		}
		return func(v any) bool {
			val, ok := path.resolve(v)
			return ok && compare(op.text, lit, jsonScalar(val))
		}, nil
	case op.kind == tWord && strings.EqualFold(op.text, "IS"):
		want := p.next()
		if want.kind != tWord {
			return nil, errPattern
		}
		var test func(any) bool
		switch strings.ToUpper(want.text) {
		case "TRUE":
			test = func(v any) bool { return v == true }
		case "FALSE":
			test = func(v any) bool { return v == false }
		case "NULL":
			test = func(v any) bool { return v == nil }
		default:
			return nil, errPattern
		}
		return func(v any) bool {
			val, ok := path.resolve(v)
			return ok && test(val)
		}, nil
	case op.kind == tWord && strings.EqualFold(op.text, "NOT"):
		if w := p.next(); w.kind != tWord || !strings.EqualFold(w.text, "EXISTS") {
			return nil, errPattern
		}
		return func(v any) bool {
			_, ok := path.resolve(v)
			return !ok
		}, nil
	}
	return nil, errPattern
}

// fieldCond parses "name op value" of a space-delimited pattern.
func (p *parser) fieldCond(name string) (node, error) {
	if !fieldName(name) {
		return nil, errPattern
	}
	op := p.next()
	if op.kind != tOp {
		return nil, errPattern
	}
	lit, err := p.literal(op.text)
	if err != nil {
		return nil, err
	}
	p.names = append(p.names, name)
	return func(v any) bool {
		tok, ok := v.(map[string]string)[name]
		return ok && compare(op.text, lit, textScalar(tok))
	}, nil
}

// fieldName reports whether s can name a field of a space-delimited
// pattern.
func fieldName(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' && r != '$' {
			return false
		}
	}
	return s != ""
}

// literal parses the value after a comparison operator. <, <=, > and >=
// need a number.
func (p *parser) literal(op string) (literal, error) {
	t := p.next()
	var l literal
	switch t.kind {
	case tString:
		l.text = t.text
	case tRegex:
		re, err := compileRegex(t.text)
		if err != nil {
			return l, err
		}
		l.re = re
	case tWord:
		if !bareValue(t.text) {
			return l, errPattern
		}
		l.text = t.text
		if numberRE.MatchString(t.text) {
			l.num, _ = strconv.ParseFloat(t.text, 64)
			l.isNum = true
		}
	default:
		return l, errPattern
	}
	if op != "=" && op != "!=" && !l.isNum {
		return l, errPattern
	}
	return l, nil
}

// numberRE is a number as filter patterns write it: an integer or decimal
// with an optional sign and exponent.
var numberRE = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)

// bareValue reports whether an unquoted value is allowed: letters,
// digits, the wildcard and the punctuation of numbers, addresses and
// paths. Others (@, $, \ ...) need quotes.
func bareValue(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-.*+:/", r) {
			return false
		}
	}
	return s != ""
}

// literal is the value a condition compares with.
type literal struct {
	text  string
	isNum bool // an unquoted number
	num   float64
	re    *regexp.Regexp
}

// scalar is the value a condition tests: a JSON value node or a field of
// a space-delimited event.
type scalar struct {
	text  string
	isNum bool
	num   float64
	// invalid marks what no comparison matches: JSON null, objects and
	// arrays ("The SELECTOR must point to a value node").
	invalid bool
}

func jsonScalar(v any) scalar {
	switch v := v.(type) {
	case string:
		return scalar{text: v}
	case json.Number:
		f, err := v.Float64()
		return scalar{text: v.String(), num: f, isNum: err == nil}
	case bool:
		return scalar{text: strconv.FormatBool(v)}
	}
	return scalar{invalid: true}
}

func textScalar(s string) scalar {
	f, err := strconv.ParseFloat(s, 64)
	return scalar{text: s, num: f, isNum: err == nil && numberRE.MatchString(s)}
}

// compare applies a comparison. = and != compare numbers as numbers and
// anything else as text, with wildcards or a regular expression; the
// ordering operators need a number on both sides.
func compare(op string, l literal, v scalar) bool {
	if v.invalid {
		return false
	}
	switch op {
	case "=", "!=":
		var eq bool
		switch {
		case l.re != nil:
			eq = l.re.MatchString(v.text)
		case l.isNum && v.isNum:
			eq = l.num == v.num
		default:
			eq = wildcard(l.text, v.text)
		}
		return eq == (op == "=")
	}
	if !v.isNum {
		return false
	}
	switch op {
	case "<":
		return v.num < l.num
	case "<=":
		return v.num <= l.num
	case ">":
		return v.num > l.num
	case ">=":
		return v.num >= l.num
	}
	return false
}

// wildcard matches s against a value that may start or end with *: "*Event"
// matches PutEvent, "Event*" EventId, "*html*" anything containing html and
// "*" anything; a * inside the value is literal, as AWS documents
// ("Ev*ent will only match the actual string Ev*ent").
func wildcard(pattern, s string) bool {
	if pattern == "*" {
		return true
	}
	lead, trail := strings.HasPrefix(pattern, "*"), strings.HasSuffix(pattern, "*")
	core := strings.TrimSuffix(strings.TrimPrefix(pattern, "*"), "*")
	switch {
	case lead && trail:
		return strings.Contains(s, core)
	case lead:
		return strings.HasSuffix(s, core)
	case trail:
		return strings.HasPrefix(s, core)
	}
	return s == pattern
}

// --- JSON patterns ---

// parseJSONPattern compiles the inside of { ... }.
func parseJSONPattern(s string) (func(string) bool, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, json: true}
	n, err := p.parse()
	if err != nil {
		return nil, err
	}
	return func(msg string) bool {
		v, ok := decodeJSON(msg)
		return ok && n(v)
	}, nil
}

// decodeJSON decodes a message that is a JSON object or array, keeping
// numbers exact.
func decodeJSON(msg string) (any, bool) {
	t := bytes.TrimSpace([]byte(msg))
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// step is one step of a selector: a property or an array index.
type step struct {
	key   string
	index int // -1 for a property
}

// selector is a parsed $.a.b[0].c.
type selector []step

// parseSelector parses a JSON selector: $ followed by .property and [index]
// steps, at least one.
func parseSelector(s string) (selector, error) {
	if !strings.HasPrefix(s, "$") || len(s) == 1 {
		return nil, errPattern
	}
	var out selector
	for i := 1; i < len(s); {
		switch s[i] {
		case '.':
			j := i + 1
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			key := s[i+1 : j]
			if key == "" || strings.ContainsAny(key, "]*") {
				return nil, errPattern
			}
			out, i = append(out, step{key: key, index: -1}), j
		case '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, errPattern
			}
			n, err := strconv.Atoi(s[i+1 : i+j])
			if err != nil || n < 0 || strings.Trim(s[i+1:i+j], "0123456789") != "" {
				return nil, errPattern
			}
			out, i = append(out, step{index: n}), i+j+1
		default:
			return nil, errPattern
		}
	}
	return out, nil
}

// resolve follows the selector from the root of a decoded event and
// reports whether it leads anywhere.
func (sel selector) resolve(root any) (any, bool) {
	v := root
	for _, st := range sel {
		switch node := v.(type) {
		case map[string]any:
			if st.index >= 0 {
				return nil, false
			}
			var ok bool
			if v, ok = node[st.key]; !ok {
				return nil, false
			}
		case []any:
			if st.index < 0 || st.index >= len(node) {
				return nil, false
			}
			v = node[st.index]
		default:
			return nil, false
		}
	}
	return v, true
}

// --- space-delimited patterns ---

// delimField is one field of a space-delimited pattern.
type delimField struct {
	name     string
	ellipsis bool
	cond     node // nil when the field only names its position
}

// maxDelimSteps bounds the search for a way to lay a pattern with several
// ellipses over a message, so that no pattern can make matching slow; a
// search that runs out does not match.
const maxDelimSteps = 10_000

// parseDelimited compiles the inside of [ ... ].
func parseDelimited(s string) (func(string) bool, error) {
	parts, err := splitFields(s)
	if err != nil {
		return nil, err
	}
	var fields []delimField
	names := map[string]bool{}
	var refs []string
	for _, part := range parts {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
			return nil, errPattern
		case part == "..." || part == "…":
			fields = append(fields, delimField{ellipsis: true})
			continue
		}
		toks, err := lex(part)
		if err != nil {
			return nil, err
		}
		if len(toks) == 1 && toks[0].kind == tWord {
			if !fieldName(toks[0].text) {
				return nil, errPattern
			}
			fields = append(fields, delimField{name: toks[0].text})
			names[toks[0].text] = true
			continue
		}
		p := &parser{toks: toks}
		n, err := p.parse()
		if err != nil {
			return nil, err
		}
		fields = append(fields, delimField{name: p.names[0], cond: n})
		names[p.names[0]] = true
		refs = append(refs, p.names...)
	}
	for _, r := range refs {
		if !names[r] {
			return nil, errPattern // a condition on a field the pattern does not have
		}
	}
	return func(msg string) bool { return matchDelimited(fields, eventFields(msg)) }, nil
}

// splitFields splits a space-delimited pattern at the commas outside
// quotes and regular expressions.
func splitFields(s string) ([]string, error) {
	var out []string
	start, quote, regex := 0, false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote && c == '\\':
			i++
		case c == '"' && !regex:
			quote = !quote
		case c == '%' && !quote:
			regex = !regex
		case c == ',' && !quote && !regex:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if quote || regex {
		return nil, errPattern
	}
	return append(out, s[start:]), nil
}

// eventFields splits a message into the fields of a space-delimited event:
// runs of characters between spaces, where text between double quotes or
// square brackets is one field (without its quotes or brackets).
func eventFields(msg string) []string {
	var out []string
	for i := 0; i < len(msg); {
		c := msg[i]
		if isSpace(c) {
			i++
			continue
		}
		end := byte(0)
		switch c {
		case '"':
			end = '"'
		case '[':
			end = ']'
		}
		if end != 0 {
			j := strings.IndexByte(msg[i+1:], end)
			if j < 0 {
				out = append(out, msg[i+1:])
				break
			}
			out = append(out, msg[i+1:i+1+j])
			i += j + 2
			continue
		}
		j := i
		for j < len(msg) && !isSpace(msg[j]) {
			j++
		}
		out = append(out, msg[i:j])
		i = j
	}
	return out
}

// matchDelimited reports whether the event's fields can be laid over the
// pattern's, each ellipsis taking any number of them, so that every
// condition holds.
func matchDelimited(fields []delimField, toks []string) bool {
	bound := map[string]string{}
	steps := 0
	var try func(fi, ti int) bool
	try = func(fi, ti int) bool {
		if steps++; steps > maxDelimSteps {
			return false
		}
		if fi == len(fields) {
			if ti != len(toks) {
				return false
			}
			for _, f := range fields {
				if f.cond != nil && !f.cond(bound) {
					return false
				}
			}
			return true
		}
		f := fields[fi]
		if f.ellipsis {
			for k := ti; k <= len(toks); k++ {
				if try(fi+1, k) {
					return true
				}
			}
			return false
		}
		if ti == len(toks) {
			return false
		}
		bound[f.name] = toks[ti]
		return try(fi+1, ti+1)
	}
	return try(0, 0)
}
