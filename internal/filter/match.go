package filter

import (
	"strings"
	"unicode/utf8"
)

// Match reports whether value matches the EC2 filter pattern: '*' matches
// any run of characters (including none), '?' matches exactly one
// character, and '\' makes the character after it literal, so `\*`, `\?`
// and `\\` match '*', '?' and '\' ("You can escape special characters using
// a backslash before the character", EC2 API reference, Filter). A
// backslash at the end of the pattern matches itself. Matching is
// case-sensitive and whole-value.
//
// Match does not backtrack across '*': each segment between stars takes its
// leftmost fit, which is always safe for this pattern language, so the time
// is at most proportional to len(pattern)×len(value), and linear in
// len(value) when segments hold no '?'.
func Match(pattern, value string) bool {
	return compile(pattern).match(value)
}

// token is one step of a segment: a literal run or a single '?'.
type token struct {
	lit string
	one bool // '?': any one character
}

// glob is a compiled pattern: segments separated by runs of '*'.
type glob struct {
	segs [][]token
}

func compile(p string) glob {
	var (
		g   glob
		seg []token
		lit strings.Builder
	)
	flush := func() {
		if lit.Len() > 0 {
			seg = append(seg, token{lit: lit.String()})
			lit.Reset()
		}
	}
	starred := false // the previous character was an unescaped '*'
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '*':
			i++
			if starred {
				continue
			}
			flush()
			g.segs = append(g.segs, seg)
			seg = nil
			starred = true
			continue
		case c == '?':
			flush()
			seg = append(seg, token{one: true})
			i++
		case c == '\\' && i+1 < len(p):
			_, w := utf8.DecodeRuneInString(p[i+1:])
			lit.WriteString(p[i+1 : i+1+w])
			i += 1 + w
		default:
			_, w := utf8.DecodeRuneInString(p[i:])
			lit.WriteString(p[i : i+w])
			i += w
		}
		starred = false
	}
	flush()
	g.segs = append(g.segs, seg)
	return g
}

func (g glob) match(s string) bool {
	if len(g.segs) == 1 {
		n, ok := prefix(g.segs[0], s)
		return ok && n == len(s)
	}
	n, ok := prefix(g.segs[0], s)
	if !ok {
		return false
	}
	s = s[n:]
	end, ok := suffix(g.segs[len(g.segs)-1], s)
	if !ok {
		return false
	}
	s = s[:end]
	for _, seg := range g.segs[1 : len(g.segs)-1] {
		i, n, ok := find(seg, s)
		if !ok {
			return false
		}
		s = s[i+n:]
	}
	return true
}

// prefix matches seg at the start of s and returns the bytes it covers.
func prefix(seg []token, s string) (int, bool) {
	n := 0
	for _, t := range seg {
		if t.one {
			if n == len(s) {
				return 0, false
			}
			_, w := utf8.DecodeRuneInString(s[n:])
			n += w
			continue
		}
		if !strings.HasPrefix(s[n:], t.lit) {
			return 0, false
		}
		n += len(t.lit)
	}
	return n, true
}

// suffix matches seg at the end of s and returns where the match starts.
func suffix(seg []token, s string) (int, bool) {
	end := len(s)
	for i := len(seg) - 1; i >= 0; i-- {
		t := seg[i]
		if t.one {
			if end == 0 {
				return 0, false
			}
			_, w := utf8.DecodeLastRuneInString(s[:end])
			end -= w
			continue
		}
		if !strings.HasSuffix(s[:end], t.lit) {
			return 0, false
		}
		end -= len(t.lit)
	}
	return end, true
}

// find returns the leftmost match of seg (which is not empty) in s: its
// start and length.
func find(seg []token, s string) (start, n int, ok bool) {
	lead := seg[0].lit // "" if seg starts with '?'
	for i := 0; i <= len(s); {
		if lead != "" {
			j := strings.Index(s[i:], lead)
			if j < 0 {
				return 0, 0, false
			}
			i += j
		}
		if n, ok := prefix(seg, s[i:]); ok {
			return i, n, true
		}
		if i == len(s) {
			break
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return 0, 0, false
}
