package tsdb

import (
	"math"
	"slices"
)

// sketch is the distribution behind a datapoint's or a bucket's
// percentile-family statistics. CloudWatch needs the raw values to compute
// percentiles (a statistic set is not enough), and those values must
// survive aggregation into a period and roll-up to coarser resolutions, so
// the sketch is mergeable.
//
// It keeps exact (value, weight) pairs while there are few distinct values,
// which makes the small sets of tests and low-traffic metrics exact; past
// exactMax it switches to bins 1/64 of an octave wide, each represented by
// its midpoint, so every value is reported within binRelErr of itself and
// the size is bounded by the range of values, not their number (about 64
// bins per doubling).
//
// A nil *sketch means "no distribution"; whether that is a point mass or
// unavailable is decided by the owner (see point).
type sketch struct {
	e      []wv // sorted by v, each v distinct
	binned bool // e holds bin midpoints, not exact values
}

// wv is a value and how many times it occurred (CloudWatch Counts may be
// fractional).
type wv struct{ v, w float64 }

const (
	// exactMax is how many distinct values a sketch keeps exactly before
	// binning: enough for a minute of 1-second data to bin only when it
	// varies a lot, small enough (512 bytes) to keep datapoints compact.
	exactMax = 32
	// binShift drops all but the top 6 mantissa bits of a value's float64
	// encoding: values sharing exponent and those bits share a bin.
	binShift = 52 - 6
	// binRelErr bounds the relative error of a binned value: half a bin
	// (2^-6 of the bin's lower edge) is at most 2^-7 of the value.
	binRelErr = 1.0 / 128
)

// binOf returns the midpoint of v's bin. Bins come from the float64 bit
// pattern (sign, exponent and top mantissa bits), so binning needs no
// logarithm, covers every finite value, and is idempotent: the midpoint of
// a bin lies in the same bin.
func binOf(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	b := math.Float64bits(math.Abs(v))
	lo := b >> binShift << binShift
	hi := lo + 1<<binShift
	mid := math.Float64frombits(lo)
	if h := math.Float64frombits(hi); !math.IsInf(h, 0) {
		mid += (h - mid) / 2
	}
	return math.Copysign(mid, v)
}

// newPointSketch returns a sketch holding w occurrences of v.
func newPointSketch(v, w float64) *sketch {
	return &sketch{e: []wv{{v, w}}}
}

// search returns where v is or would be inserted in s.e. It is written
// without a data-dependent branch in the loop (the compiler turns the
// conditional add into a conditional move): values arrive in random order,
// so a branching search mispredicts at almost every step, and this search
// is the inner loop of aggregating big buckets.
func (s *sketch) search(v float64) (int, bool) {
	e := s.e
	if len(e) == 0 {
		return 0, false
	}
	lo, n := 0, len(e)
	for n > 1 {
		half := n >> 1
		if e[lo+half-1].v < v {
			lo += half
		}
		n -= half
	}
	if e[lo].v < v {
		lo++
	}
	return lo, lo < len(e) && e[lo].v == v
}

// add records w occurrences of v.
func (s *sketch) add(v, w float64) {
	if w <= 0 {
		return
	}
	if s.binned {
		v = binOf(v)
	}
	i, found := s.search(v)
	if found {
		s.e[i].w += w
		return
	}
	s.e = slices.Insert(s.e, i, wv{v, w})
	if !s.binned && len(s.e) > exactMax {
		s.bin()
	}
}

// bin switches s to binned mode. Since binOf is monotonic, mapping the
// sorted values keeps them sorted; equal neighbours are then merged.
func (s *sketch) bin() {
	if s.binned {
		return
	}
	s.binned = true
	out := s.e[:0]
	for _, x := range s.e {
		x.v = binOf(x.v)
		if n := len(out); n > 0 && out[n-1].v == x.v {
			out[n-1].w += x.w
			continue
		}
		out = append(out, x)
	}
	clear(s.e[len(out):])
	s.e = out
}

// merge adds every value of o to s. o is not modified or retained.
func (s *sketch) merge(o *sketch) {
	if o.binned {
		s.bin()
	}
	if len(o.e) <= 4 || (s.binned && !o.binned) {
		for _, x := range o.e {
			s.add(x.v, x.w)
		}
		return
	}
	// Both sorted and in the same mode: one linear merge.
	out := make([]wv, 0, len(s.e)+len(o.e))
	i, j := 0, 0
	for i < len(s.e) && j < len(o.e) {
		a, b := s.e[i], o.e[j]
		switch {
		case a.v < b.v:
			out = append(out, a)
			i++
		case a.v > b.v:
			out = append(out, b)
			j++
		default:
			out = append(out, wv{a.v, a.w + b.w})
			i++
			j++
		}
	}
	out = append(out, s.e[i:]...)
	out = append(out, o.e[j:]...)
	s.e = out
	if !s.binned && len(s.e) > exactMax {
		s.bin()
	}
}

// clone returns a copy of s that shares no memory with it.
func (s *sketch) clone() *sketch {
	if s == nil {
		return nil
	}
	return &sketch{e: slices.Clone(s.e), binned: s.binned}
}
