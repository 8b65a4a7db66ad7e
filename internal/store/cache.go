package store

import (
	"reflect"
	"sync"
)

// The memory store keeps records encoded, as the durable store does, so
// every read is a copy; decoding JSON is then most of what a read costs
// (a DescribeInstances over 1,000 instances decodes 1,000 records). A
// decoded cache keeps, per record, the value it last decoded to, and
// serves later reads of the same record into the same type with a deep
// copy made by reflection, which is several times cheaper than decoding.
//
// An entry is valid only for the exact byte slice it was decoded from:
// stored slices are replaced, never changed, so a write makes the entry
// stale by itself, and the entry holding the slice keeps its address from
// being reused by another record. apply drops entries of written keys so
// that stale ones do not pile up.

// decoded is one cached decoding.
type decoded struct {
	rec []byte
	val reflect.Value // of the type decoded into, not a pointer
}

// decodeCache maps bucket → key → decoding.
type decodeCache struct {
	mu sync.Mutex
	m  map[string]map[string]decoded
}

// get fills v (a pointer to a zero value) from the cache if rec was
// decoded into v's type before, and reports whether it did.
func (c *decodeCache) get(bucket, key string, rec []byte, v any) bool {
	pv := reflect.ValueOf(v)
	if pv.Kind() != reflect.Pointer || pv.IsNil() || !pv.Elem().IsZero() {
		return false
	}
	c.mu.Lock()
	d, ok := c.m[bucket][key]
	c.mu.Unlock()
	if !ok || len(d.rec) != len(rec) || len(rec) == 0 || &d.rec[0] != &rec[0] || d.val.Type() != pv.Elem().Type() {
		return false
	}
	pv.Elem().Set(deepCopy(d.val))
	return true
}

// put remembers that rec decodes to what v points at.
func (c *decodeCache) put(bucket, key string, rec []byte, v any) {
	pv := reflect.ValueOf(v)
	if pv.Kind() != reflect.Pointer || pv.IsNil() || len(rec) == 0 {
		return
	}
	val := deepCopy(pv.Elem())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]map[string]decoded{}
	}
	b := c.m[bucket]
	if b == nil {
		b = map[string]decoded{}
		c.m[bucket] = b
	}
	b[key] = decoded{rec: rec, val: val}
}

// drop forgets a record's decoding.
func (c *decodeCache) drop(bucket, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m[bucket], key)
}

// clear forgets everything.
func (c *decodeCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// deepCopy returns a copy of v that shares no pointer, slice or map with
// it. Structs are copied whole first, so fields the copy cannot reach
// (unexported ones, such as time.Time's) keep their values; what JSON can
// decode into is then copied in depth.
func deepCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	copyInto(out, v)
	return out
}

func copyInto(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyInto(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Struct:
		dst.Set(src)
		for i := range src.NumField() {
			if f := dst.Field(i); f.CanSet() && hasReferences(f.Kind()) {
				copyInto(f, src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			copyInto(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		iter := src.MapRange()
		for iter.Next() {
			m.SetMapIndex(iter.Key(), deepCopy(iter.Value()))
		}
		dst.Set(m)
	case reflect.Array:
		for i := range src.Len() {
			copyInto(dst.Index(i), src.Index(i))
		}
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		dst.Set(deepCopy(src.Elem()))
	default:
		dst.Set(src)
	}
}

// hasReferences reports whether a kind may hold pointers, slices or maps.
func hasReferences(k reflect.Kind) bool {
	switch k {
	case reflect.Pointer, reflect.Struct, reflect.Slice, reflect.Map, reflect.Interface, reflect.Array:
		return true
	}
	return false
}
