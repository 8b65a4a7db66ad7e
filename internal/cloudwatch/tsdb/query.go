package tsdb

import (
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

// point returns b's statistics as a datapoint.
func (b *Bucket) point() point {
	return point{cnt: b.SampleCount, sum: b.Sum, min: b.Min, max: b.Max, d: b.dist}
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
	sc := valueScratch{vals: make([]float64, 0, min(b-a, maxPending))}
	var run []acc
	for i := a; i < b; i++ {
		ts := t.ts(i)
		if step > 1 {
			ts = floorTo(ts, step)
		}
		k := (ts - w.start) / w.period
		v := t.sum[i]
		n := len(run)
		if n == 0 || run[n-1].k != k {
			if n > 0 {
				sc.finish(&run[n-1].p)
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
			r.d.add(v, 1) // a big bucket, already a sketch
			continue
		}
		sc.vals = append(sc.vals, v)
		if len(sc.vals) >= maxPending {
			sc.finish(r)
		}
	}
	if n := len(run); n > 0 {
		sc.finish(&run[n-1].p)
	}
	return run
}

// valueScratch is scanValues' working memory: the current bucket's values,
// and blocks of entries and sketches handed out to finished buckets.
type valueScratch struct {
	vals     []float64
	entries  []wv
	sketches []sketch
}

// finish gives p the distribution of the pending values, unless p is a
// point mass, which needs none, and empties vals.
func (sc *valueScratch) finish(p *point) {
	vals := sc.vals
	sc.vals = vals[:0]
	if len(vals) == 0 || p.d == nil && p.min == p.max {
		return
	}
	slices.Sort(vals)
	if cap(sc.entries)-len(sc.entries) < len(vals) {
		sc.entries = make([]wv, 0, max(len(vals), 4096))
	}
	from := len(sc.entries)
	for _, v := range vals {
		if n := len(sc.entries); n > from && sc.entries[n-1].v == v {
			sc.entries[n-1].w++
			continue
		}
		sc.entries = append(sc.entries, wv{v, 1})
	}
	// Capped, so that growing one bucket's sketch copies it rather than
	// overwriting the next bucket's entries.
	e := sc.entries[from:len(sc.entries):len(sc.entries)]
	if p.d != nil {
		p.d.merge(&sketch{e: e})
		return
	}
	if len(sc.sketches) == cap(sc.sketches) {
		sc.sketches = make([]sketch, 0, 256)
	}
	sc.sketches = append(sc.sketches, sketch{e: e})
	p.d = &sc.sketches[len(sc.sketches)-1]
	if len(e) > exactMax {
		p.d.bin()
	}
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
