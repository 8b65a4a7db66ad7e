// Package alarmrule parses and evaluates the AlarmRule of a CloudWatch
// composite alarm (PutCompositeAlarm), and words a composite's state reason.
//
// The syntax is the API reference's (PutCompositeAlarm, AlarmRule) and the
// User Guide's "Composite alarms": the functions ALARM(x), OK(x) and
// INSUFFICIENT_DATA(x), true when alarm x (a name or an ARN, in double
// quotes or not) is in that state; TRUE and FALSE; the operators AND, OR
// and NOT; parentheses; and AT_LEAST(M, STATE, (x, y, ...)), added in
// November 2025, true when at least M of the listed alarms (M a count, or a
// percentage such as 50%) are in STATE, which may be negated (NOT OK). A
// rule is at most 10240 characters, names at most 100 alarms and has at most
// 500 elements (child alarms, TRUE or FALSE, and parentheses).
//
// Where the documentation is silent the choices are these, each a guess
// until checked against AWS: keywords are upper case only; NOT binds
// tighter than AND, and AND tighter than OR; an unquoted name runs up to
// white space or a parenthesis (AWS splits "ALARM(my alarm)" at the space,
// as its error "Unsupported token 'Oldest' at char 67, must be: ')'"
// shows), and inside AT_LEAST's list also up to a comma; inside double
// quotes, \" and \\ stand for " and \.
package alarmrule

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of an AlarmRule, from the PutCompositeAlarm API reference.
const (
	// MaxLength is the longest AlarmRule, in characters.
	MaxLength = 10240
	// MaxAlarms is how many different alarms one rule can name.
	MaxAlarms = 100
	// MaxElements is how many elements (child alarms, TRUE or FALSE, and
	// parentheses) one rule can have.
	MaxElements = 500
)

// Alarm states, as the rule's functions name them.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// Rule is a parsed AlarmRule.
type Rule struct {
	root   *node
	alarms []string
}

// ParseError is an AlarmRule that PutCompositeAlarm refuses. Its Error is
// the message of AWS's ValidationError, e.g. "Error in AlarmRule
// [Unsupported token ')' at char 1]".
type ParseError struct {
	// Pos is the 0-based character offset of the offending token, or -1
	// when the rule as a whole is at fault.
	Pos int
	// Message is the ValidationError message.
	Message string
}

// Error returns the ValidationError message.
func (e *ParseError) Error() string { return e.Message }

type kind uint8

const (
	kTrue kind = iota
	kFalse
	kState   // state(ref)
	kNot     // NOT kids[0]
	kAnd     // kids[0] AND kids[1] AND ...
	kOr      // kids[0] OR kids[1] OR ...
	kAtLeast // AT_LEAST(threshold, [NOT] state, (refs))
	kGroup   // ( kids[0] ), kept so String renders what was written
)

type node struct {
	kind      kind
	state     string   // kState, kAtLeast
	negate    bool     // kAtLeast: NOT state
	ref       string   // kState
	refs      []string // kAtLeast
	threshold int      // kAtLeast
	percent   bool     // kAtLeast: threshold is a percentage
	kids      []*node
}

// Parse parses rule. Its error is a *ParseError whose message is AWS's.
func Parse(rule string) (*Rule, error) {
	n := utf8.RuneCountInString(rule)
	switch {
	case n < 1:
		return nil, &ParseError{Pos: -1, Message: constraint(rule, "Member must have length greater than or equal to 1")}
	case n > MaxLength:
		return nil, &ParseError{Pos: -1, Message: constraint(rule, "Member must have length less than or equal to "+strconv.Itoa(MaxLength))}
	}
	p := &parser{src: []rune(rule), seen: map[string]bool{}}
	root, err := p.parse()
	if err != nil {
		return nil, err
	}
	// No AWS wording of these two limits was found; these are guesses in
	// the form of AWS's other AlarmRule errors.
	if len(p.alarms) > MaxAlarms {
		return nil, &ParseError{Pos: -1, Message: fmt.Sprintf("Error in AlarmRule [The rule names %d alarms, more than the maximum of %d]", len(p.alarms), MaxAlarms)}
	}
	if p.elements > MaxElements {
		return nil, &ParseError{Pos: -1, Message: fmt.Sprintf("Error in AlarmRule [The rule has %d elements, more than the maximum of %d]", p.elements, MaxElements)}
	}
	return &Rule{root: root, alarms: p.alarms}, nil
}

// constraint is the model-validation message for a bad AlarmRule length.
func constraint(rule, what string) string {
	return "1 validation error detected: Value '" + rule + "' at 'alarmRule' failed to satisfy constraint: " + what
}

// Alarms lists the alarms the rule names, as written (a name or an ARN,
// without quotes), each once, in order of first appearance.
func (r *Rule) Alarms() []string { return slices.Clone(r.alarms) }

// Eval reports whether the rule is true. state gives a named alarm's state
// ("OK", "ALARM" or "INSUFFICIENT_DATA") and whether it exists; an alarm
// that does not exist is in no state, so ALARM(x) is false and NOT ALARM(x)
// true.
func (r *Rule) Eval(state func(ref string) (string, bool)) bool {
	v, _ := r.root.eval(state)
	return v
}

// Triggering lists the alarms whose states decided the rule's value, each
// once, in rule order: for a true OR the true branches, for a false AND the
// false ones, otherwise every branch. A composite's reason data names these
// (triggeringAlarms): a real composite "A OR B" that went to ALARM on A
// named only A; one that went to OK named both. Alarms that do not exist
// are left out.
func (r *Rule) Triggering(state func(ref string) (string, bool)) []string {
	_, refs := r.root.eval(state)
	var out []string
	seen := map[string]bool{}
	for _, ref := range refs {
		if _, ok := state(ref); ok && !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	return out
}

// eval returns the node's value and the references that decided it.
func (n *node) eval(state func(string) (string, bool)) (bool, []string) {
	switch n.kind {
	case kTrue:
		return true, nil
	case kFalse:
		return false, nil
	case kState:
		s, ok := state(n.ref)
		return ok && s == n.state, []string{n.ref}
	case kNot:
		v, refs := n.kids[0].eval(state)
		return !v, refs
	case kGroup:
		return n.kids[0].eval(state)
	case kAnd, kOr:
		// AND is decided by its false operands when there is one, OR by
		// its true ones; otherwise every operand counts.
		decisive := n.kind == kOr
		var all, deciding []string
		found := false
		for _, k := range n.kids {
			v, refs := k.eval(state)
			all = append(all, refs...)
			if v == decisive {
				found = true
				deciding = append(deciding, refs...)
			}
		}
		if found {
			return decisive, deciding
		}
		return !decisive, all
	case kAtLeast:
		var in, out []string
		for _, ref := range n.refs {
			s, ok := state(ref)
			if (ok && s == n.state) != n.negate {
				in = append(in, ref)
			} else {
				out = append(out, ref)
			}
		}
		var v bool
		if n.percent {
			v = len(in)*100 >= n.threshold*len(n.refs)
		} else {
			v = len(in) >= n.threshold
		}
		if v {
			return true, in
		}
		return false, out
	}
	return false, nil
}

// String renders the rule in a canonical form that Parse reads back to the
// same rule: names quoted, keywords upper case, single spaces.
func (r *Rule) String() string {
	var b strings.Builder
	r.root.write(&b)
	return b.String()
}

func (n *node) write(b *strings.Builder) {
	switch n.kind {
	case kTrue:
		b.WriteString("TRUE")
	case kFalse:
		b.WriteString("FALSE")
	case kState:
		b.WriteString(n.state + "(")
		writeRef(b, n.ref)
		b.WriteString(")")
	case kNot:
		b.WriteString("NOT ")
		n.kids[0].write(b)
	case kGroup:
		b.WriteString("(")
		n.kids[0].write(b)
		b.WriteString(")")
	case kAnd, kOr:
		op := " AND "
		if n.kind == kOr {
			op = " OR "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(op)
			}
			k.write(b)
		}
	case kAtLeast:
		b.WriteString("AT_LEAST(" + strconv.Itoa(n.threshold))
		if n.percent {
			b.WriteString("%")
		}
		b.WriteString(", ")
		if n.negate {
			b.WriteString("NOT ")
		}
		b.WriteString(n.state + ", (")
		for i, ref := range n.refs {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRef(b, ref)
		}
		b.WriteString("))")
	}
}

func writeRef(b *strings.Builder, ref string) {
	b.WriteByte('"')
	for _, r := range ref {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
}

// parser is a recursive-descent parser over the rule's characters.
type parser struct {
	src      []rune
	pos      int
	alarms   []string
	seen     map[string]bool
	elements int
}

func (p *parser) parse() (*node, error) {
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.src) {
		return nil, p.unexpected("")
	}
	return n, nil
}

func (p *parser) space() {
	for p.pos < len(p.src) && unicode.IsSpace(p.src[p.pos]) {
		p.pos++
	}
}

// stop reports whether r ends a word.
func stop(r rune) bool {
	return unicode.IsSpace(r) || r == '(' || r == ')' || r == ',' || r == '"'
}

// token returns the token at the current position (after white space)
// without consuming it: a punctuation character, a quoted string as
// written, a word, or "" at the end.
func (p *parser) token() string {
	p.space()
	if p.pos >= len(p.src) {
		return ""
	}
	switch c := p.src[p.pos]; c {
	case '(', ')', ',':
		return string(c)
	case '"':
		end := p.pos + 1
		for end < len(p.src) && p.src[end] != '"' {
			if p.src[end] == '\\' && end+1 < len(p.src) {
				end++
			}
			end++
		}
		return string(p.src[p.pos:min(end+1, len(p.src))])
	}
	end := p.pos
	for end < len(p.src) && !stop(p.src[end]) {
		end++
	}
	return string(p.src[p.pos:end])
}

// accept consumes the token if it is want.
func (p *parser) accept(want string) bool {
	if p.token() != want {
		return false
	}
	p.pos += utf8.RuneCountInString(want)
	return true
}

// expect consumes want or fails the way AWS does when a specific token
// must come next.
func (p *parser) expect(want string) error {
	if p.accept(want) {
		return nil
	}
	return p.unexpected("'" + want + "'")
}

// unexpected is AWS's error for the token at the current position; must,
// if set, names what had to come instead. No AWS wording for the end of
// the rule was found; it is shown as the token '<EOF>'.
func (p *parser) unexpected(must string) error {
	tok := p.token()
	if tok == "" {
		tok = "<EOF>"
	}
	msg := fmt.Sprintf("Error in AlarmRule [Unsupported token '%s' at char %d", tok, p.pos)
	if must != "" {
		msg += ", must be: " + must
	}
	return &ParseError{Pos: p.pos, Message: msg + "]"}
}

func (p *parser) or() (*node, error) {
	return p.binary(kOr, "OR", p.and)
}

func (p *parser) and() (*node, error) {
	return p.binary(kAnd, "AND", p.unary)
}

func (p *parser) binary(k kind, op string, operand func() (*node, error)) (*node, error) {
	first, err := operand()
	if err != nil {
		return nil, err
	}
	kids := []*node{first}
	for p.accept(op) {
		next, err := operand()
		if err != nil {
			return nil, err
		}
		kids = append(kids, next)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &node{kind: k, kids: kids}, nil
}

func (p *parser) unary() (*node, error) {
	if p.accept("NOT") {
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &node{kind: kNot, kids: []*node{n}}, nil
	}
	return p.primary()
}

func (p *parser) primary() (*node, error) {
	switch tok := p.token(); tok {
	case "(":
		p.pos++
		p.elements++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return &node{kind: kGroup, kids: []*node{n}}, nil
	case "TRUE", "FALSE":
		p.accept(tok)
		p.elements++
		if tok == "TRUE" {
			return &node{kind: kTrue}, nil
		}
		return &node{kind: kFalse}, nil
	case StateAlarm, StateOK, StateInsufficientData:
		p.accept(tok)
		if err := p.expect("("); err != nil {
			return nil, err
		}
		ref, err := p.ref(false)
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		p.elements++
		return &node{kind: kState, state: tok, ref: ref}, nil
	case "AT_LEAST":
		p.accept(tok)
		return p.atLeast()
	}
	return nil, p.unexpected("")
}

// atLeast parses the rest of AT_LEAST(M, [NOT] STATE, (ref, ...)).
func (p *parser) atLeast() (*node, error) {
	n := &node{kind: kAtLeast}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	if err := p.threshold(n); err != nil {
		return nil, err
	}
	if err := p.expect(","); err != nil {
		return nil, err
	}
	n.negate = p.accept("NOT")
	switch tok := p.token(); tok {
	case StateAlarm, StateOK, StateInsufficientData:
		p.accept(tok)
		n.state = tok
	default:
		return nil, p.unexpected("ALARM, OK, or INSUFFICIENT_DATA")
	}
	if err := p.expect(","); err != nil {
		return nil, err
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	for {
		ref, err := p.ref(true)
		if err != nil {
			return nil, err
		}
		n.refs = append(n.refs, ref)
		p.elements++
		if !p.accept(",") {
			break
		}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	return n, nil
}

// threshold parses AT_LEAST's M: a count ("2") or a percentage ("50%"),
// possibly in double quotes. A count must be at least 1 and a percentage
// from 1 to 100 (the bounds the CDK enforces). A count larger than the list
// is accepted and never met: no AWS error for it was found.
func (p *parser) threshold(n *node) error {
	tok := p.token()
	text := tok
	if strings.HasPrefix(text, `"`) && strings.HasSuffix(text, `"`) && len(text) >= 2 {
		text = text[1 : len(text)-1]
	}
	digits, percent := strings.CutSuffix(text, "%")
	v, err := strconv.Atoi(digits)
	if err != nil || digits == "" || digits[0] == '+' || digits[0] == '-' || v < 1 || (percent && v > 100) {
		return p.unexpected("")
	}
	p.pos += utf8.RuneCountInString(tok)
	n.threshold, n.percent = v, percent
	return nil
}

// ref parses an alarm name or ARN, quoted or not, and records it. In a
// list (AT_LEAST) an unquoted name also ends at a comma.
func (p *parser) ref(list bool) (string, error) {
	p.space()
	start := p.pos
	var ref string
	if p.pos < len(p.src) && p.src[p.pos] == '"' {
		var b strings.Builder
		i := p.pos + 1
		for ; i < len(p.src) && p.src[i] != '"'; i++ {
			if p.src[i] == '\\' && i+1 < len(p.src) && (p.src[i+1] == '"' || p.src[i+1] == '\\') {
				i++
			}
			b.WriteRune(p.src[i])
		}
		if i >= len(p.src) || b.Len() == 0 {
			return "", p.unexpected("")
		}
		p.pos = i + 1
		ref = b.String()
	} else {
		i := p.pos
		for i < len(p.src) && !unicode.IsSpace(p.src[i]) && p.src[i] != ')' && p.src[i] != '(' && p.src[i] != '"' && (!list || p.src[i] != ',') {
			i++
		}
		if i == start {
			return "", p.unexpected("")
		}
		ref = string(p.src[start:i])
		p.pos = i
	}
	if !p.seen[ref] {
		p.seen[ref] = true
		p.alarms = append(p.alarms, ref)
	}
	return ref, nil
}
