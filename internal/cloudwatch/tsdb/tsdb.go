// Package tsdb is CloudWatch's metric datapoint store: every metric's
// datapoints for one account and region, aggregated on demand into the
// statistics GetMetricStatistics, GetMetricData and alarms ask for, listed
// for ListMetrics, and rolled up as CloudWatch does so memory stays bounded.
//
// Storage follows CloudWatch's documented resolutions and retention
// (GetMetricStatistics, "Amazon CloudWatch retains metric data as
// follows"): high-resolution data (StorageResolution 1) is kept per second
// for 3 hours, then per minute; standard data per minute for 15 days; then
// per 5 minutes for 63 days; then per hour for 455 days, after which it is
// gone. Each datapoint keeps SampleCount, Sum, Minimum and Maximum, and,
// where raw values were published, a compact distribution for the
// percentile-family statistics (p99, tm90, PR(:300) ...). Statistic sets
// carry no distribution, so, as AWS documents, percentiles are unavailable
// for them unless SampleCount is 1 or Minimum equals Maximum.
//
// Nothing here reads the clock: every method that depends on the time
// takes the caller's now, so the fake and scaled clocks drive retention.
// A DB is safe for concurrent use.
package tsdb

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"
)

// Resolution levels of stored datapoints, finest first.
const (
	levelSecond = iota // high resolution, per second
	levelMinute
	level5Minutes
	levelHour
	numLevels
)

// steps is each level's datapoint spacing in seconds.
var steps = [numLevels]int64{1, 60, 300, 3600}

// retention is how long each level keeps its datapoints before they are
// rolled into the next level (or, for the last, dropped), as AWS
// documents: 3 hours, 15 days, 63 days and 455 days.
var retention = [numLevels]int64{3 * 3600, 15 * 86400, 63 * 86400, 455 * 86400}

const (
	// listWindow is how recently a metric must have received data to be
	// listed: "ListMetrics doesn't return information about metrics if
	// those metrics haven't reported data in the past two weeks."
	listWindow = 14 * 24 * time.Hour
	// recentWindow is ListMetrics' RecentlyActive=PT3H.
	recentWindow = 3 * time.Hour
)

// cutoffs returns, per level, the earliest timestamp still kept at that
// level at now: older datapoints belong to a coarser level, and those
// older than the last level's cutoff are gone. Each cutoff is aligned to
// the next level's step, so a coarse datapoint is always built from whole
// fine ones.
func cutoffs(now int64) [numLevels]int64 {
	var c [numLevels]int64
	for l := range c {
		align := steps[levelHour]
		if l+1 < numLevels {
			align = steps[l+1]
		}
		c[l] = floorTo(now-retention[l], align)
	}
	return c
}

// levelFor returns the level a datapoint at ts published at level l is
// stored at when it arrives at the time the cutoffs were computed for, or
// numLevels if it is already past retention.
func levelFor(ts int64, l int, c *[numLevels]int64) int {
	for l < numLevels && ts < c[l] {
		l++
	}
	return l
}

// numShards splits the metrics over independently locked maps, so
// ingestion from many goroutines (one per request) rarely contends.
const numShards = 16

// DB holds the metrics of one account and region. The zero value is not
// usable; call New.
type DB struct {
	seed   maphash.Seed
	shards [numShards]shard
}

// shard is the metrics whose key hashes to it, under one lock.
type shard struct {
	mu     sync.RWMutex
	series map[string]*series
	points int // datapoints stored in this shard
}

// series is one metric: its identity, its datapoints per unit, and when
// it last received data.
type series struct {
	key     string
	metric  Metric
	lastPut int64 // the now of the latest Put, Unix nanoseconds
	// units holds one set of tiers per unit, in order of first use. AWS
	// keeps the unit with each datapoint and filters on it; splitting by
	// unit keeps the unit out of every datapoint (metrics almost always
	// have one).
	units []*unitSeries
}

// unitSeries is a metric's datapoints published with one unit.
type unitSeries struct {
	unit   string
	levels [numLevels]*tier // nil until used
}

// New returns an empty DB.
func New() *DB {
	db := &DB{seed: maphash.MakeSeed()}
	for i := range db.shards {
		db.shards[i].series = map[string]*series{}
	}
	return db
}

// shardOf returns the shard a key belongs to.
func (db *DB) shardOf(key []byte) *shard {
	return &db.shards[maphash.Bytes(db.seed, key)%numShards]
}

// unitOf returns the unit's datapoints, creating them if create is set.
func (s *series) unitOf(unit string, create bool) *unitSeries {
	for _, u := range s.units {
		if u.unit == unit {
			return u
		}
	}
	if !create {
		return nil
	}
	// A copy, so that Put's Sample does not escape and callers can build
	// it (Values included) on the stack.
	u := &unitSeries{unit: strings.Clone(unit)}
	s.units = append(s.units, u)
	return u
}

// points returns the number of datapoints in s.
func (s *series) points() int {
	n := 0
	for _, u := range s.units {
		for _, t := range u.levels {
			if t != nil {
				n += t.len()
			}
		}
	}
	return n
}

// StatSet is a pre-aggregated statistic set (PutMetricData
// StatisticValues).
type StatSet struct{ SampleCount, Sum, Min, Max float64 }

// Sample is one PutMetricData MetricDatum after validation. Value is the
// case of a single element in Values.
type Sample struct {
	Timestamp time.Time
	// Unit is the datum's unit; "" means "None", as in AWS.
	Unit string
	// StorageResolution is 1 for high resolution; anything else is
	// standard (60).
	StorageResolution int
	// Values are raw values; Counts[i] (default 1) says how often
	// Values[i] occurred.
	Values []float64
	Counts []float64
	// Stats is set instead of Values for a statistic set.
	Stats *StatSet
}

// unitNone is the unit of data published without one.
const unitNone = "None"

// pointOf converts a sample into a datapoint, and reports false for one
// with no data (no values, or all counts zero).
func pointOf(s *Sample) (point, bool) {
	if st := s.Stats; st != nil {
		if !(st.SampleCount > 0) || !finite(st.SampleCount) || !finite(st.Sum) || !finite(st.Min) || !finite(st.Max) || st.Min > st.Max {
			return point{}, false
		}
		return point{cnt: st.SampleCount, sum: st.Sum, min: st.Min, max: st.Max}, true
	}
	if len(s.Values) == 1 && (len(s.Counts) == 0 || s.Counts[0] == 1) {
		v := s.Values[0]
		if !finite(v) {
			return point{}, false
		}
		return point{cnt: 1, sum: v, min: v, max: v}, true
	}
	p := point{}
	first := true
	for i, v := range s.Values {
		w := 1.0
		if i < len(s.Counts) {
			w = s.Counts[i]
		}
		if !(w > 0) || !finite(w) || !finite(v) {
			continue
		}
		p.cnt += w
		p.sum += v * w
		if first {
			p.min, p.max, first = v, v, false
		} else {
			p.min, p.max = min(p.min, v), max(p.max, v)
		}
	}
	if first {
		return point{}, false
	}
	if p.min != p.max {
		d := &sketch{e: make([]wv, 0, min(len(s.Values), exactMax+1))}
		for i, v := range s.Values {
			w := 1.0
			if i < len(s.Counts) {
				w = s.Counts[i]
			}
			if finite(v) && finite(w) {
				d.add(v, w)
			}
		}
		p.d = d
	}
	return p, true
}

// finite reports whether v is neither NaN nor infinite. The API layer
// rejects such values; the store skips them too, since one NaN would
// poison every statistic it merges into.
func finite(v float64) bool { return v-v == 0 }

// Put stores one datum of metric m. Values within the same second (high
// resolution) or minute (standard) merge into one datapoint, as CloudWatch
// aggregates them. A datum older than its resolution's retention goes
// straight to the coarser level that still keeps its time, and one older
// than every level is dropped. now is when it was received, which
// ListMetrics' RecentlyActive looks at.
func (db *DB) Put(m Metric, s Sample, now time.Time) {
	p, ok := pointOf(&s)
	if !ok {
		return
	}
	ts := s.Timestamp.Unix()
	l := levelMinute
	if s.StorageResolution == 1 {
		l = levelSecond
	}
	c := cutoffs(now.Unix())
	if l = levelFor(ts, l, &c); l == numLevels {
		return
	}
	ts = floorTo(ts, steps[l])
	unit := s.Unit
	if unit == "" {
		unit = unitNone
	}
	var buf [256]byte
	key := appendKey(buf[:0], m)
	sh := db.shardOf(key)
	nowNano := now.UnixNano()

	sh.mu.Lock()
	defer sh.mu.Unlock()
	se := sh.series[string(key)]
	if se == nil {
		se = &series{key: string(key), metric: NewMetric(m.Namespace, m.Name, m.Dimensions)}
		sh.series[se.key] = se
	}
	se.lastPut = max(se.lastPut, nowNano)
	u := se.unitOf(unit, true)
	t := u.levels[l]
	if t == nil {
		t = &tier{}
		u.levels[l] = t
	}
	if t.put(ts, p) {
		sh.points++
	}
}

// Len returns the number of stored datapoints, for benchmarks and memory
// accounting.
func (db *DB) Len() int {
	n := 0
	for i := range db.shards {
		sh := &db.shards[i]
		sh.mu.RLock()
		n += sh.points
		sh.mu.RUnlock()
	}
	return n
}

// Compact applies retention at now: datapoints past their level's
// retention are rolled into the next level (1 s to 1 min after 3 hours,
// 1 min to 5 min after 15 days, 5 min to 1 h after 63 days) and dropped
// after 455 days; metrics left without datapoints are forgotten. Query
// already answers as if Compact had just run, so calling it is only about
// memory; callers call it periodically.
func (db *DB) Compact(now time.Time) {
	c := cutoffs(now.Unix())
	for i := range db.shards {
		sh := &db.shards[i]
		sh.mu.Lock()
		for k, se := range sh.series {
			before := se.points()
			se.compact(&c)
			after := se.points()
			sh.points += after - before
			if after == 0 {
				delete(sh.series, k)
			}
		}
		sh.mu.Unlock()
	}
}

// compact applies the cutoffs to s.
func (s *series) compact(c *[numLevels]int64) {
	s.units = slices.DeleteFunc(s.units, func(u *unitSeries) bool {
		for l := range numLevels {
			t := u.levels[l]
			if t == nil || t.len() == 0 {
				u.levels[l] = nil
				continue
			}
			j := t.search(c[l])
			if j == 0 {
				continue
			}
			if l+1 < numLevels {
				rolled := t.rollPrefix(j, steps[l+1])
				next := u.levels[l+1]
				if next == nil {
					next = &tier{}
				}
				u.levels[l+1] = mergeTiers(next, rolled)
			}
			t.dropPrefix(j)
			if t.len() == 0 {
				u.levels[l] = nil
			}
		}
		for _, t := range u.levels {
			if t != nil {
				return false
			}
		}
		return true
	})
}

// ListFilter selects metrics for List, as ListMetrics' parameters do.
type ListFilter struct {
	// Namespace and Name match exactly; "" matches any.
	Namespace, Name string
	// Dimensions must each match a dimension of the metric; a filter
	// with Value "" matches any value of that name. Other dimensions of
	// the metric do not matter.
	Dimensions []DimensionFilter
	// RecentlyActive keeps only metrics that received a datapoint in the
	// last 3 hours (ListMetrics RecentlyActive=PT3H).
	RecentlyActive bool
	// AllRetained lists every metric with retained datapoints, instead of
	// only those that received data in the last two weeks as ListMetrics
	// does; for callers other than ListMetrics, such as admin views.
	AllRetained bool
}

// DimensionFilter is one ListMetrics dimension filter.
type DimensionFilter struct{ Name, Value string }

// matches reports whether m passes f's namespace, name and dimension
// filters.
func (f *ListFilter) matches(m *Metric) bool {
	if f.Namespace != "" && f.Namespace != m.Namespace || f.Name != "" && f.Name != m.Name {
		return false
	}
	for _, df := range f.Dimensions {
		if !slices.ContainsFunc(m.Dimensions, func(d Dimension) bool {
			return d.Name == df.Name && (df.Value == "" || d.Value == df.Value)
		}) {
			return false
		}
	}
	return true
}

// List returns copies of the metrics that match f, sorted by Key for
// stable pagination. Like ListMetrics, it leaves out metrics that have not
// received data in the past two weeks (unless f.AllRetained) and metrics
// whose datapoints have all passed retention.
func (db *DB) List(f ListFilter, now time.Time) []Metric {
	nowNano := now.UnixNano()
	since := nowNano - int64(listWindow)
	if f.AllRetained {
		since = minInt64
	}
	if f.RecentlyActive {
		since = max(since, nowNano-int64(recentWindow))
	}
	c := cutoffs(now.Unix())
	type keyed struct {
		key string
		m   Metric
	}
	var found []keyed
	for i := range db.shards {
		sh := &db.shards[i]
		sh.mu.RLock()
		for _, se := range sh.series {
			if se.lastPut < since || !f.matches(&se.metric) || !se.retained(&c) {
				continue
			}
			found = append(found, keyed{se.key, se.metric.clone()})
		}
		sh.mu.RUnlock()
	}
	slices.SortFunc(found, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	out := make([]Metric, len(found))
	for i, k := range found {
		out[i] = k.m
	}
	return out
}

// minInt64 is the smallest int64, a "since" that admits everything.
const minInt64 = -1 << 63

// retained reports whether s has a datapoint not yet past the last
// level's retention. Each level's newest datapoint is its last, so this
// looks at one datapoint per level.
func (s *series) retained(c *[numLevels]int64) bool {
	for _, u := range s.units {
		for _, t := range u.levels {
			if t != nil && t.len() > 0 && t.ts(t.len()-1) >= c[levelHour] {
				return true
			}
		}
	}
	return false
}
