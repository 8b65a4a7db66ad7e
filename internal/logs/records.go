package logs

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nephele-dev/nephele/internal/store"
)

// Store buckets and their keys. Log group names may not contain ':' and
// log stream names may not contain ':' or '*' (the LogGroupName and
// LogStreamName patterns of the model), so ':' separates the parts of a
// key without ambiguity and a key prefix never matches a longer name by
// accident:
//
//	logs/groups   <account>/<region>/<group>
//	logs/streams  <account>/<region>/<group>:<stream>
//	logs/chunks   <account>/<region>/<group>:<stream>:<seq>
//
// Keys sort as DescribeLogGroups and DescribeLogStreams list (ASCII order
// of the names), and every record of a group sits under the prefix
// "<account>/<region>/<group>:" of the streams and chunks buckets.
const (
	bucketGroups  = "logs/groups"
	bucketStreams = "logs/streams"
	bucketChunks  = "logs/chunks"
)

// regionPrefix is the key prefix of every group of a scope.
func regionPrefix(sc scope) string { return sc.account + "/" + sc.region + "/" }

// groupKey is the key of a log group.
func groupKey(sc scope, group string) string { return regionPrefix(sc) + group }

// streamKey is the key of a log stream of the group whose key is gk.
func streamKey(gk, stream string) string { return gk + ":" + stream }

// childPrefix is the prefix of every stream or chunk key below key k (a
// group's or a stream's).
func childPrefix(k string) string { return k + ":" }

// chunkKey is the key of chunk seq of the stream whose key is sk. The
// sequence number is zero-padded so chunks sort in the order written.
func chunkKey(sk string, seq int64) string { return fmt.Sprintf("%s:%016d", sk, seq) }

// streamKeyOfChunk returns the key of the stream a chunk key belongs to.
func streamKeyOfChunk(ck string) string {
	return ck[:strings.LastIndexByte(ck, ':')]
}

// groupRecord is a stored log group.
type groupRecord struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// RetentionDays is 0 when events never expire.
	RetentionDays      int32             `json:"retentionDays,omitempty"`
	KMSKeyID           string            `json:"kmsKeyId,omitempty"`
	Class              string            `json:"class"`
	DeletionProtection bool              `json:"deletionProtection,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	// NextSeq numbers the group's next chunk. Numbers are unique in the
	// group, so (timestamp, chunk, index) orders and identifies every
	// event of the group, across streams, in the order it was ingested.
	NextSeq int64 `json:"nextSeq"`
	// StoredBytes counts the bytes of the events kept, as the group's
	// storedBytes reports; the retention controller subtracts what it
	// deletes.
	StoredBytes int64 `json:"storedBytes"`
}

// streamRecord is a stored log stream. Its events are in chunk records.
type streamRecord struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// FirstEvent, LastEvent and LastIngestion are in milliseconds; they
	// are meaningful only once HasEvents is set.
	HasEvents     bool  `json:"hasEvents,omitempty"`
	FirstEvent    int64 `json:"firstEvent,omitempty"`
	LastEvent     int64 `json:"lastEvent,omitempty"`
	LastIngestion int64 `json:"lastIngestion,omitempty"`
	// Uploads counts accepted PutLogEvents calls; it is the sequence
	// token AWS still returns, though it no longer checks it.
	Uploads     int64 `json:"uploads,omitempty"`
	StoredBytes int64 `json:"storedBytes,omitempty"`
	// OpenChunk is the chunk small appends are added to until it is full
	// (0: none), with its size so far.
	OpenChunk       int64 `json:"openChunk,omitempty"`
	OpenChunkBytes  int   `json:"openChunkBytes,omitempty"`
	OpenChunkEvents int   `json:"openChunkEvents,omitempty"`
}

// chunkRecord holds events of one stream, in the order they arrived.
type chunkRecord struct {
	Events []eventRecord `json:"events"`
}

// eventRecord is one stored log event; times are in milliseconds.
type eventRecord struct {
	Time     int64  `json:"t"`
	Ingested int64  `json:"i"`
	Message  string `json:"m"`
}

// eventOverhead is what AWS adds to each event's message when it counts
// the size of a batch or of a response ("the sum of all event messages in
// UTF-8, plus 26 bytes for each log event").
const eventOverhead = 26

// size is the event as AWS counts it against batch and response limits.
func (e eventRecord) size() int { return len(e.Message) + eventOverhead }

// get reads the record at bucket/key into v, reporting whether it exists.
func get(tx store.Tx, bucket, k string, v any) (bool, error) {
	err := tx.Get(bucket, k, v)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// loadGroup reads a log group or fails with ResourceNotFoundException.
func loadGroup(tx store.Tx, sc scope, name string) (*groupRecord, error) {
	var g groupRecord
	ok, err := get(tx, bucketGroups, groupKey(sc, name), &g)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, groupNotFound()
	}
	return &g, nil
}

// loadStream reads a log stream of a group or fails with
// ResourceNotFoundException.
func loadStream(tx store.Tx, sc scope, group, name string) (*streamRecord, error) {
	var st streamRecord
	ok, err := get(tx, bucketStreams, streamKey(groupKey(sc, group), name), &st)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, streamNotFound()
	}
	return &st, nil
}

// streamsOf decodes every stream of the group whose key is gk, in name
// order.
func streamsOf(tx store.Tx, gk string) ([]streamRecord, error) {
	var out []streamRecord
	err := tx.ForEach(bucketStreams, childPrefix(gk), func(_ string, decode func(any) error) error {
		var st streamRecord
		if err := decode(&st); err != nil {
			return err
		}
		out = append(out, st)
		return nil
	})
	return out, err
}

// deleteUnder deletes every record of bucket under the prefix of key k.
func deleteUnder(tx store.Tx, bucket, k string) error {
	return tx.ForEach(bucket, childPrefix(k), func(key string, _ func(any) error) error {
		return tx.Delete(bucket, key)
	})
}
