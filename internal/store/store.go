// Package store keeps nephele's state: named buckets of JSON records, in
// memory or, with --data-dir, in a bbolt file where every committed
// transaction is on disk (fsync) before Update returns, so an acknowledged
// mutation survives kill -9.
//
// Records are stored encoded, so every read returns a fresh copy and no
// caller can mutate state behind the store's back.
package store

import "errors"

// ErrNotFound is returned by Tx.Get when the key is absent.
var ErrNotFound = errors.New("store: not found")

// Store is a transactional key-value store of JSON records.
//
// Transactions do not nest: a fn passed to View or Update must not call
// View or Update, because the memory store's lock is not reentrant and
// bbolt can deadlock on a read transaction opened inside a write one.
type Store interface {
	// View runs fn in a read-only transaction: it sees one consistent
	// state, and Put or Delete in it fail. Views may run alongside each
	// other.
	View(fn func(Tx) error) error
	// Update runs fn in a read-write transaction, serialised with every other
	// Update. If fn returns an error nothing it wrote is kept. When Update
	// returns nil the writes are durable (for a durable store). fn's own
	// error is returned unwrapped, so callers can match it.
	Update(fn func(Tx) error) error
	// Reset drops every bucket.
	Reset() error
	// Close releases the store.
	Close() error
}

// Tx is a transaction. Buckets are created on first Put; reading a bucket
// that does not exist behaves as reading an empty one. A Tx is valid only
// until the fn it was passed to returns.
type Tx interface {
	// Get decodes the record at bucket/key into v, or returns ErrNotFound.
	Get(bucket, key string, v any) error
	// Put encodes v as the record at bucket/key.
	Put(bucket, key string, v any) error
	// Delete removes bucket/key; deleting an absent key is not an error.
	Delete(bucket, key string) error
	// ForEach calls fn for each record of bucket whose key starts with
	// prefix, in key order; decode lets fn read the record into a value.
	// Returning an error from fn stops the walk and returns it. fn may
	// Put and Delete in the walked bucket (to prune records, say): records
	// deleted before the walk reaches them are skipped, and records added
	// during the walk may or may not be visited, as with ranging over a
	// Go map.
	ForEach(bucket, prefix string, fn func(key string, decode func(v any) error) error) error
}
