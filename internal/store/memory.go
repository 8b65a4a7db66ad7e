package store

import (
	"slices"
	"strings"
	"sync"
)

// memStore keeps records in maps. Stored byte slices are never modified in
// place, only replaced, so a slice read under the lock stays valid to decode
// after later writes.
type memStore struct {
	mu      sync.RWMutex
	buckets map[string]map[string][]byte // nil once closed
	cache   decodeCache
}

var _ Store = (*memStore)(nil)

// NewMemory returns a Store that keeps state in memory only, for runs
// without --data-dir and for tests. It encodes records exactly as the
// durable store does, so a type that fails to round-trip through JSON
// fails here too rather than only in production.
func NewMemory() Store {
	return &memStore{buckets: map[string]map[string][]byte{}}
}

func (s *memStore) View(fn func(Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.buckets == nil {
		return errClosed
	}
	tx := &memTx{s: s}
	defer tx.finish()
	return fn(tx)
}

func (s *memStore) Update(fn func(Tx) error) error {
	s.mu.Lock()
	// Unlocking in a defer also covers a panicking fn; its pending writes
	// are dropped with the tx, as bbolt rolls back on panic.
	defer s.mu.Unlock()
	if s.buckets == nil {
		return errClosed
	}
	tx := &memTx{s: s, writable: true, pending: map[string]map[string][]byte{}}
	err := fn(tx)
	tx.finish()
	if err != nil {
		return err
	}
	tx.apply()
	return nil
}

func (s *memStore) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets == nil {
		return errClosed
	}
	s.buckets = map[string]map[string][]byte{}
	s.cache.clear()
	return nil
}

func (s *memStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets = nil
	s.cache.clear()
	return nil
}

// memTx buffers an Update's writes in pending and applies them only when
// fn succeeds, which is what makes Update atomic. The caller holds the
// store's lock for the tx's whole life.
type memTx struct {
	s        *memStore
	writable bool
	done     bool
	// pending maps bucket → key → encoded record; a nil record marks a
	// delete. JSON encoding never yields nil, so the two cannot collide.
	pending map[string]map[string][]byte
}

// finish stops a tx that escaped its fn from reading or writing without
// the lock.
func (tx *memTx) finish() { tx.done = true }

// lookup returns the record the tx sees at bucket/key: its own pending
// write or delete first, then committed state.
func (tx *memTx) lookup(bucket, key string) ([]byte, bool) {
	if rec, ok := tx.pending[bucket][key]; ok {
		return rec, rec != nil
	}
	rec, ok := tx.s.buckets[bucket][key]
	return rec, ok
}

func (tx *memTx) Get(bucket, key string, v any) error {
	if tx.done {
		return errTxDone
	}
	rec, ok := tx.lookup(bucket, key)
	if !ok {
		return ErrNotFound
	}
	return tx.decode(bucket, key, rec, v)
}

// decode reads a record into v, from the decoded cache when it can.
func (tx *memTx) decode(bucket, key string, rec []byte, v any) error {
	if tx.s.cache.get(bucket, key, rec, v) {
		return nil
	}
	if err := decode(bucket, key, rec, v); err != nil {
		return err
	}
	tx.s.cache.put(bucket, key, rec, v)
	return nil
}

func (tx *memTx) Put(bucket, key string, v any) error {
	if err := tx.checkWrite(); err != nil {
		return err
	}
	if err := checkNames(bucket, key); err != nil {
		return err
	}
	rec, err := encode(bucket, key, v)
	if err != nil {
		return err
	}
	tx.stage(bucket, key, rec)
	return nil
}

func (tx *memTx) Delete(bucket, key string) error {
	if err := tx.checkWrite(); err != nil {
		return err
	}
	tx.stage(bucket, key, nil)
	return nil
}

func (tx *memTx) checkWrite() error {
	if tx.done {
		return errTxDone
	}
	if !tx.writable {
		return errReadOnly
	}
	return nil
}

func (tx *memTx) stage(bucket, key string, rec []byte) {
	b := tx.pending[bucket]
	if b == nil {
		b = map[string][]byte{}
		tx.pending[bucket] = b
	}
	b[key] = rec
}

// apply makes pending writes committed state. Buckets left empty are
// dropped, as if never created, so Reset and a walk over buckets have
// nothing stale to find.
func (tx *memTx) apply() {
	for bucket, recs := range tx.pending {
		b := tx.s.buckets[bucket]
		for key, rec := range recs {
			tx.s.cache.drop(bucket, key)
			switch {
			case rec != nil && b == nil:
				b = map[string][]byte{}
				tx.s.buckets[bucket] = b
				b[key] = rec
			case rec != nil:
				b[key] = rec
			default:
				delete(b, key)
			}
		}
		if len(b) == 0 {
			delete(tx.s.buckets, bucket)
		}
	}
}

func (tx *memTx) ForEach(bucket, prefix string, fn func(key string, decode func(v any) error) error) error {
	if tx.done {
		return errTxDone
	}
	// The key set is taken once, up front; each record is looked up again
	// just before fn sees it, so records fn deletes are skipped and records
	// it writes are seen as written. Keys fn adds are not visited, which the
	// Tx contract allows (as with ranging over a Go map).
	var keys []string
	for key := range tx.s.buckets[bucket] {
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	for key := range tx.pending[bucket] {
		if strings.HasPrefix(key, prefix) {
			if _, committed := tx.s.buckets[bucket][key]; !committed {
				keys = append(keys, key)
			}
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		rec, ok := tx.lookup(bucket, key)
		if !ok {
			continue
		}
		if err := fn(key, func(v any) error { return tx.decode(bucket, key, rec, v) }); err != nil {
			return err
		}
	}
	return nil
}
