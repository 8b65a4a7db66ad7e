package tsdb

import (
	"math"
	"slices"
	"time"
)

// Query asks for one metric's statistics per period.
type Query struct {
	Metric Metric
	// Start and End bound the datapoints' timestamps, [Start, End).
	// Buckets start at Start (the caller has already rounded it as
	// CloudWatch does); both are used to the second.
	Start, End time.Time
	// Period is the bucket length; it is used in whole seconds, at
	// least 1.
	Period time.Duration
	// Unit, if set, keeps only datapoints published with this unit
	// ("None" for those published without one). "" keeps every unit.
	Unit string
}

// Bucket is one period's aggregate.
type Bucket struct {
	// Timestamp is the bucket's start.
	Timestamp                  time.Time
	SampleCount, Sum, Min, Max float64
	// Unit is the unit of the bucket's data ("None" if it was published
	// without one). When a bucket mixes units, it is the unit with the
	// largest SampleCount in the bucket; on a tie, the one the metric
	// was first published with.
	Unit string
	// dist holds the values for percentile-family statistics; see point
	// for when nil means a point mass and when it means unavailable.
	dist *sketch
}

// acc is a bucket being aggregated: its index from Query.Start and its
// datapoint. The sketch, if any, belongs to the acc (never to a tier), so
// combine may reuse it.
type acc struct {
	k    int64
	p    point
	unit string
	ucnt float64 // SampleCount of data with unit in this bucket
}

// add merges a stored datapoint into a.
func (a *acc) add(p point) {
	a.p = combine(a.p, p)
}

// newAcc starts bucket k with a stored datapoint, copying its sketch so the
// bucket never aliases the store.
func newAcc(k int64, p point) acc {
	p.d = p.d.clone()
	return acc{k: k, p: p}
}

// Query returns the statistics of q.Metric per q.Period between q.Start
// and q.End, ascending, only for periods with data. Every datapoint whose
// timestamp is in [bucket start, bucket start + Period) is merged into the
// bucket, so a period shorter than the data's resolution puts each
// datapoint in the bucket holding its timestamp. Data is seen as it would
// be after Compact(now): past a level's retention it answers at the next
// level's resolution, and past the last it is gone.
func (db *DB) Query(q Query, now time.Time) []Bucket {
	period := int64(q.Period / time.Second)
	if period < 1 {
		period = 1
	}
	start, end := q.Start.Unix(), q.End.Unix()
	if q.End.Nanosecond() > 0 {
		end++
	}
	if end <= start {
		return nil
	}
	var buf [256]byte
	key := appendKey(buf[:0], q.Metric)
	sh := db.shardOf(key)
	c := cutoffs(now.Unix())
	w := window{start: start, end: end, period: period}

	sh.mu.RLock()
	defer sh.mu.RUnlock()
	se := sh.series[string(key)]
	if se == nil {
		return nil
	}
	var res []acc
	for _, u := range se.units {
		if q.Unit != "" && q.Unit != u.unit {
			continue
		}
		var ua []acc
		for l, t := range u.levels {
			if t != nil {
				ua = mergeAccs(ua, w.scan(t, l, &c))
			}
		}
		for i := range ua {
			ua[i].unit, ua[i].ucnt = u.unit, ua[i].p.cnt
		}
		res = mergeAccs(res, ua)
	}
	out := make([]Bucket, len(res))
	for i, a := range res {
		out[i] = Bucket{
			Timestamp:   time.Unix(start+a.k*period, 0).UTC(),
			SampleCount: a.p.cnt, Sum: a.p.sum, Min: a.p.min, Max: a.p.max,
			Unit: a.unit, dist: a.p.d,
		}
	}
	return out
}

// window is a query's time range and period, in seconds.
type window struct{ start, end, period int64 }

// scan aggregates the datapoints of tier t, stored at level l, into
// buckets. Datapoints past their level's retention at the query's now are
// treated as the roll-up would store them: at the timestamp of the coarser
// level's datapoint they would merge into.
func (w window) scan(t *tier, l int, c *[numLevels]int64) []acc {
	var out []acc
	hi := t.len() // end of the datapoints kept at the level being scanned
	for sl := l; sl < numLevels; sl++ {
		lo := t.search(c[sl])
		if lo >= hi {
			continue
		}
		step := steps[sl]
		// Effective timestamp floorTo(ts, step) within [start, end).
		a := max(lo, t.search(ceilTo(w.start, step)))
		b := min(hi, t.search(ceilTo(w.end, step)))
		out = w.scanRange(out, t, a, b, step)
		hi = lo
	}
	return out
}

// scanRange aggregates datapoints [a, b) of t, whose effective timestamps
// are their own rounded down to step. Within one call the bucket index
// only grows, so each bucket is finished before the next starts; the
// result is merged into out, since a level's older datapoints are scanned
// after its newer ones.
func (w window) scanRange(out []acc, t *tier, a, b int, step int64) []acc {
	if a >= b {
		return out
	}
	if t.cnt == nil {
		return mergeAccs(out, w.scanValues(t, a, b, step))
	}
	var run []acc
	for i := a; i < b; i++ {
		k := (floorTo(t.ts(i), step) - w.start) / w.period
		if n := len(run); n > 0 && run[n-1].k == k {
			run[n-1].add(t.at(i))
		} else {
			run = append(run, newAcc(k, t.at(i)))
		}
	}
	return mergeAccs(out, run)
}

// maxPending is how many values a bucket collects before they go into a
// sketch one by one: sorting a few values at the end is cheaper than
// inserting each, but a sketch stays small however many values arrive.
const maxPending = 256

// scanValues is scanRange for a tier of single values, the common case and
// the one that must be fast for large queries. Each bucket's values are
// gathered in one shared slice, then sorted and compacted into a shared
// slice of entries that becomes the bucket's sketch, so a bucket costs no
// allocation of its own.
func (w window) scanValues(t *tier, a, b int, step int64) []acc {
	sc := valueScratch{vals: make([]float64, 0, min(b-a, maxPending)), left: b - a}
	// At most one bucket per datapoint, and per period in the range.
	span := floorTo(t.ts(b-1), step) - floorTo(t.ts(a), step)
	run := make([]acc, 0, min(int64(b-a), span/w.period+2))
	for i := a; i < b; i++ {
		ts := t.ts(i)
		if step > 1 {
			ts = floorTo(ts, step)
		}
		k := (ts - w.start) / w.period
		v := t.sum[i]
		sc.left--
		n := len(run)
		if n == 0 || run[n-1].k != k {
			if n > 0 {
				sc.finish(&run[n-1].p, false)
			}
			run = append(run, acc{k: k, p: point{cnt: 1, sum: v, min: v, max: v}})
			sc.vals = append(sc.vals, v)
			continue
		}
		r := &run[n-1].p
		r.cnt++
		r.sum += v
		r.min, r.max = min(r.min, v), max(r.max, v)
		if r.d != nil {
			// A big bucket, already a sketch. Once binned, its positive
			// values are counted in dense bins, which is much faster
			// than a search of the sketch per value.
			if !r.d.binned || !sc.dense.add(v) {
				r.d.add(v, 1)
			}
			continue
		}
		sc.vals = append(sc.vals, v)
		if len(sc.vals) >= maxPending {
			sc.finish(r, true)
		}
	}
	if n := len(run); n > 0 {
		sc.finish(&run[n-1].p, false)
	}
	return run
}

// valueScratch is scanValues' working memory: the current bucket's values,
// and blocks of entries and sketches handed out to finished buckets.
type valueScratch struct {
	vals     []float64
	entries  []wv
	sketches []sketch
	dense    denseBins
	left     int // datapoints not yet scanned, to size the next block
}

// finish gives p the distribution of the pending values and empties
// vals. Pending values exist only while p has no sketch, and then they are
// all of p's values: from the first finish in the middle of a bucket
// (more than maxPending values), p has a sketch and its values go there
// directly. At the end of a bucket, a point mass needs no sketch.
func (sc *valueScratch) finish(p *point, mid bool) {
	if sc.dense.used {
		sc.dense.flush(p.d)
	}
	vals := sc.vals
	sc.vals = vals[:0]
	if len(vals) == 0 || p.min == p.max && !mid {
		return
	}
	if len(vals) <= exactMax {
		// Few values: sorting them is cheapest.
		slices.Sort(vals)
		e := sc.entryBlock(len(vals))
		for _, v := range vals {
			if n := len(e); n > 0 && e[n-1].v == v {
				e[n-1].w++
				continue
			}
			e = append(e, wv{v, 1})
		}
		p.d = sc.newSketch(sc.commit(e))
		return
	}
	// Many values: count the distinct ones; few of them stay exact, and
	// more are counted in bins, both without sorting every value.
	var set smallSet
	if set.addAll(vals) {
		e := sc.entryBlock(set.n)
		for _, x := range set.slots {
			if x.w > 0 {
				e = append(e, x.wv)
			}
		}
		slices.SortFunc(e, func(x, y wv) int { return compareFloats(x.v, y.v) })
		p.d = sc.newSketch(sc.commit(e))
		return
	}
	// Binned: negative values and zeros (rare and common respectively)
	// first, in order, then the positive ones from the dense bins.
	var neg []float64
	zeros := 0.0
	for _, v := range vals {
		if !sc.dense.add(v) {
			if v == 0 {
				zeros++
			} else {
				neg = append(neg, binOf(v))
			}
		}
	}
	slices.Sort(neg)
	e := sc.entryBlock(len(vals))
	for _, v := range neg {
		if n := len(e); n > 0 && e[n-1].v == v {
			e[n-1].w++
			continue
		}
		e = append(e, wv{v, 1})
	}
	if zeros > 0 {
		e = append(e, wv{0, zeros})
	}
	e = sc.dense.appendTo(e)
	p.d = sc.newSketch(sc.commit(e))
	p.d.binned = true
}

// entryBlock returns an empty slice with room for n entries in the shared
// block, to fill and pass to commit.
func (sc *valueScratch) entryBlock(n int) []wv {
	if cap(sc.entries)-len(sc.entries) < n {
		sc.entries = make([]wv, 0, n+min(sc.left, 4096))
	}
	return sc.entries[len(sc.entries):len(sc.entries)]
}

// commit takes e, filled from entryBlock, out of the shared block. The
// result is capped, so that growing one bucket's sketch copies it rather
// than overwriting the next bucket's entries.
func (sc *valueScratch) commit(e []wv) []wv {
	sc.entries = sc.entries[:len(sc.entries)+len(e)]
	return e[:len(e):len(e)]
}

// newSketch returns a sketch of the sorted entries e from the slab.
func (sc *valueScratch) newSketch(e []wv) *sketch {
	if len(sc.sketches) == cap(sc.sketches) {
		sc.sketches = make([]sketch, 0, min(sc.left/2+1, 256))
	}
	sc.sketches = append(sc.sketches, sketch{e: e})
	return &sc.sketches[len(sc.sketches)-1]
}

func compareFloats(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// smallSet counts up to exactMax distinct values by open addressing, to
// tell cheaply whether a bucket's values stay exact.
type smallSet struct {
	slots [2 * exactMax]struct {
		wv
		bits uint64
	}
	n int
}

// addAll counts vals and reports whether they have at most exactMax
// distinct values.
func (s *smallSet) addAll(vals []float64) bool {
	const mask = len(s.slots) - 1
	for _, v := range vals {
		if v == 0 {
			v = 0 // -0 and +0 are one value
		}
		bits := math.Float64bits(v)
		i := int((bits*0x9e3779b97f4a7c15)>>32) & mask
		for {
			x := &s.slots[i]
			if x.w == 0 {
				if s.n == exactMax {
					return false
				}
				x.v, x.w, x.bits = v, 1, bits
				s.n++
				break
			}
			if x.bits == bits {
				x.w++
				break
			}
			i = (i + 1) & mask
		}
	}
	return true
}

// denseBins counts positive values per sketch bin in an array indexed by
// the bin's key (the top bits of the value's encoding), for the one big
// bucket scanValues has open at a time. Counting is an increment instead
// of a search; flush turns the counts into sketch entries.
type denseBins struct {
	counts []uint32 // allocated on first use: 512 KiB, reused per bucket
	lo, hi int      // the keys touched since the last flush
	used   bool
}

// denseKeys is the number of bin keys of positive float64 values: with
// the sign bit clear, the encoding shifted right by binShift is below it.
const denseKeys = 1 << (63 - binShift)

// add counts v and reports true, or reports false for a value that is
// not positive, which the caller records in the sketch itself.
func (d *denseBins) add(v float64) bool {
	if !(v > 0) {
		return false
	}
	k := int(math.Float64bits(v) >> binShift)
	if d.counts == nil {
		d.counts = make([]uint32, denseKeys)
	}
	if !d.used {
		d.lo, d.hi, d.used = k, k, true
	}
	d.counts[k]++
	d.lo, d.hi = min(d.lo, k), max(d.hi, k)
	return true
}

// flush merges the counts into the binned sketch s and clears them.
func (d *denseBins) flush(s *sketch) {
	s.merge(&sketch{e: d.appendTo(nil), binned: true})
}

// appendTo appends the counts to e as binned entries, in ascending order,
// and clears them.
func (d *denseBins) appendTo(e []wv) []wv {
	if !d.used {
		return e
	}
	for k := d.lo; k <= d.hi; k++ {
		if c := d.counts[k]; c != 0 {
			e = append(e, wv{binOf(math.Float64frombits(uint64(k) << binShift)), float64(c)})
			d.counts[k] = 0
		}
	}
	d.used = false
	return e
}

// mergeAccs merges two bucket lists sorted by k, combining buckets with
// the same k. The unit of a combined bucket is the one with more data
// (the earlier list's on a tie).
func mergeAccs(a, b []acc) []acc {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]acc, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].k < b[j].k:
			out = append(out, a[i])
			i++
		case a[i].k > b[j].k:
			out = append(out, b[j])
			j++
		default:
			m := a[i]
			m.p = combine(m.p, b[j].p)
			if b[j].ucnt > m.ucnt {
				m.unit, m.ucnt = b[j].unit, b[j].ucnt
			}
			out = append(out, m)
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
