package tsdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// snapshotMagic starts every snapshot; its last byte is the format
// version, so a future layout can still read (or clearly refuse) this one.
const snapshotMagic = "NPHTSDB\x01"

// Column flags of a tier in a snapshot.
const (
	colFull = 1 << iota // cnt, min and max columns follow
	colDist             // a sketch (or its absence) per datapoint follows
)

// MarshalBinary returns a snapshot of the whole DB, for --data-dir
// persistence. Metrics are written in Key order, so the same contents give
// the same bytes. Shards are read one at a time: a snapshot taken during
// ingestion is consistent per metric, not across metrics.
func (db *DB) MarshalBinary() ([]byte, error) {
	type encoded struct {
		key string
		b   []byte
	}
	var all []encoded
	size := len(snapshotMagic) + binary.MaxVarintLen64
	for i := range db.shards {
		sh := &db.shards[i]
		sh.mu.RLock()
		for _, se := range sh.series {
			e := encoded{se.key, appendSeries(nil, se)}
			size += len(e.b)
			all = append(all, e)
		}
		sh.mu.RUnlock()
	}
	slices.SortFunc(all, func(a, b encoded) int { return strings.Compare(a.key, b.key) })
	b := make([]byte, 0, size)
	b = append(b, snapshotMagic...)
	b = binary.AppendUvarint(b, uint64(len(all)))
	for _, e := range all {
		b = append(b, e.b...)
	}
	return b, nil
}

// appendSeries encodes one metric.
func appendSeries(b []byte, se *series) []byte {
	b = appendString(b, se.metric.Namespace)
	b = appendString(b, se.metric.Name)
	b = binary.AppendUvarint(b, uint64(len(se.metric.Dimensions)))
	for _, d := range se.metric.Dimensions {
		b = appendString(b, d.Name)
		b = appendString(b, d.Value)
	}
	b = binary.AppendVarint(b, se.lastPut)
	b = binary.AppendUvarint(b, uint64(len(se.units)))
	for _, u := range se.units {
		b = appendString(b, u.unit)
		var mask byte
		for l, t := range u.levels {
			if t != nil && t.len() > 0 {
				mask |= 1 << l
			}
		}
		b = append(b, mask)
		for _, t := range u.levels {
			if t != nil && t.len() > 0 {
				b = appendTier(b, t)
			}
		}
	}
	return b
}

// appendTier encodes one tier's columns: timestamps as deltas, floats as
// their 8-byte encodings.
func appendTier(b []byte, t *tier) []byte {
	n := t.len()
	b = binary.AppendUvarint(b, uint64(n))
	prev := int64(0)
	for i := range n {
		ts := t.ts(i)
		b = binary.AppendVarint(b, ts-prev)
		prev = ts
	}
	var flags byte
	if t.cnt != nil {
		flags |= colFull
	}
	if t.dist != nil {
		flags |= colDist
	}
	b = append(b, flags)
	b = appendFloats(b, t.sum)
	if t.cnt != nil {
		b = appendFloats(b, t.cnt)
		b = appendFloats(b, t.min)
		b = appendFloats(b, t.max)
	}
	for _, d := range t.dist {
		if d == nil {
			b = binary.AppendUvarint(b, 0)
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(d.e))<<1|boolBit(d.binned))
		for _, x := range d.e {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x.v))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x.w))
		}
	}
	return b
}

func boolBit(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendFloats(b []byte, fs []float64) []byte {
	for _, f := range fs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	return b
}

// errCorrupt is wrapped by every UnmarshalBinary error about the data
// itself.
var errCorrupt = errors.New("tsdb: corrupt snapshot")

// UnmarshalBinary replaces the DB's contents with a snapshot from
// MarshalBinary. It checks the snapshot thoroughly, so a damaged file is
// reported rather than loaded half-way; on error the DB is unchanged.
func (db *DB) UnmarshalBinary(data []byte) error {
	if len(data) < len(snapshotMagic) || string(data[:len(snapshotMagic)-1]) != snapshotMagic[:len(snapshotMagic)-1] {
		return fmt.Errorf("%w: not a metrics snapshot", errCorrupt)
	}
	if v := data[len(snapshotMagic)-1]; v != snapshotMagic[len(snapshotMagic)-1] {
		return fmt.Errorf("tsdb: snapshot format version %d is not supported", v)
	}
	r := &reader{b: data[len(snapshotMagic):]}
	fresh := New()
	fresh.seed = db.seed
	n := r.count(1)
	for range n {
		se := r.series()
		if r.err != nil {
			break
		}
		key := appendKey(nil, se.metric)
		sh := fresh.shardOf(key)
		if sh.series[string(key)] != nil {
			r.fail("metric %q twice", se.metric.Name)
			break
		}
		se.key = string(key)
		sh.series[se.key] = se
		sh.points += se.points()
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return r.err
	}
	for i := range db.shards {
		sh := &db.shards[i]
		sh.mu.Lock()
		sh.series, sh.points = fresh.shards[i].series, fresh.shards[i].points
		sh.mu.Unlock()
	}
	return nil
}

// reader decodes a snapshot, remembering the first error so the decoding
// code reads straight through; after an error every read returns zeros.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errCorrupt, fmt.Sprintf(format, args...))
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length whose items take at least minBytes each, checking
// it against what is left so a corrupt length cannot make us allocate
// wildly.
func (r *reader) count(minBytes int) int {
	v := r.uvarint()
	if v > uint64(len(r.b)/minBytes) {
		r.fail("length %d beyond the data", v)
		return 0
	}
	return int(v)
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) string() string {
	n := r.count(1)
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) floats(n int) []float64 {
	if len(r.b) < 8*n {
		r.fail("truncated")
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(r.b[8*i:]))
	}
	r.b = r.b[8*n:]
	return out
}

func (r *reader) series() *series {
	ns, name := r.string(), r.string()
	dims := make([]Dimension, r.count(2))
	for i := range dims {
		dims[i] = Dimension{Name: r.string(), Value: r.string()}
	}
	se := &series{metric: NewMetric(ns, name, dims), lastPut: r.varint()}
	nu := r.count(2)
	for range nu {
		u := &unitSeries{unit: r.string()}
		for _, o := range se.units {
			if o.unit == u.unit {
				r.fail("unit %q twice", u.unit)
			}
		}
		mask := r.byte()
		if mask>>numLevels != 0 {
			r.fail("bad level mask %#x", mask)
		}
		for l := range numLevels {
			if mask&(1<<l) != 0 {
				u.levels[l] = r.tier(steps[l])
			}
		}
		if r.err != nil {
			return nil
		}
		se.units = append(se.units, u)
	}
	if len(se.units) == 0 {
		r.fail("metric %q has no datapoints", name)
	}
	return se
}

// tier decodes one tier of datapoints step seconds apart, rebuilding it
// through put so that its invariants (offsets that fit, columns present
// only when needed) hold whatever the bytes said.
func (r *reader) tier(step int64) *tier {
	n := r.count(1)
	if n == 0 {
		r.fail("empty tier")
		return nil
	}
	ts := make([]int64, n)
	prev := int64(0)
	for i := range ts {
		d := r.varint()
		prev += d
		ts[i] = prev
		if i > 0 && d <= 0 || prev%step != 0 {
			r.fail("timestamps out of order or off the level's step")
			return nil
		}
	}
	flags := r.byte()
	if flags&^(colFull|colDist) != 0 {
		r.fail("bad column flags %#x", flags)
		return nil
	}
	sum := r.floats(n)
	var cnt, mn, mx []float64
	if flags&colFull != 0 {
		cnt, mn, mx = r.floats(n), r.floats(n), r.floats(n)
	}
	var dist []*sketch
	if flags&colDist != 0 {
		dist = make([]*sketch, n)
		for i := range dist {
			dist[i] = r.sketch()
		}
	}
	if r.err != nil {
		return nil
	}
	t := &tier{}
	for i := range n {
		p := point{cnt: 1, sum: sum[i], min: sum[i], max: sum[i]}
		if cnt != nil {
			p.cnt, p.min, p.max = cnt[i], mn[i], mx[i]
		}
		if dist != nil {
			p.d = dist[i]
		}
		if !(p.cnt > 0) || !finite(p.cnt) || !finite(p.sum) || !finite(p.min) || !finite(p.max) || p.min > p.max {
			r.fail("bad datapoint statistics")
			return nil
		}
		if !t.put(ts[i], p) {
			r.fail("timestamps out of range")
			return nil
		}
	}
	return t
}

// sketch decodes one datapoint's distribution, or nil.
func (r *reader) sketch() *sketch {
	h := r.uvarint()
	if h == 0 {
		return nil
	}
	n := h >> 1
	if n == 0 || n > uint64(len(r.b)/16) {
		r.fail("sketch beyond the data")
		return nil
	}
	s := &sketch{e: make([]wv, n), binned: h&1 != 0}
	for i := range s.e {
		v := math.Float64frombits(binary.LittleEndian.Uint64(r.b[16*i:]))
		w := math.Float64frombits(binary.LittleEndian.Uint64(r.b[16*i+8:]))
		if i > 0 && !(v > s.e[i-1].v) || !(w > 0) || !finite(w) || !finite(v) {
			r.fail("sketch values out of order")
			return nil
		}
		s.e[i] = wv{v, w}
	}
	r.b = r.b[16*n:]
	return s
}
