package store

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// impls are the Store implementations every behaviour is checked against,
// so the memory store used in tests cannot drift from the durable one.
var impls = []struct {
	name string
	open func(tb testing.TB) Store
}{
	{"memory", func(tb testing.TB) Store {
		s := NewMemory()
		tb.Cleanup(func() { s.Close() })
		return s
	}},
	{"bolt", func(tb testing.TB) Store {
		s, err := Open(tb.TempDir())
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			if err := s.Close(); err != nil {
				tb.Error(err)
			}
		})
		return s
	}},
}

type record struct {
	Name string
	Tags []string
	N    int
}

var errBoom = errors.New("boom")

func put(t *testing.T, s Store, bucket, key string, v any) {
	t.Helper()
	if err := s.Update(func(tx Tx) error { return tx.Put(bucket, key, v) }); err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

func get(t *testing.T, s Store, bucket, key string) (record, error) {
	t.Helper()
	var r record
	err := s.View(func(tx Tx) error { return tx.Get(bucket, key, &r) })
	return r, err
}

func mustGet(t *testing.T, s Store, bucket, key string) record {
	t.Helper()
	r, err := get(t, s, bucket, key)
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	return r
}

func wantNotFound(t *testing.T, s Store, bucket, key string) {
	t.Helper()
	if _, err := get(t, s, bucket, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get %s/%s: err = %v, want ErrNotFound", bucket, key, err)
	}
}

// walk returns the keys and names ForEach yields in tx.
func walk(t *testing.T, tx Tx, bucket, prefix string) []string {
	t.Helper()
	var got []string
	err := tx.ForEach(bucket, prefix, func(key string, decode func(any) error) error {
		var r record
		if err := decode(&r); err != nil {
			return err
		}
		got = append(got, key+"="+r.Name)
		return nil
	})
	if err != nil {
		t.Fatalf("ForEach(%q, %q): %v", bucket, prefix, err)
	}
	return got
}

func TestStore(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"round_trip_returns_copy", func(t *testing.T, s Store) {
			orig := record{Name: "a", Tags: []string{"x", "y"}, N: 1}
			err := s.Update(func(tx Tx) error {
				if err := tx.Put("b", "k", &orig); err != nil {
					return err
				}
				orig.Tags[0] = "changed in tx"
				var r record
				if err := tx.Get("b", "k", &r); err != nil {
					return err
				}
				if r.Tags[0] != "x" {
					t.Errorf("in tx: mutating the original after Put changed the record: %+v", r)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			orig.Tags[1] = "changed after commit"
			got := mustGet(t, s, "b", "k")
			want := record{Name: "a", Tags: []string{"x", "y"}, N: 1}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			got.Tags[0] = "changed decoded"
			got.Name = "changed decoded"
			if again := mustGet(t, s, "b", "k"); !reflect.DeepEqual(again, want) {
				t.Fatalf("mutating a decoded value changed the record: %+v", again)
			}
		}},
		{"get_missing_is_not_found", func(t *testing.T, s Store) {
			wantNotFound(t, s, "nobucket", "k")
			put(t, s, "b", "k", record{})
			wantNotFound(t, s, "b", "other")
		}},
		{"failed_update_keeps_nothing", func(t *testing.T, s Store) {
			put(t, s, "b", "keep", record{Name: "old"})
			put(t, s, "b", "doomed", record{Name: "still here"})
			err := s.Update(func(tx Tx) error {
				if err := tx.Put("b", "keep", record{Name: "new"}); err != nil {
					return err
				}
				if err := tx.Put("b", "added", record{Name: "added"}); err != nil {
					return err
				}
				if err := tx.Put("newbucket", "k", record{}); err != nil {
					return err
				}
				if err := tx.Delete("b", "doomed"); err != nil {
					return err
				}
				return errBoom
			})
			if err != errBoom {
				t.Fatalf("Update err = %v, want fn's error unwrapped", err)
			}
			if got := mustGet(t, s, "b", "keep"); got.Name != "old" {
				t.Errorf("keep = %+v, want old", got)
			}
			if got := mustGet(t, s, "b", "doomed"); got.Name != "still here" {
				t.Errorf("doomed = %+v, want still here", got)
			}
			wantNotFound(t, s, "b", "added")
			wantNotFound(t, s, "newbucket", "k")
		}},
		{"panicking_update_keeps_nothing", func(t *testing.T, s Store) {
			func() {
				defer func() {
					if recover() == nil {
						t.Fatal("panic did not propagate")
					}
				}()
				s.Update(func(tx Tx) error {
					if err := tx.Put("b", "k", record{}); err != nil {
						return err
					}
					panic("fn panicked")
				})
			}()
			wantNotFound(t, s, "b", "k")
			put(t, s, "b", "k", record{}) // the store is still usable
		}},
		{"tx_sees_its_own_writes", func(t *testing.T, s Store) {
			put(t, s, "b", "gone", record{Name: "committed"})
			err := s.Update(func(tx Tx) error {
				var r record
				if err := tx.Put("b", "k", record{Name: "first"}); err != nil {
					return err
				}
				if err := tx.Put("b", "k", record{Name: "second"}); err != nil {
					return err
				}
				if err := tx.Get("b", "k", &r); err != nil || r.Name != "second" {
					t.Errorf("after Put: %+v, %v; want second", r, err)
				}
				if err := tx.Delete("b", "gone"); err != nil {
					return err
				}
				if err := tx.Get("b", "gone", &r); !errors.Is(err, ErrNotFound) {
					t.Errorf("after Delete: err = %v, want ErrNotFound", err)
				}
				if err := tx.Put("b", "gone", record{Name: "back"}); err != nil {
					return err
				}
				if err := tx.Get("b", "gone", &r); err != nil || r.Name != "back" {
					t.Errorf("after re-Put: %+v, %v; want back", r, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, s, "b", "gone"); got.Name != "back" {
				t.Fatalf("after commit: %+v, want back", got)
			}
		}},
		{"for_each_key_order_and_prefix", func(t *testing.T, s Store) {
			for _, k := range []string{"i-3", "i-1", "j-1", "i-2", "h-9", "i"} {
				put(t, s, "b", k, record{Name: "old"})
			}
			put(t, s, "other", "i-5", record{Name: "other bucket"})
			want := []string{"i-0=new", "i-1=new", "i-3=old", "i-4=new"}
			err := s.Update(func(tx Tx) error {
				for _, k := range []string{"i-4", "i-1", "i-0", "j-0"} {
					if err := tx.Put("b", k, record{Name: "new"}); err != nil {
						return err
					}
				}
				for _, k := range []string{"i-2", "i-4", "j-1"} {
					if err := tx.Delete("b", k); err != nil {
						return err
					}
				}
				if err := tx.Put("b", "i-4", record{Name: "new"}); err != nil {
					return err
				}
				if got := walk(t, tx, "b", "i-"); !reflect.DeepEqual(got, want) {
					t.Errorf("in tx: %v, want %v", got, want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			s.View(func(tx Tx) error {
				if got := walk(t, tx, "b", "i-"); !reflect.DeepEqual(got, want) {
					t.Errorf("after commit: %v, want %v", got, want)
				}
				all := []string{"h-9=old", "i=old", "i-0=new", "i-1=new", "i-3=old", "i-4=new", "j-0=new"}
				if got := walk(t, tx, "b", ""); !reflect.DeepEqual(got, all) {
					t.Errorf("empty prefix: %v, want %v", got, all)
				}
				if got := walk(t, tx, "b", "z"); got != nil {
					t.Errorf("unmatched prefix: %v, want none", got)
				}
				if got := walk(t, tx, "nobucket", ""); got != nil {
					t.Errorf("missing bucket: %v, want none", got)
				}
				return nil
			})
		}},
		{"for_each_stops_on_fn_error", func(t *testing.T, s Store) {
			for _, k := range []string{"a", "b", "c"} {
				put(t, s, "b", k, record{})
			}
			var seen []string
			err := s.View(func(tx Tx) error {
				return tx.ForEach("b", "", func(key string, _ func(any) error) error {
					seen = append(seen, key)
					if key == "b" {
						return errBoom
					}
					return nil
				})
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("err = %v, want errBoom", err)
			}
			if want := []string{"a", "b"}; !reflect.DeepEqual(seen, want) {
				t.Fatalf("seen %v, want %v", seen, want)
			}
		}},
		{"for_each_fn_may_write_to_the_bucket", func(t *testing.T, s Store) {
			for _, k := range []string{"a", "b", "c", "d", "e"} {
				put(t, s, "b", k, record{Name: k})
			}
			var seen []string
			err := s.Update(func(tx Tx) error {
				return tx.ForEach("b", "", func(key string, decode func(any) error) error {
					seen = append(seen, key)
					// Prune as we go, drop a record not yet reached, and
					// rewrite one that is; the decode of the current record
					// must still work after the writes.
					if err := tx.Delete("b", key); err != nil {
						return err
					}
					if key == "b" {
						if err := tx.Delete("b", "c"); err != nil {
							return err
						}
						if err := tx.Put("b", "d", record{Name: "rewritten"}); err != nil {
							return err
						}
					}
					want := key
					if key == "d" {
						want = "rewritten" // a record is read as it is when reached
					}
					var r record
					if err := decode(&r); err != nil || r.Name != want {
						t.Errorf("decode %s after writes: %+v, %v; want Name %q", key, r, err, want)
					}
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"a", "b", "d", "e"}; !reflect.DeepEqual(seen, want) {
				t.Fatalf("seen %v, want %v", seen, want)
			}
			s.View(func(tx Tx) error {
				if got := walk(t, tx, "b", ""); got != nil {
					t.Errorf("left after pruning: %v", got)
				}
				return nil
			})
		}},
		{"delete_absent_is_ok", func(t *testing.T, s Store) {
			put(t, s, "b", "k", record{})
			err := s.Update(func(tx Tx) error {
				if err := tx.Delete("nobucket", "k"); err != nil {
					return err
				}
				return tx.Delete("b", "absent")
			})
			if err != nil {
				t.Fatal(err)
			}
			mustGet(t, s, "b", "k")
		}},
		{"view_is_read_only", func(t *testing.T, s Store) {
			put(t, s, "b", "k", record{Name: "kept"})
			s.View(func(tx Tx) error {
				if err := tx.Put("b", "k", record{}); err == nil {
					t.Error("Put in View succeeded")
				}
				if err := tx.Delete("b", "k"); err == nil {
					t.Error("Delete in View succeeded")
				}
				return nil
			})
			if got := mustGet(t, s, "b", "k"); got.Name != "kept" {
				t.Fatalf("got %+v", got)
			}
		}},
		{"empty_names_are_refused", func(t *testing.T, s Store) {
			s.Update(func(tx Tx) error {
				if err := tx.Put("", "k", record{}); err == nil {
					t.Error("Put with empty bucket succeeded")
				}
				if err := tx.Put("b", "", record{}); err == nil {
					t.Error("Put with empty key succeeded")
				}
				return nil
			})
		}},
		{"unencodable_value_is_an_error", func(t *testing.T, s Store) {
			err := s.Update(func(tx Tx) error { return tx.Put("b", "k", make(chan int)) })
			if err == nil || !strings.Contains(err.Error(), "b/k") {
				t.Fatalf("err = %v, want an encode error naming b/k", err)
			}
		}},
		{"tx_is_unusable_after_fn_returns", func(t *testing.T, s Store) {
			put(t, s, "b", "k", record{})
			var leaked Tx
			s.Update(func(tx Tx) error { leaked = tx; return nil })
			var r record
			if err := leaked.Get("b", "k", &r); err == nil {
				t.Error("Get on a finished tx succeeded")
			}
			if err := leaked.Put("b", "k", record{}); err == nil {
				t.Error("Put on a finished tx succeeded")
			}
			if err := leaked.ForEach("b", "", func(string, func(any) error) error { return nil }); err == nil {
				t.Error("ForEach on a finished tx succeeded")
			}
		}},
		{"reset_empties", func(t *testing.T, s Store) {
			put(t, s, "b1", "k", record{})
			put(t, s, "b2", "k", record{})
			if err := s.Reset(); err != nil {
				t.Fatal(err)
			}
			wantNotFound(t, s, "b1", "k")
			wantNotFound(t, s, "b2", "k")
			s.View(func(tx Tx) error {
				if got := walk(t, tx, "b1", ""); got != nil {
					t.Errorf("after Reset: %v", got)
				}
				return nil
			})
			put(t, s, "b1", "k", record{Name: "after"})
			if got := mustGet(t, s, "b1", "k"); got.Name != "after" {
				t.Fatalf("got %+v", got)
			}
		}},
		{"concurrent_updates_are_serialised", func(t *testing.T, s Store) {
			const workers, each = 8, 100
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for range each {
						err := s.Update(func(tx Tx) error {
							var c record
							if err := tx.Get("counters", "c", &c); err != nil && !errors.Is(err, ErrNotFound) {
								return err
							}
							c.N++
							return tx.Put("counters", "c", c)
						})
						if err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if got := mustGet(t, s, "counters", "c"); got.N != workers*each {
				t.Fatalf("counter = %d, want %d", got.N, workers*each)
			}
		}},
		{"closed_store_refuses_work", func(t *testing.T, s Store) {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.View(func(Tx) error { return nil }); err == nil {
				t.Error("View after Close succeeded")
			}
			if err := s.Update(func(Tx) error { return nil }); err == nil {
				t.Error("Update after Close succeeded")
			}
		}},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tt.run(t, impl.open(t))
				})
			}
		})
	}
}

func TestBoltReopenFindsData(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "b", "k", record{Name: "durable", Tags: []string{"t"}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := record{Name: "durable", Tags: []string{"t"}}
	if got := mustGet(t, s, "b", "k"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen: %+v, want %+v", got, want)
	}
}

func TestBoltSecondOpenFailsFast(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	start := time.Now()
	s2, err := Open(dir)
	elapsed := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of an open data dir succeeded")
	}
	if want := "data dir " + dir + " is in use by another nephele"; !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %q, want it to contain %q", err, want)
	}
	if elapsed > 5*time.Second {
		t.Fatalf("second Open took %v, want about %v", elapsed, lockTimeout)
	}
}

func TestBoltFileLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Fatalf("mode = %v, want 0600: state may hold credentials and user data", mode)
	}
}

func BenchmarkUpdate(b *testing.B) {
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			s := impl.open(b)
			r := record{Name: "i-0123456789abcdef0", Tags: []string{"running"}}
			for b.Loop() {
				r.N++
				if err := s.Update(func(tx Tx) error { return tx.Put("instances", r.Name, r) }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
