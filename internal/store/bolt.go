package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// dbFile is the name of the bbolt file inside the data dir.
const dbFile = "nephele.db"

// lockTimeout bounds the wait for bbolt's file lock. The lock is held for
// the life of a nephele process and released by the kernel when it dies
// (even by kill -9), so waiting longer would only delay the error a user
// needs to see when two nephele processes share a data dir.
const lockTimeout = time.Second

// boltStore is the durable Store. bbolt already serialises writers, runs
// readers concurrently with them, and fsyncs on every commit (NoSync is
// left false), which is the durability DESIGN.md asks of --data-dir.
type boltStore struct {
	db *bolt.DB
}

var _ Store = (*boltStore)(nil)

// Open opens, creating it if needed, the durable store in dir. Every Update
// that returns nil has been written and fsynced, so state acknowledged to a
// client survives kill -9 and power loss. Only one process may have a dir
// open; a second Open fails after about a second instead of waiting.
func Open(dir string) (Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	path := filepath.Join(dir, dbFile)
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("data dir %s is in use by another nephele: %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if created {
		// bbolt fsyncs the new file but not the directory entry naming it;
		// without this a crash soon after first start could lose the file
		// and with it every commit acknowledged since.
		if err := syncDir(dir); err != nil {
			return nil, errors.Join(err, db.Close())
		}
	}
	return &boltStore{db: db}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: open data dir for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync data dir: %w", err)
	}
	return nil
}

func (s *boltStore) View(fn func(Tx) error) error { return run(s.db.View, "view", fn) }

func (s *boltStore) Update(fn func(Tx) error) error { return run(s.db.Update, "update", fn) }

// run runs fn in a bbolt transaction opened by begin. fn's error is returned
// untouched so callers can match their own errors (AWS API errors, say);
// only the store's own failures, such as a failed commit or fsync, get
// wrapped.
func run(begin func(func(*bolt.Tx) error) error, what string, fn func(Tx) error) error {
	var fnErr error
	err := begin(func(btx *bolt.Tx) error {
		tx := &boltTx{tx: btx}
		defer tx.finish()
		fnErr = fn(tx)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

func (s *boltStore) Reset() error {
	err := s.db.Update(func(btx *bolt.Tx) error {
		// Names are collected first because deleting a bucket while
		// walking the root would invalidate the walk's cursor.
		var names [][]byte
		err := btx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, bytes.Clone(name))
			return nil
		})
		if err != nil {
			return err
		}
		for _, name := range names {
			if err := btx.DeleteBucket(name); err != nil {
				return fmt.Errorf("delete bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: reset: %w", err)
	}
	return nil
}

func (s *boltStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// boltTx wraps a bbolt transaction. bbolt's memory (its mmap) is only
// valid while the transaction is open, so the wrapper refuses use after
// fn returns instead of letting a leaked Tx read freed pages.
type boltTx struct {
	tx   *bolt.Tx
	done bool
	// writes counts Puts and Deletes, so ForEach can tell when fn has
	// changed the tree under its cursor.
	writes int
}

func (tx *boltTx) finish() { tx.done = true }

func (tx *boltTx) Get(bucket, key string, v any) error {
	if tx.done {
		return errTxDone
	}
	b := tx.tx.Bucket([]byte(bucket))
	if b == nil {
		return ErrNotFound
	}
	rec := b.Get([]byte(key))
	if rec == nil {
		return ErrNotFound
	}
	return decode(bucket, key, rec, v)
}

func (tx *boltTx) Put(bucket, key string, v any) error {
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
	b, err := tx.tx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return fmt.Errorf("store: create bucket %s: %w", bucket, err)
	}
	if err := b.Put([]byte(key), rec); err != nil {
		return fmt.Errorf("store: put %s/%s: %w", bucket, key, err)
	}
	tx.writes++
	return nil
}

func (tx *boltTx) Delete(bucket, key string) error {
	if err := tx.checkWrite(); err != nil {
		return err
	}
	b := tx.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	if err := b.Delete([]byte(key)); err != nil {
		return fmt.Errorf("store: delete %s/%s: %w", bucket, key, err)
	}
	tx.writes++
	return nil
}

func (tx *boltTx) checkWrite() error {
	if tx.done {
		return errTxDone
	}
	if !tx.tx.Writable() {
		return errReadOnly
	}
	return nil
}

func (tx *boltTx) ForEach(bucket, prefix string, fn func(key string, decode func(v any) error) error) error {
	if tx.done {
		return errTxDone
	}
	b := tx.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	p := []byte(prefix)
	c := b.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); {
		key := string(k)
		writes := tx.writes
		// The record is copied because fn may write to the bucket, and
		// bbolt does not promise that slices it returned survive that.
		if err := fn(key, decoder(bucket, key, bytes.Clone(v))); err != nil {
			return err
		}
		if tx.writes == writes {
			k, v = c.Next()
			continue
		}
		// fn wrote, which may invalidate the cursor (see bolt.Cursor):
		// find our place again by key.
		k, v = c.Seek([]byte(key))
		if k != nil && string(k) == key {
			k, v = c.Next()
		}
	}
	return nil
}
