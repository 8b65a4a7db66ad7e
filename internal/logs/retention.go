package logs

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/logs"
	"github.com/nephele-dev/nephele/internal/store"
)

// retentionDays are the values PutRetentionPolicy accepts (the Days shape
// of the model lists them in its documentation, not as a constraint, so
// the handler checks them).
var retentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// day is a retention day: events expire a whole number of 24-hour days
// after their timestamp.
const day = 24 * time.Hour

// retentionCutoff is the timestamp, in milliseconds, before which a
// group's events have expired at now; minTime when they never do.
func retentionCutoff(g *groupRecord, now int64) int64 {
	if g.RetentionDays <= 0 {
		return minTime
	}
	return now - int64(g.RetentionDays)*day.Milliseconds()
}

// minTime is a timestamp before every event.
const minTime = -1 << 63

// PutRetentionPolicy sets how many days a group keeps its events. Events
// older than that vanish from reads at once and from the store at the
// retention controller's next pass.
func (s *Service) PutRetentionPolicy(ctx context.Context, in *api.PutRetentionPolicyInput) (*api.PutRetentionPolicyOutput, error) {
	days := int32(0)
	if in.RetentionInDays != nil {
		days = *in.RetentionInDays
	}
	if !slices.Contains(retentionDays, days) {
		vals := make([]string, len(retentionDays))
		for i, d := range retentionDays {
			vals[i] = strconv.Itoa(int(d))
		}
		return nil, invalidParameter("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
			days, strings.Join(vals, ", "))
	}
	err := s.updateGroup(scopeOf(ctx), str(in.LogGroupName), func(g *groupRecord) error {
		g.RetentionDays = days
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.PutRetentionPolicyOutput{}, nil
}

// DeleteRetentionPolicy makes a group keep its events for ever.
func (s *Service) DeleteRetentionPolicy(ctx context.Context, in *api.DeleteRetentionPolicyInput) (*api.DeleteRetentionPolicyOutput, error) {
	err := s.updateGroup(scopeOf(ctx), str(in.LogGroupName), func(g *groupRecord) error {
		g.RetentionDays = 0
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteRetentionPolicyOutput{}, nil
}

// runRetention is the retention controller: on every tick of the clock it
// deletes the chunks whose events have all expired, until ctx ends. It is
// level-triggered (each pass reads every group's policy afresh), so a
// missed or failed pass is made up by the next.
func (s *Service) runRetention(ctx context.Context) {
	t := s.clk.NewTicker(s.opts.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			if n, err := s.prune(); err != nil {
				s.opts.Logger.Error("logs: deleting expired events", "err", err)
			} else if n > 0 {
				s.opts.Logger.Debug("logs: deleted expired events", "chunks", n)
			}
		}
	}
}

// prune deletes every chunk whose newest event is older than its group's
// retention and returns how many it deleted. Chunks with some live events
// stay whole; reads hide their expired events. A read-only pass looks for
// work first, so that an idle pass costs no write (an fsync with
// --data-dir).
func (s *Service) prune() (int, error) {
	now := s.nowMillis()
	var found bool
	err := s.st.View(func(tx store.Tx) error {
		return forEachExpired(tx, now, func(string, string, int64) error {
			found = true
			return errStop
		})
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, err
	}
	if !found {
		return 0, nil
	}
	deleted := 0
	err = s.st.Update(func(tx store.Tx) error {
		groups, streams := map[string]int64{}, map[string]int64{} // key → bytes deleted
		err := forEachExpired(tx, now, func(gk, ck string, bytes int64) error {
			deleted++
			groups[gk] += bytes
			streams[streamKeyOfChunk(ck)] += bytes
			return tx.Delete(bucketChunks, ck)
		})
		if err != nil {
			return err
		}
		for k, bytes := range groups {
			var g groupRecord
			if err := tx.Get(bucketGroups, k, &g); err != nil {
				return err
			}
			g.StoredBytes = max(0, g.StoredBytes-bytes)
			if err := tx.Put(bucketGroups, k, &g); err != nil {
				return err
			}
		}
		for k, bytes := range streams {
			var st streamRecord
			ok, err := get(tx, bucketStreams, k, &st)
			if err != nil {
				return err
			}
			if ok {
				st.StoredBytes = max(0, st.StoredBytes-bytes)
				if err := tx.Put(bucketStreams, k, &st); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return deleted, err
}

// errStop ends a walk early.
var errStop = errors.New("logs: stop")

// forEachExpired calls fn with the group key, the chunk key and the bytes
// of every chunk whose events have all passed their group's retention.
func forEachExpired(tx store.Tx, now int64, fn func(gk, ck string, bytes int64) error) error {
	var groups []groupRecord
	var keys []string
	err := tx.ForEach(bucketGroups, "", func(k string, decode func(any) error) error {
		var g groupRecord
		if err := decode(&g); err != nil {
			return err
		}
		if g.RetentionDays > 0 {
			groups, keys = append(groups, g), append(keys, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, gk := range keys {
		cutoff := retentionCutoff(&groups[i], now)
		err := tx.ForEach(bucketChunks, childPrefix(gk), func(ck string, decode func(any) error) error {
			var c chunkRecord
			if err := decode(&c); err != nil {
				return err
			}
			bytes := int64(0)
			for _, e := range c.Events {
				if e.Time >= cutoff {
					return nil
				}
				bytes += int64(e.size())
			}
			return fn(gk, ck, bytes)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
