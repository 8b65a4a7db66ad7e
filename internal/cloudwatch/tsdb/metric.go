package tsdb

import (
	"cmp"
	"slices"
)

// Dimension is one name/value pair of a metric's identity, as in the
// CloudWatch Dimension shape.
type Dimension struct{ Name, Value string }

// Metric identifies a series: CloudWatch treats every distinct combination
// of namespace, metric name and dimensions as its own metric. Dimensions are
// kept sorted by Name so that the same identity always has the same Key
// whatever order a client listed them in; NewMetric sorts a copy.
type Metric struct {
	Namespace, Name string
	Dimensions      []Dimension
}

// NewMetric returns a Metric with a sorted copy of dims, so the caller may
// reuse its slice and two requests naming the dimensions in different
// orders address the same series.
func NewMetric(namespace, name string, dims []Dimension) Metric {
	d := slices.Clone(dims)
	slices.SortStableFunc(d, cmpDimension)
	return Metric{Namespace: namespace, Name: name, Dimensions: d}
}

// cmpDimension orders dimensions by name, then value, the order Key uses.
func cmpDimension(a, b Dimension) int {
	if c := cmp.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return cmp.Compare(a.Value, b.Value)
}

// Key returns a canonical string, unique per identity, that sorts by
// namespace, then name, then dimensions. It is the map key of the store and
// the order List returns, so it doubles as a stable pagination token.
func (m Metric) Key() string {
	return string(appendKey(nil, m))
}

// clone returns m with its own copy of the dimensions, so a stored metric
// never aliases a caller's slice.
func (m Metric) clone() Metric {
	m.Dimensions = slices.Clone(m.Dimensions)
	return m
}

// A key is the components with a zero byte and a marker after each: zero,1
// ends a component, zero,2 separates a dimension's name from its value, and
// zero,0xff stands for a zero byte inside a component. Every zero byte in a
// key is thus followed by a byte saying what it is, so keys are unique per
// identity; and since the markers sort below every other byte, keys sort
// component by component.
const (
	keyEnd   = 0x01
	keyValue = 0x02
	keyZero  = 0xff
)

// appendKey appends m's key to buf. Put builds keys in a stack buffer with
// it so the hot path does not allocate.
func appendKey(buf []byte, m Metric) []byte {
	buf = appendKeyPart(buf, m.Namespace)
	buf = append(buf, 0, keyEnd)
	buf = appendKeyPart(buf, m.Name)
	buf = append(buf, 0, keyEnd)
	dims := m.Dimensions
	if !slices.IsSortedFunc(dims, cmpDimension) {
		dims = slices.Clone(dims)
		slices.SortStableFunc(dims, cmpDimension)
	}
	for _, d := range dims {
		buf = appendKeyPart(buf, d.Name)
		buf = append(buf, 0, keyValue)
		buf = appendKeyPart(buf, d.Value)
		buf = append(buf, 0, keyEnd)
	}
	return buf
}

// appendKeyPart appends s, escaping zero bytes.
func appendKeyPart(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return appendEscaped(buf, s)
		}
	}
	return append(buf, s...)
}

// appendEscaped is the slow path of appendKeyPart, for the rare string
// holding a zero byte.
func appendEscaped(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			buf = append(buf, 0, keyZero)
		} else {
			buf = append(buf, s[i])
		}
	}
	return buf
}
