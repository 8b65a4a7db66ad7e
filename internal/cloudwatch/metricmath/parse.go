package metricmath

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of an expression, so that a hostile one
// cannot exhaust the stack. CloudWatch caps an Expression at 2,048
// characters; real ones nest a handful of levels.
const maxDepth = 100

// errSyntax is CloudWatch's message for an expression it cannot parse.
func errSyntax() *Error { return &Error{Msg: "Invalid syntax"} }

type nodeKind uint8

const (
	nNum     nodeKind = iota // a number literal
	nStr                     // a string literal: METRICS("errors")
	nRef                     // a query Id
	nKeyword                 // a bare upper-case word as an argument: REPEAT, DESC, AVG
	nArray                   // [a, b, ...]
	nNeg                     // unary minus
	nNot                     // NOT
	nBinary                  // an infix operator
	nCall                    // a function call
)

// node is one node of a parsed expression.
type node struct {
	kind nodeKind
	num  float64
	// text is the string, Id, keyword, operator or function name.
	text string
	// args are the operands, elements or arguments.
	args []*node
}

func (n *node) walk(f func(*node)) {
	f(n)
	for _, a := range n.args {
		a.walk(f)
	}
}

func (n *node) String() string {
	switch n.kind {
	case nNum:
		return strconv.FormatFloat(n.num, 'g', -1, 64)
	case nStr:
		return quote(n.text)
	case nRef, nKeyword:
		return n.text
	case nArray:
		return "[" + joinNodes(n.args) + "]"
	case nNeg:
		return "(-" + n.args[0].String() + ")"
	case nNot:
		return "(NOT " + n.args[0].String() + ")"
	case nBinary:
		return "(" + n.args[0].String() + " " + n.text + " " + n.args[1].String() + ")"
	case nCall:
		return n.text + "(" + joinNodes(n.args) + ")"
	}
	return "?"
}

// quote writes a string literal the lexer reads back as s. The lexer has no
// escapes, so it picks a quote s does not contain; one always exists, since
// s was itself read between quotes of one kind.
func quote(s string) string {
	switch {
	case !strings.Contains(s, `"`):
		return `"` + s + `"`
	case !strings.Contains(s, "'"):
		return "'" + s + "'"
	}
	return "“" + s + "”"
}

func joinNodes(ns []*node) string {
	parts := make([]string, len(ns))
	for i, a := range ns {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokNum
	tokStr
	tokName // a word: an Id (lower-case first) or a function, keyword or operator word
	tokOp
	tokLParen
	tokRParen
	tokLBrack
	tokRBrack
	tokComma
)

type token struct {
	kind tokKind
	text string
	num  float64
}

// operators are the symbolic operators, longest first so that "<=" is not
// read as "<" then "=".
var operators = []string{"==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "^"}

func lex(src string) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			j := i
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			if j < len(src) && src[j] == '.' {
				j++
				for j < len(src) && isDigit(src[j]) {
					j++
				}
			}
			// An exponent, as in 1e-36, only if digits follow it.
			if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
				k := j + 1
				if k < len(src) && (src[k] == '+' || src[k] == '-') {
					k++
				}
				if k < len(src) && isDigit(src[k]) {
					for k < len(src) && isDigit(src[k]) {
						k++
					}
					j = k
				}
			}
			v, err := strconv.ParseFloat(src[i:j], 64)
			if err != nil || math.IsInf(v, 0) {
				return nil, errSyntax()
			}
			toks = append(toks, token{kind: tokNum, text: src[i:j], num: v})
			i = j
		case isLetter(c) || c == '_':
			j := i
			for j < len(src) && (isLetter(src[j]) || isDigit(src[j]) || src[j] == '_') {
				j++
			}
			toks = append(toks, token{kind: tokName, text: src[i:j]})
			i = j
		case c == '"' || c == '\'':
			end := strings.IndexByte(src[i+1:], c)
			if end < 0 {
				return nil, errSyntax()
			}
			toks = append(toks, token{kind: tokStr, text: src[i+1 : i+1+end]})
			i += end + 2
		case strings.HasPrefix(src[i:], "“"):
			// The guide's own example, SUM([METRICS(“4xx”), METRICS(“5xx”)]),
			// uses typographic quotes; accept what it shows.
			rest := src[i+len("“"):]
			end := strings.Index(rest, "”")
			if end < 0 {
				return nil, errSyntax()
			}
			toks = append(toks, token{kind: tokStr, text: rest[:end]})
			i += len("“") + end + len("”")
		default:
			kind := tokEOF
			text := ""
			switch c {
			case '(':
				kind, text = tokLParen, "("
			case ')':
				kind, text = tokRParen, ")"
			case '[':
				kind, text = tokLBrack, "["
			case ']':
				kind, text = tokRBrack, "]"
			case ',':
				kind, text = tokComma, ","
			default:
				for _, op := range operators {
					if strings.HasPrefix(src[i:], op) {
						kind, text = tokOp, op
						break
					}
				}
			}
			if kind == tokEOF {
				return nil, errSyntax()
			}
			toks = append(toks, token{kind: kind, text: text})
			i += len(text)
		}
	}
	return append(toks, token{kind: tokEOF}), nil
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isUpper(c byte) bool  { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool  { return 'a' <= c && c <= 'z' }

// parser is a recursive-descent parser over the grammar, loosest first:
//
//	or      = and { ("OR" | "||") and }
//	and     = not { ("AND" | "&&") not }
//	not     = "NOT" not | compare
//	compare = sum { ("==" | "!=" | "<=" | ">=" | "<" | ">") sum }
//	sum     = product { ("+" | "-") product }
//	product = unary { ("*" | "/") unary }
//	unary   = "-" unary | power
//	power   = primary [ "^" unary ]
//	primary = number | id | "(" or ")" | "[" or { "," or } "]" | NAME "(" [ arg { "," arg } ] ")"
//	arg     = string | KEYWORD | or
//
// so ^ is right-associative and binds tighter than unary minus (-2^2 is
// -4), and NOT m1 > 5 is NOT (m1 > 5). The guide gives no precedence
// table; this is the usual one. NOT is not in the guide's operator table
// either; it is accepted as the complement of AND and OR.
type parser struct {
	toks  []token
	pos   int
	depth int
}

func parse(src string) (*node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tokEOF {
		return nil, errSyntax()
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekAt(k int) token {
	if p.pos+k < len(p.toks) {
		return p.toks[p.pos+k]
	}
	return token{kind: tokEOF}
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

// isWord reports whether the next token is the operator word w.
func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tokName && t.text == w
}

func (p *parser) isOp(ops ...string) (string, bool) {
	t := p.peek()
	if t.kind != tokOp {
		return "", false
	}
	for _, op := range ops {
		if t.text == op {
			return op, true
		}
	}
	return "", false
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return errSyntax()
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func binary(op string, l, r *node) *node {
	return &node{kind: nBinary, text: op, args: []*node{l, r}}
}

func (p *parser) or() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for {
		if _, ok := p.isOp("||"); !ok && !p.isWord("OR") {
			return l, nil
		}
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = binary("OR", l, r)
	}
}

func (p *parser) and() (*node, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for {
		if _, ok := p.isOp("&&"); !ok && !p.isWord("AND") {
			return l, nil
		}
		p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = binary("AND", l, r)
	}
}

func (p *parser) not() (*node, error) {
	if !p.isWord("NOT") {
		return p.compare()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.next()
	x, err := p.not()
	if err != nil {
		return nil, err
	}
	return &node{kind: nNot, args: []*node{x}}, nil
}

func (p *parser) compare() (*node, error) {
	l, err := p.sum()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.isOp("==", "!=", "<=", ">=", "<", ">")
		if !ok {
			return l, nil
		}
		p.next()
		r, err := p.sum()
		if err != nil {
			return nil, err
		}
		l = binary(op, l, r)
	}
}

func (p *parser) sum() (*node, error) {
	l, err := p.product()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.isOp("+", "-")
		if !ok {
			return l, nil
		}
		p.next()
		r, err := p.product()
		if err != nil {
			return nil, err
		}
		l = binary(op, l, r)
	}
}

func (p *parser) product() (*node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.isOp("*", "/")
		if !ok {
			return l, nil
		}
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = binary(op, l, r)
	}
}

func (p *parser) unary() (*node, error) {
	if _, ok := p.isOp("-"); ok {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &node{kind: nNeg, args: []*node{x}}, nil
	}
	return p.power()
}

func (p *parser) power() (*node, error) {
	base, err := p.primary()
	if err != nil {
		return nil, err
	}
	if _, ok := p.isOp("^"); !ok {
		return base, nil
	}
	p.next()
	exp, err := p.unary()
	if err != nil {
		return nil, err
	}
	return binary("^", base, exp), nil
}

func (p *parser) primary() (*node, error) {
	t := p.next()
	switch t.kind {
	case tokNum:
		return &node{kind: nNum, num: t.num}, nil
	case tokLParen:
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next().kind != tokRParen {
			return nil, errSyntax()
		}
		return x, nil
	case tokLBrack:
		arr := &node{kind: nArray}
		for {
			x, err := p.or()
			if err != nil {
				return nil, err
			}
			arr.args = append(arr.args, x)
			switch p.next().kind {
			case tokComma:
				continue
			case tokRBrack:
				return arr, nil
			default:
				return nil, errSyntax()
			}
		}
	case tokName:
		if p.peek().kind == tokLParen {
			return p.call(t.text)
		}
		// Ids "must start with a lowercase letter"; function names and
		// keywords are upper case, and a keyword stands alone only as an
		// argument (see arg).
		if isLower(t.text[0]) {
			return &node{kind: nRef, text: t.text}, nil
		}
	}
	return nil, errSyntax()
}

func (p *parser) call(name string) (*node, error) {
	switch name {
	case "AND", "OR", "NOT":
		return nil, errSyntax()
	}
	if _, ok := functions[name]; !ok {
		if unsupportedFunctions[name] {
			return nil, &Error{Msg: fmt.Sprintf("Function '%s' is not supported", name)}
		}
		return nil, &Error{Msg: fmt.Sprintf("Function '%s' not found", name)}
	}
	p.next() // (
	call := &node{kind: nCall, text: name}
	if p.peek().kind == tokRParen {
		p.next()
		return call, nil
	}
	for {
		a, err := p.arg()
		if err != nil {
			return nil, err
		}
		call.args = append(call.args, a)
		switch p.next().kind {
		case tokComma:
			continue
		case tokRParen:
			return call, nil
		default:
			return nil, errSyntax()
		}
	}
}

func (p *parser) arg() (*node, error) {
	t := p.peek()
	end := p.peekAt(1).kind
	atEnd := end == tokComma || end == tokRParen
	switch {
	case t.kind == tokStr && atEnd:
		p.next()
		return &node{kind: nStr, text: t.text}, nil
	case t.kind == tokName && isUpper(t.text[0]) && atEnd:
		p.next()
		return &node{kind: nKeyword, text: t.text}, nil
	}
	return p.or()
}
