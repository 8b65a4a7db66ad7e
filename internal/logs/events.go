package logs

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/logs"
	"github.com/nephele-dev/nephele/internal/store"
)

// The PutLogEvents batch rules (see its API reference).
const (
	// maxBatchBytes bounds a batch: its messages in UTF-8 plus
	// eventOverhead per event.
	maxBatchBytes = 1_048_576
	// maxPast is how old an event may be; older ones are rejected as too
	// old (as are those older than the group's retention, as expired).
	maxPast = 14 * day
	// maxFuture is how far ahead of now an event may be; later ones are
	// rejected as too new.
	maxFuture = 2 * time.Hour
	// maxSpan is the most the accepted events of one batch may span.
	maxSpan = 24 * time.Hour
)

// The GetLogEvents and FilterLogEvents response limits: "Each page returned
// can contain up to 1 MB of log events or up to 10,000 log events."
const (
	maxPageEvents = 10_000
	maxPageBytes  = 1_048_576
)

// Chunk sizes. A chunk still open takes later appends until it would pass
// either bound, so a stream fed an event at a time (console output, SDK
// loggers) does not become a record per event, and no append rewrites
// more than chunkMaxBytes. A batch larger than that is a chunk of its own.
const (
	chunkMaxBytes  = 16 << 10
	chunkMaxEvents = 256
)

// Event is one log event appended by another part of nephele (see Append).
type Event struct {
	// Timestamp is when the event happened; it is kept to the millisecond.
	Timestamp time.Time
	// Message is the event's text, such as one line of console output.
	Message string
}

// Append adds events to a log stream of account and region on behalf of
// another service, such as EC2 mirroring an instance's console output,
// creating the group and the stream if they do not exist. Unlike
// PutLogEvents it takes events in any order and of any age (expired ones
// simply stay hidden), since the caller is nephele itself.
func (s *Service) Append(ctx context.Context, account, region, group, stream string, events []Event) error {
	if !validGroupName.MatchString(group) || len(group) > 512 {
		return fmt.Errorf("logs: invalid log group name %q", group)
	}
	if !validStreamName.MatchString(stream) || len(stream) > 512 {
		return fmt.Errorf("logs: invalid log stream name %q", stream)
	}
	sc := scope{account: account, region: region}
	now := s.clk.Now().UTC()
	evs := make([]eventRecord, len(events))
	for i, e := range events {
		// Timestamps before the epoch are outside the API's range
		// (Timestamp has a minimum of 0); they are kept as the epoch.
		evs[i] = eventRecord{Time: max(0, millis(e.Timestamp)), Ingested: millis(now), Message: e.Message}
	}
	slices.SortStableFunc(evs, func(a, b eventRecord) int { return cmp.Compare(a.Time, b.Time) })
	return s.st.Update(func(tx store.Tx) error {
		gk := groupKey(sc, group)
		var g groupRecord
		ok, err := get(tx, bucketGroups, gk, &g)
		if err != nil {
			return err
		}
		if !ok {
			g = groupRecord{Name: group, Created: now, Class: defaultClass}
		}
		sk := streamKey(gk, stream)
		var st streamRecord
		ok, err = get(tx, bucketStreams, sk, &st)
		if err != nil {
			return err
		}
		if !ok {
			st = streamRecord{Name: stream, Created: now}
		}
		if err := appendEvents(tx, gk, &g, &st, evs); err != nil {
			return err
		}
		if err := tx.Put(bucketStreams, sk, &st); err != nil {
			return err
		}
		return tx.Put(bucketGroups, gk, &g)
	})
}

// The name rules of the model's LogGroupName and LogStreamName, for
// Append, whose callers the gateway's validation does not see.
var (
	validGroupName  = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]+$`)
	validStreamName = regexp.MustCompile(`^[^:*]+$`)
)

// appendEvents stores events (in timestamp order) in the stream st of the
// group g whose key is gk, and updates both records' counts; the caller
// puts the two records.
func appendEvents(tx store.Tx, gk string, g *groupRecord, st *streamRecord, evs []eventRecord) error {
	if len(evs) == 0 {
		return nil
	}
	sk := streamKey(gk, st.Name)
	bytes := 0
	for _, e := range evs {
		bytes += e.size()
	}
	var c chunkRecord
	open := false
	if st.OpenChunk != 0 && st.OpenChunkBytes+bytes <= chunkMaxBytes && st.OpenChunkEvents+len(evs) <= chunkMaxEvents {
		var err error
		// The open chunk may have expired and been deleted since.
		if open, err = get(tx, bucketChunks, chunkKey(sk, st.OpenChunk), &c); err != nil {
			return err
		}
	}
	if !open {
		g.NextSeq++
		c = chunkRecord{}
		st.OpenChunk, st.OpenChunkBytes, st.OpenChunkEvents = g.NextSeq, 0, 0
	}
	c.Events = append(c.Events, evs...)
	if err := tx.Put(bucketChunks, chunkKey(sk, st.OpenChunk), &c); err != nil {
		return err
	}
	st.OpenChunkBytes += bytes
	st.OpenChunkEvents += len(evs)

	first, last := evs[0].Time, evs[len(evs)-1].Time
	if !st.HasEvents || first < st.FirstEvent {
		st.FirstEvent = first
	}
	if !st.HasEvents || last > st.LastEvent {
		st.LastEvent = last
	}
	st.HasEvents = true
	st.LastIngestion = evs[len(evs)-1].Ingested
	st.StoredBytes += int64(bytes)
	g.StoredBytes += int64(bytes)
	return nil
}

// PutLogEvents uploads a batch of events to a stream, by AWS's rules: the
// batch must be in chronological order, within the size limit and (its
// accepted events) within 24 hours; events too old, expired by the group's
// retention or too far in the future are left out and reported in
// rejectedLogEventsInfo rather than failing the call. The sequence token
// is accepted and ignored, as AWS now does.
func (s *Service) PutLogEvents(ctx context.Context, in *api.PutLogEventsInput) (*api.PutLogEventsOutput, error) {
	sc := scopeOf(ctx)
	group, stream := str(in.LogGroupName), str(in.LogStreamName)
	size := 0
	for i, e := range in.LogEvents {
		size += len(str(e.Message)) + eventOverhead
		if i > 0 && ts(e) < ts(in.LogEvents[i-1]) {
			return nil, invalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if size > maxBatchBytes {
		return nil, invalidParameter("Upload too large: %d bytes exceeds limit of %d", size, maxBatchBytes)
	}
	nowMs := s.nowMillis()
	var out api.PutLogEventsOutput
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, group)
		if err != nil {
			return err
		}
		st, err := loadStream(tx, sc, group, stream)
		if err != nil {
			return err
		}
		accepted, rejected := screen(in.LogEvents, nowMs, retentionCutoff(g, nowMs))
		if n := len(accepted); n > 0 && accepted[n-1].Time-accepted[0].Time > maxSpan.Milliseconds() {
			return invalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
		}
		gk := groupKey(sc, group)
		if err := appendEvents(tx, gk, g, st, accepted); err != nil {
			return err
		}
		st.Uploads++
		if err := tx.Put(bucketStreams, streamKey(gk, stream), st); err != nil {
			return err
		}
		if err := tx.Put(bucketGroups, gk, g); err != nil {
			return err
		}
		out.NextSequenceToken = ptr(sequenceToken(st.Uploads))
		out.RejectedLogEventsInfo = rejected
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ts is an input event's timestamp; absent is 0 (the model requires it).
func ts(e api.InputLogEvent) int64 {
	if e.Timestamp == nil {
		return 0
	}
	return *e.Timestamp
}

// screen splits a chronological batch into the events to store and the
// report of those rejected: a prefix too old (over 14 days) or expired
// (older than the group's retention), and a suffix too new (over 2 hours
// ahead). It returns nil rejections when every event is accepted.
func screen(in []api.InputLogEvent, now, cutoff int64) ([]eventRecord, *api.RejectedLogEventsInfo) {
	tooOld, expired, tooNew := -1, -1, len(in)
	for i, e := range in {
		switch t := ts(e); {
		case t < now-maxPast.Milliseconds():
			tooOld = i
		case t < cutoff:
			expired = i
		case t > now+maxFuture.Milliseconds():
			tooNew = min(tooNew, i)
		}
	}
	var accepted []eventRecord
	for i := max(tooOld, expired) + 1; i < tooNew; i++ {
		e := in[i]
		accepted = append(accepted, eventRecord{Time: ts(e), Ingested: now, Message: str(e.Message)})
	}
	if tooOld < 0 && expired < 0 && tooNew == len(in) {
		return accepted, nil
	}
	var info api.RejectedLogEventsInfo
	if tooOld >= 0 {
		info.TooOldLogEventEndIndex = ptr(int32(tooOld))
	}
	if expired >= 0 {
		info.ExpiredLogEventEndIndex = ptr(int32(expired))
	}
	if tooNew < len(in) {
		info.TooNewLogEventStartIndex = ptr(int32(tooNew))
	}
	return accepted, &info
}

// storedEvent is an event read back, with its place in the group: the
// chunk that holds it and its index there. (Time, Seq, Index) is unique in
// the group and orders its events by timestamp, then by ingestion.
type storedEvent struct {
	eventRecord
	Stream string
	Seq    int64
	Index  int
}

// position is a place between events of a stream: the events at or after
// it sort at or after (Time, Seq, Index).
type position struct {
	Time  int64
	Seq   int64
	Index int64
}

func (e storedEvent) position() position { return position{e.Time, e.Seq, int64(e.Index)} }

func (p position) compare(q position) int {
	return cmp.Or(cmp.Compare(p.Time, q.Time), cmp.Compare(p.Seq, q.Seq), cmp.Compare(p.Index, q.Index))
}

// after is the position just after an event's.
func (e storedEvent) after() position { return position{e.Time, e.Seq, int64(e.Index) + 1} }

// digits renders a position as the 56 digits of a GetLogEvents token.
func (p position) digits() string { return fmt.Sprintf("%020d%018d%018d", p.Time, p.Seq, p.Index) }

// parseToken reads a GetLogEvents token, "f/" or "b/" and 56 digits.
func parseToken(tok string) (forward bool, p position, err error) {
	dir, digits, ok := strings.Cut(tok, "/")
	if !ok || (dir != "f" && dir != "b") || len(digits) != 56 || strings.Trim(digits, "0123456789") != "" {
		return false, p, badToken()
	}
	var vals [3]int64
	for i, part := range []string{digits[:20], digits[20:38], digits[38:]} {
		if vals[i], err = strconv.ParseInt(part, 10, 64); err != nil {
			return false, p, badToken()
		}
	}
	return dir == "f", position{vals[0], vals[1], vals[2]}, nil
}

// readEvents returns the live events of the chunks under key k (a
// stream's, or a group's for all its streams) whose timestamps are in
// [from, to), in (Time, Seq, Index) order. Events older than cutoff have
// expired and are left out.
func readEvents(tx store.Tx, k string, from, to, cutoff int64, keep func(streamKey string) bool) ([]storedEvent, error) {
	from = max(from, cutoff)
	var out []storedEvent
	err := tx.ForEach(bucketChunks, childPrefix(k), func(ck string, decode func(any) error) error {
		sk := streamKeyOfChunk(ck)
		if keep != nil && !keep(sk) {
			return nil
		}
		seq, err := strconv.ParseInt(ck[len(sk)+1:], 10, 64)
		if err != nil {
			return fmt.Errorf("logs: chunk key %q: %w", ck, err)
		}
		var c chunkRecord
		if err := decode(&c); err != nil {
			return err
		}
		stream := sk[strings.LastIndexByte(sk, ':')+1:]
		for i, e := range c.Events {
			if e.Time >= from && e.Time < to {
				out = append(out, storedEvent{eventRecord: e, Stream: stream, Seq: seq, Index: i})
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b storedEvent) int { return a.position().compare(b.position()) })
	return out, err
}

// timeRange reads optional startTime and endTime members as [from, to).
// endTime excludes events at that time for GetLogEvents ("Events with a
// timestamp equal to or later than this time are not included") but
// includes them for FilterLogEvents ("Events with a timestamp later than
// this time are not returned").
func timeRange(start, end *int64, endInclusive bool) (from, to int64) {
	from, to = minTime, 1<<63-1
	if start != nil {
		from = *start
	}
	if end != nil {
		to = *end
		if endInclusive && to < 1<<63-1 {
			to++
		}
	}
	return from, to
}

// GetLogEvents reads a page of a stream's events in timestamp order:
// from the start of the time range (startFromHead) or its end, or on from
// a token. nextForwardToken ("f/...") continues after the page and
// nextBackwardToken ("b/...") before it; at either end of the stream the
// token passed in comes back, which is how clients know they are done.
func (s *Service) GetLogEvents(ctx context.Context, in *api.GetLogEventsInput) (*api.GetLogEventsOutput, error) {
	sc := scopeOf(ctx)
	group, err := resolveGroup(sc, in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	forward := in.StartFromHead != nil && *in.StartFromHead
	var boundary *position
	if in.NextToken != nil {
		f, p, err := parseToken(*in.NextToken)
		if err != nil {
			return nil, err
		}
		forward, boundary = f, &p
	}
	limit := maxPageEvents
	if in.Limit != nil && *in.Limit > 0 {
		limit = int(*in.Limit)
	}
	now := s.nowMillis()
	var events []storedEvent
	err = s.st.View(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, group)
		if err != nil {
			return err
		}
		if _, err := loadStream(tx, sc, group, str(in.LogStreamName)); err != nil {
			return err
		}
		from, to := timeRange(in.StartTime, in.EndTime, false)
		events, err = readEvents(tx, streamKey(groupKey(sc, group), str(in.LogStreamName)), from, to, retentionCutoff(g, now), nil)
		return err
	})
	if err != nil {
		return nil, err
	}

	var pg []storedEvent
	var b position // where an empty page leaves both tokens
	if forward {
		i := 0
		if boundary != nil {
			b = *boundary
			i = sort.Search(len(events), func(i int) bool { return events[i].position().compare(b) >= 0 })
		}
		pg = events[i:pageEnd(events, i, limit)]
	} else {
		j := len(events)
		if boundary != nil {
			b = *boundary
			j = sort.Search(len(events), func(i int) bool { return events[i].position().compare(b) >= 0 })
		}
		pg = events[pageStart(events, j, limit):j]
	}
	fwd, bwd := b, b
	if len(pg) > 0 {
		fwd, bwd = pg[len(pg)-1].after(), pg[0].position()
	}
	out := &api.GetLogEventsOutput{
		Events:            make([]api.OutputLogEvent, 0, len(pg)),
		NextForwardToken:  ptr("f/" + fwd.digits()),
		NextBackwardToken: ptr("b/" + bwd.digits()),
	}
	for _, e := range pg {
		out.Events = append(out.Events, api.OutputLogEvent{Timestamp: ptr(e.Time), IngestionTime: ptr(e.Ingested), Message: ptr(e.Message)})
	}
	return out, nil
}

// pageEnd is where a page starting at events[i] ends: after limit events
// or before the one that would take it past maxPageBytes.
func pageEnd(events []storedEvent, i, limit int) int {
	bytes, j := 0, i
	for ; j < len(events) && j-i < limit; j++ {
		if bytes += events[j].size(); bytes > maxPageBytes && j > i {
			break
		}
	}
	return j
}

// pageStart is where a page ending before events[j] starts, by the same
// limits as pageEnd.
func pageStart(events []storedEvent, j, limit int) int {
	bytes, i := 0, j
	for ; i > 0 && j-i < limit; i-- {
		if bytes += events[i-1].size(); bytes > maxPageBytes && i < j {
			break
		}
	}
	return i
}
