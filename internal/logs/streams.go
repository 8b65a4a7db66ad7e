package logs

import (
	"context"
	"fmt"

	api "github.com/nephele-dev/nephele/internal/api/logs"
	"github.com/nephele-dev/nephele/internal/store"
)

// The values of DescribeLogStreams' orderBy.
const (
	orderByName      = "LogStreamName"
	orderByEventTime = "LastEventTime"
)

// sequenceToken renders a stream's upload count as the 56-digit sequence
// token AWS returns; it no longer checks the tokens it is sent.
func sequenceToken(n int64) string { return fmt.Sprintf("%056d", n) }

// streamOut renders a log stream. storedBytes is always 0, as AWS has
// reported it for streams since June 2019; the event times appear once the
// stream has events.
func streamOut(sc scope, group string, st *streamRecord) api.LogStream {
	out := api.LogStream{
		Arn:           ptr(sc.streamARN(group, st.Name)),
		CreationTime:  ptr(millis(st.Created)),
		LogStreamName: ptr(st.Name),
		StoredBytes:   ptr(int64(0)),
	}
	if st.HasEvents {
		out.FirstEventTimestamp = ptr(st.FirstEvent)
		out.LastEventTimestamp = ptr(st.LastEvent)
		out.LastIngestionTime = ptr(st.LastIngestion)
		out.UploadSequenceToken = ptr(sequenceToken(st.Uploads))
	}
	return out
}

// CreateLogStream creates a log stream in a group.
func (s *Service) CreateLogStream(ctx context.Context, in *api.CreateLogStreamInput) (*api.CreateLogStreamOutput, error) {
	sc := scopeOf(ctx)
	group, name := str(in.LogGroupName), str(in.LogStreamName)
	err := s.st.Update(func(tx store.Tx) error {
		if _, err := loadGroup(tx, sc, group); err != nil {
			return err
		}
		sk := streamKey(groupKey(sc, group), name)
		var existing streamRecord
		ok, err := get(tx, bucketStreams, sk, &existing)
		if err != nil {
			return err
		}
		if ok {
			return streamExists()
		}
		return tx.Put(bucketStreams, sk, &streamRecord{Name: name, Created: s.clk.Now().UTC()})
	})
	if err != nil {
		return nil, err
	}
	return &api.CreateLogStreamOutput{}, nil
}

// DeleteLogStream deletes a log stream and its events.
func (s *Service) DeleteLogStream(ctx context.Context, in *api.DeleteLogStreamInput) (*api.DeleteLogStreamOutput, error) {
	sc := scopeOf(ctx)
	group, name := str(in.LogGroupName), str(in.LogStreamName)
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, group)
		if err != nil {
			return err
		}
		if g.DeletionProtection {
			return deletionProtected()
		}
		st, err := loadStream(tx, sc, group, name)
		if err != nil {
			return err
		}
		gk := groupKey(sc, group)
		sk := streamKey(gk, name)
		if err := deleteUnder(tx, bucketChunks, sk); err != nil {
			return err
		}
		g.StoredBytes = max(0, g.StoredBytes-st.StoredBytes)
		if err := tx.Put(bucketGroups, gk, g); err != nil {
			return err
		}
		return tx.Delete(bucketStreams, sk)
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteLogStreamOutput{}, nil
}

// DescribeLogStreams lists a group's streams by name (optionally those
// with a name prefix) or by the time of their last event, ascending or
// descending.
func (s *Service) DescribeLogStreams(ctx context.Context, in *api.DescribeLogStreamsInput) (*api.DescribeLogStreamsOutput, error) {
	sc := scopeOf(ctx)
	group, err := resolveGroup(sc, in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	byTime := in.OrderBy != nil && *in.OrderBy == orderByEventTime
	if byTime && in.LogStreamNamePrefix != nil {
		return nil, invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	var streams []streamRecord
	err = s.st.View(func(tx store.Tx) error {
		if _, err := loadGroup(tx, sc, group); err != nil {
			return err
		}
		prefix := childPrefix(groupKey(sc, group)) + str(in.LogStreamNamePrefix)
		return tx.ForEach(bucketStreams, prefix, func(_ string, decode func(any) error) error {
			var st streamRecord
			if err := decode(&st); err != nil {
				return err
			}
			streams = append(streams, st)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	key := func(st streamRecord) string { return st.Name }
	if byTime {
		// Streams without events sort as if their last event were at
		// the epoch; the name breaks ties so that the key is unique.
		key = func(st streamRecord) string { return fmt.Sprintf("%020d%s", st.LastEvent, st.Name) }
	}
	descending := in.Descending != nil && *in.Descending
	pg, next, err := paginate(streams, key, in.NextToken, in.Limit, descending)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeLogStreamsOutput{LogStreams: []api.LogStream{}, NextToken: next}
	for _, st := range pg {
		out.LogStreams = append(out.LogStreams, streamOut(sc, group, &st))
	}
	return out, nil
}
