package store

import (
	"reflect"
	"testing"
	"time"
)

// cached is a record with every kind of reference a decoded record holds.
type cached struct {
	Name  *string
	When  time.Time
	Tags  []struct{ Key, Value *string }
	Attrs map[string][]int
	Inner *struct{ List []string }
	Any   any
}

func sp(s string) *string { return &s }

// TestDecodeCacheCopiesAndInvalidates checks that reads served from the
// decoded cache are copies (changing one changes neither the store nor a
// later read), that a write is seen at once, and that a read into another
// type or into a value that is not zero decodes afresh.
func TestDecodeCacheCopiesAndInvalidates(t *testing.T) {
	st := NewMemory()
	defer st.Close()
	when := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := cached{Name: sp("a"), When: when, Tags: []struct{ Key, Value *string }{{sp("k"), sp("v")}},
		Attrs: map[string][]int{"x": {1, 2}}, Inner: &struct{ List []string }{[]string{"p"}}, Any: "s"}
	if err := st.Update(func(tx Tx) error { return tx.Put("b", "k", rec) }); err != nil {
		t.Fatal(err)
	}
	read := func() cached {
		var got cached
		if err := st.View(func(tx Tx) error { return tx.Get("b", "k", &got) }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := read()  // decoded and cached
	second := read() // from the cache
	if !reflect.DeepEqual(first, second) || !second.When.Equal(when) || *second.Name != "a" {
		t.Fatalf("cached read differs: %+v vs %+v", first, second)
	}
	*second.Name = "changed"
	*second.Tags[0].Key = "changed"
	second.Attrs["x"][0] = 99
	second.Inner.List[0] = "changed"
	if third := read(); !reflect.DeepEqual(first, third) {
		t.Errorf("a change to a read reached the store: %+v", third)
	}
	var seen []string
	err := st.View(func(tx Tx) error {
		return tx.ForEach("b", "", func(_ string, decode func(any) error) error {
			var c cached
			if err := decode(&c); err != nil {
				return err
			}
			seen = append(seen, *c.Name)
			return nil
		})
	})
	if err != nil || len(seen) != 1 || seen[0] != "a" {
		t.Errorf("ForEach saw %v, %v", seen, err)
	}

	rec.Name = sp("b")
	if err := st.Update(func(tx Tx) error { return tx.Put("b", "k", rec) }); err != nil {
		t.Fatal(err)
	}
	if got := read(); *got.Name != "b" {
		t.Errorf("after a write, read %q", *got.Name)
	}
	var other struct{ Name string }
	if err := st.View(func(tx Tx) error { return tx.Get("b", "k", &other) }); err != nil || other.Name != "b" {
		t.Errorf("read into another type: %+v, %v", other, err)
	}
	notZero := cached{Any: "keep"}
	if err := st.View(func(tx Tx) error { return tx.Get("b", "k", &notZero) }); err != nil || *notZero.Name != "b" {
		t.Errorf("read into a non-zero value: %+v, %v", notZero, err)
	}
	if err := st.Update(func(tx Tx) error { return tx.Delete("b", "k") }); err != nil {
		t.Fatal(err)
	}
	var gone cached
	if err := st.View(func(tx Tx) error { return tx.Get("b", "k", &gone) }); err != ErrNotFound {
		t.Errorf("after delete: %v", err)
	}
}

// BenchmarkMemoryRead compares a read served by the decoded cache with a
// decoding read.
func BenchmarkMemoryRead(b *testing.B) {
	st := NewMemory()
	defer st.Close()
	rec := cached{Name: sp("a"), Tags: make([]struct{ Key, Value *string }, 10), Attrs: map[string][]int{"x": {1, 2}}}
	for i := range rec.Tags {
		rec.Tags[i].Key, rec.Tags[i].Value = sp("key"), sp("value")
	}
	st.Update(func(tx Tx) error { return tx.Put("b", "k", rec) })
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			var got cached
			st.View(func(tx Tx) error { return tx.Get("b", "k", &got) })
		}
	})
	b.Run("decoded", func(b *testing.B) {
		data, _ := encode("b", "k", rec)
		for b.Loop() {
			var got cached
			decode("b", "k", data, &got)
		}
	})
}
