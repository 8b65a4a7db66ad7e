package tsdb

import (
	"math"
	"slices"
)

// point is one datapoint: the statistics CloudWatch keeps for a metric at
// one timestamp and resolution.
//
// Its distribution follows one rule everywhere (Put, roll-up, Query):
// when Min == Max every value is Min, so no sketch is needed (this covers
// single values and the statistic sets AWS allows percentiles for: those
// with SampleCount 1 or Min == Max); otherwise d holds the values, or d is
// nil and percentiles are unavailable, because some of the data came as a
// statistic set.
type point struct {
	cnt, sum, min, max float64
	d                  *sketch
}

// single reports whether p is one plain value, the case a tier stores in
// its sum column alone.
func (p point) single() bool {
	return p.cnt == 1 && p.min == p.max && p.sum == p.min && p.d == nil
}

// hasDist reports whether p's values are known, as a sketch or as a point
// mass.
func (p point) hasDist() bool { return p.d != nil || p.min == p.max }

// combine merges b into a, the datapoint of both. a.d is reused (mutated),
// so a must own its sketch; b is only read.
func combine(a, b point) point {
	r := point{cnt: a.cnt + b.cnt, sum: a.sum + b.sum, min: min(a.min, b.min), max: max(a.max, b.max)}
	if r.min == r.max || !a.hasDist() || !b.hasDist() {
		return r // a point mass, or (Min != Max) no distribution
	}
	r.d = a.d
	if r.d == nil {
		r.d = newPointSketch(a.min, a.cnt)
	}
	if b.d != nil {
		r.d.merge(b.d)
	} else {
		r.d.add(b.min, b.cnt)
	}
	return r
}

// tier holds one metric's datapoints at one resolution (1 s, 1 min, 5 min
// or 1 h), as columns sorted by timestamp. Columns rather than a slice of
// structs let the common case (one plain value per timestamp, as EC2 and
// most agents publish) cost 12 bytes a datapoint: a 4-byte offset and the
// value in the sum column. The count, min and max columns appear the first
// time a datapoint aggregates more than one value, and the dist column the
// first time one carries a sketch.
type tier struct {
	base int64     // Unix seconds that off is relative to
	off  []int32   // timestamps, base+off[i], strictly increasing
	sum  []float64 // the value, or the sum of the values
	// cnt, min and max are nil while every datapoint is single(): then
	// cnt is 1 and min and max equal sum.
	cnt, min, max []float64
	dist          []*sketch // nil while no datapoint has a sketch
}

// len returns the number of datapoints.
func (t *tier) len() int { return len(t.off) }

// ts returns datapoint i's timestamp in Unix seconds.
func (t *tier) ts(i int) int64 { return t.base + int64(t.off[i]) }

// at returns datapoint i. Its sketch is shared with the tier.
func (t *tier) at(i int) point {
	s := t.sum[i]
	if t.cnt == nil {
		return point{cnt: 1, sum: s, min: s, max: s}
	}
	p := point{cnt: t.cnt[i], sum: s, min: t.min[i], max: t.max[i]}
	if t.dist != nil {
		p.d = t.dist[i]
	}
	return p
}

// search returns the index of the first datapoint at or after ts.
func (t *tier) search(ts int64) int {
	o := ts - t.base
	switch {
	case o < math.MinInt32:
		return 0
	case o > math.MaxInt32:
		return len(t.off)
	}
	o32 := int32(o)
	lo, hi := 0, len(t.off)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.off[m] < o32 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// put merges p into the datapoint at ts, creating it if needed, and
// reports whether it was created. Publishers send in time order, so the
// usual case is an append or a merge into the last datapoint; late data is
// inserted in place. A point too far (68 years) from the rest to be
// represented is dropped: retention keeps no tier anywhere near that span.
func (t *tier) put(ts int64, p point) bool {
	n := len(t.off)
	if n == 0 {
		t.base = ts
	}
	o := ts - t.base
	if o < math.MinInt32 || o > math.MaxInt32 {
		if !t.rebase(ts) {
			return false
		}
		o = ts - t.base
	}
	o32 := int32(o)
	switch {
	case n == 0 || o32 > t.off[n-1]:
		t.insert(n, o32, p)
		return true
	case o32 == t.off[n-1]:
		t.set(n-1, combine(t.at(n-1), p))
		return false
	}
	i := t.search(ts)
	if t.off[i] == o32 {
		t.set(i, combine(t.at(i), p))
		return false
	}
	t.insert(i, o32, p)
	return true
}

// rebase moves base so that both the stored timestamps and ts fit in an
// int32 offset, if any base can.
func (t *tier) rebase(ts int64) bool {
	lo, hi := min(t.ts(0), ts), max(t.ts(len(t.off)-1), ts)
	if hi-lo > math.MaxInt32 {
		return false
	}
	nb := lo + (hi-lo)/2
	for i := range t.off {
		t.off[i] = int32(t.base + int64(t.off[i]) - nb)
	}
	t.base = nb
	return true
}

// promote adds the cnt, min and max columns, for a datapoint that is not a
// single value.
func (t *tier) promote() {
	if t.cnt != nil {
		return
	}
	c := cap(t.sum)
	t.cnt = make([]float64, len(t.sum), c)
	for i := range t.cnt {
		t.cnt[i] = 1
	}
	t.min = append(make([]float64, 0, c), t.sum...)
	t.max = append(make([]float64, 0, c), t.sum...)
}

// needDist adds the dist column, for a datapoint with a sketch.
func (t *tier) needDist() {
	if t.dist == nil {
		t.dist = make([]*sketch, len(t.off), cap(t.off))
	}
}

// insert puts a new datapoint at index i.
func (t *tier) insert(i int, o int32, p point) {
	if !p.single() {
		t.promote()
	}
	if p.d != nil {
		t.needDist()
	}
	if i == len(t.off) {
		t.off = append(t.off, o)
		t.sum = append(t.sum, p.sum)
		if t.cnt != nil {
			t.cnt = append(t.cnt, p.cnt)
			t.min = append(t.min, p.min)
			t.max = append(t.max, p.max)
		}
		if t.dist != nil {
			t.dist = append(t.dist, p.d)
		}
		return
	}
	t.off = slices.Insert(t.off, i, o)
	t.sum = slices.Insert(t.sum, i, p.sum)
	if t.cnt != nil {
		t.cnt = slices.Insert(t.cnt, i, p.cnt)
		t.min = slices.Insert(t.min, i, p.min)
		t.max = slices.Insert(t.max, i, p.max)
	}
	if t.dist != nil {
		t.dist = slices.Insert(t.dist, i, p.d)
	}
}

// set replaces datapoint i.
func (t *tier) set(i int, p point) {
	if !p.single() {
		t.promote()
	}
	if p.d != nil {
		t.needDist()
	}
	t.sum[i] = p.sum
	if t.cnt != nil {
		t.cnt[i], t.min[i], t.max[i] = p.cnt, p.min, p.max
	}
	if t.dist != nil {
		t.dist[i] = p.d
	}
}

// appendPoint adds p at ts, after every stored datapoint, merging it into
// the last one if ts equals its timestamp. Roll-up and snapshot loading
// build tiers in time order with it.
func (t *tier) appendPoint(ts int64, p point) {
	if n := len(t.off); n > 0 && t.ts(n-1) == ts {
		t.set(n-1, combine(t.at(n-1), p))
		return
	}
	t.put(ts, p)
}

// dropPrefix removes the first j datapoints. The rest is copied to new,
// right-sized columns so that the memory of what was removed, and of
// append's spare capacity, is released.
func (t *tier) dropPrefix(j int) {
	if j <= 0 {
		return
	}
	t.off = slices.Clone(t.off[j:])
	t.sum = slices.Clone(t.sum[j:])
	if t.cnt != nil {
		t.cnt = slices.Clone(t.cnt[j:])
		t.min = slices.Clone(t.min[j:])
		t.max = slices.Clone(t.max[j:])
	}
	if t.dist != nil {
		t.dist = slices.Clone(t.dist[j:])
		if !slices.ContainsFunc(t.dist, func(d *sketch) bool { return d != nil }) {
			t.dist = nil
		}
	}
	if len(t.off) == 0 {
		*t = tier{}
	}
}

// rollPrefix returns the first j datapoints aggregated into datapoints of
// step seconds, aligned to the Unix epoch as CloudWatch's periods are. The
// sketches move to the result; the caller drops the prefix afterwards.
func (t *tier) rollPrefix(j int, step int64) *tier {
	out := &tier{}
	for i := range j {
		out.appendPoint(floorTo(t.ts(i), step), t.at(i))
	}
	return out
}

// mergeTiers returns the datapoints of a and b in one tier, combining
// those at the same timestamp. Both are consumed: their sketches move to
// the result.
func mergeTiers(a, b *tier) *tier {
	if a.len() == 0 {
		return b
	}
	if b.len() == 0 {
		return a
	}
	out := &tier{base: a.base}
	out.off = make([]int32, 0, a.len()+b.len())
	out.sum = make([]float64, 0, a.len()+b.len())
	i, j := 0, 0
	for i < a.len() || j < b.len() {
		switch {
		case j == b.len() || (i < a.len() && a.ts(i) < b.ts(j)):
			out.appendPoint(a.ts(i), a.at(i))
			i++
		case i == a.len() || b.ts(j) < a.ts(i):
			out.appendPoint(b.ts(j), b.at(j))
			j++
		default:
			out.appendPoint(a.ts(i), combine(a.at(i), b.at(j)))
			i++
			j++
		}
	}
	return out
}

// floorTo rounds ts down to a multiple of step, also for negative ts.
func floorTo(ts, step int64) int64 {
	r := ts % step
	if r < 0 {
		r += step
	}
	return ts - r
}

// ceilTo rounds ts up to a multiple of step.
func ceilTo(ts, step int64) int64 {
	f := floorTo(ts, step)
	if f < ts {
		f += step
	}
	return f
}
