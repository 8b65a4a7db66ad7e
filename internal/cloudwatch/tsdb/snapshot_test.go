package tsdb

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// richDB returns a DB exercising every kind of column: plain values,
// merged values with and without sketches, statistic sets, several units
// and levels, and many metrics.
func richDB() (*DB, time.Time) {
	db := New()
	r := rand.New(rand.NewPCG(7, 8))
	now := t0.Add(20 * 24 * time.Hour)
	for i := range 3000 {
		at := t0.Add(time.Duration(i) * 10 * time.Minute)
		recv := at
		if recv.After(now) {
			recv = now
		}
		db.Put(testMetric, value(at, float64(i)), recv)
		db.Put(testMetric, Sample{Timestamp: at, Values: []float64{r.Float64(), r.Float64() * 100}, Counts: []float64{2, 1}, Unit: "Milliseconds"}, recv)
		db.Put(NewMetric("App", "Sets", nil), Sample{Timestamp: at, Stats: &StatSet{SampleCount: 3, Sum: 6, Min: 1, Max: 3}}, recv)
		db.Put(NewMetric("App", "Fast", []Dimension{{"Host", "a\x00b"}}), highRes(now.Add(-time.Duration(i)*time.Second), float64(i%5)), now)
	}
	return db, now
}

func TestSnapshotRoundTrip(t *testing.T) {
	db, now := richDB()
	db.Compact(now)
	data, err := db.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got := New()
	got.Put(NewMetric("Stale", "M", nil), value(now, 1), now) // replaced by the load
	if err := got.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if got.Len() != db.Len() {
		t.Errorf("Len = %d after load, want %d", got.Len(), db.Len())
	}
	want, have := db.List(ListFilter{AllRetained: true}, now), got.List(ListFilter{AllRetained: true}, now)
	if !slices.EqualFunc(want, have, func(a, b Metric) bool { return a.Key() == b.Key() }) {
		t.Fatalf("List after load = %v, want %v", have, want)
	}
	for _, m := range want {
		for _, unit := range []string{"", "None", "Milliseconds"} {
			q := Query{Metric: m, Start: now.Add(-30 * 24 * time.Hour), End: now, Period: time.Hour, Unit: unit}
			a, b := db.Query(q, now), got.Query(q, now)
			if !slices.Equal(statsOf(a), statsOf(b)) {
				t.Fatalf("%v unit %q: Query after load differs", m, unit)
			}
			for i := range a {
				if !a[i].dist.equal(b[i].dist) {
					t.Fatalf("%v unit %q bucket %d: distribution differs after load", m, unit, i)
				}
			}
		}
	}
	// Recently active survives the load.
	if a, b := db.List(ListFilter{RecentlyActive: true}, now), got.List(ListFilter{RecentlyActive: true}, now); len(a) != len(b) {
		t.Errorf("RecentlyActive lists %d metrics after load, want %d", len(b), len(a))
	}
	// The same contents give the same bytes.
	again, _ := got.MarshalBinary()
	if !bytes.Equal(data, again) {
		t.Error("snapshot of the loaded DB differs from the original snapshot")
	}
}

func TestUnmarshalRejectsDamage(t *testing.T) {
	db, _ := richDB()
	data, _ := db.MarshalBinary()
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"other_file", []byte("PK\x03\x04 not a snapshot")},
		{"truncated", data[:len(data)/2]},
		{"trailing_bytes", append(slices.Clone(data), 0)},
		{"no_metrics_count", []byte(snapshotMagic)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fresh := New()
			fresh.Put(testMetric, value(t0, 1), t0)
			err := fresh.UnmarshalBinary(tt.data)
			if !errors.Is(err, errCorrupt) {
				t.Errorf("UnmarshalBinary = %v, want a corrupt-snapshot error", err)
			}
			if fresh.Len() != 1 {
				t.Errorf("a failed load changed the DB")
			}
		})
	}
	future := slices.Clone(data)
	future[len(snapshotMagic)-1] = 99
	if err := New().UnmarshalBinary(future); err == nil || errors.Is(err, errCorrupt) {
		t.Errorf("UnmarshalBinary of a future version = %v, want a version error", err)
	}
}

func TestSnapshotOfEmptyDB(t *testing.T) {
	data, err := New().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	db := New()
	if err := db.UnmarshalBinary(data); err != nil || db.Len() != 0 {
		t.Errorf("UnmarshalBinary = %v, Len %d", err, db.Len())
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	small := New()
	small.Put(testMetric, value(t0, 1), t0)
	small.Put(testMetric, Sample{Timestamp: t0, Values: []float64{1, 2, 3}}, t0)
	small.Put(testMetric, highRes(sec(1), 1), t0)
	small.Put(NewMetric("N", "M", nil), Sample{Timestamp: t0, Stats: &StatSet{SampleCount: 2, Sum: 3, Min: 1, Max: 2}, Unit: "Count"}, t0)
	data, _ := small.MarshalBinary()
	f.Add(data)
	empty, _ := New().MarshalBinary()
	f.Add(empty)
	f.Fuzz(func(t *testing.T, data []byte) {
		db := New()
		if err := db.UnmarshalBinary(data); err != nil {
			return
		}
		// Whatever loaded must work and round-trip.
		for _, m := range db.List(ListFilter{AllRetained: true}, t0) {
			for _, b := range db.Query(Query{Metric: m, Start: t0.Add(-1000 * 24 * time.Hour), End: t0.Add(1000 * 24 * time.Hour), Period: 24 * time.Hour}, t0) {
				b.Statistic("p99")
				b.Statistic("TM(10%:90%)")
			}
		}
		db.Compact(t0)
		again, err := db.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := New().UnmarshalBinary(again); err != nil {
			t.Fatalf("snapshot of a loaded DB does not load: %v", err)
		}
	})
}
