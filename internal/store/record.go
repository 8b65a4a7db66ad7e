package store

import (
	"encoding/json"
	"errors"
	"fmt"
)

// These errors report misuse of a store or transaction. Both implementations
// return errReadOnly and errTxDone, so code tested against the memory store
// fails the same way against the durable one; a closed bolt store reports
// bbolt's own "database not open" instead of errClosed.
var (
	errReadOnly = errors.New("store: write in a read-only transaction")
	errTxDone   = errors.New("store: transaction used after its function returned")
	errClosed   = errors.New("store: closed")
)

// checkNames rejects empty names on write: bbolt cannot hold an empty key
// or bucket name, so the memory store refuses them too rather than accept
// records that would be lost on the way to disk.
func checkNames(bucket, key string) error {
	if bucket == "" {
		return errors.New("store: empty bucket name")
	}
	if key == "" {
		return fmt.Errorf("store: empty key in bucket %s", bucket)
	}
	return nil
}

// encode turns v into the bytes a store keeps. json.Marshal returns a fresh
// slice, so later changes to v cannot reach stored state.
func encode(bucket, key string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("store: encode %s/%s: %w", bucket, key, err)
	}
	return data, nil
}

// decode reads stored bytes into v. json.Unmarshal copies everything it
// keeps (even into a json.RawMessage), so v never aliases store memory.
func decode(bucket, key string, data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("store: decode %s/%s: %w", bucket, key, err)
	}
	return nil
}

// decoder is the decode callback ForEach hands to its fn for one record.
func decoder(bucket, key string, data []byte) func(v any) error {
	return func(v any) error { return decode(bucket, key, data, v) }
}
