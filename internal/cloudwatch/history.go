package cloudwatch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// bucketHistory holds alarm history items, keyed by scope, time and a
// sequence number, so a scan of a scope reads them in time order.
const bucketHistory = "cloudwatch-history"

// historyRetention is how long CloudWatch keeps alarm history: "Alarm
// history is retained for 30 days".
const historyRetention = 30 * 24 * time.Hour

// historySeq orders items written in the same nanosecond.
var historySeq atomic.Uint64

// historyKey is the store key of a history item.
func historyKey(sc scope, at time.Time) string {
	return sc.Key(fmt.Sprintf("%020d/%010d", at.UnixNano(), historySeq.Add(1)))
}

// addHistory records a history item in tx.
func (s *Service) addHistory(tx store.Tx, sc scope, item api.AlarmHistoryItem) error {
	return tx.Put(bucketHistory, historyKey(sc, *item.Timestamp), item)
}

// DescribeAlarmHistory lists history items, newest first by default, of
// one alarm or all, narrowed by type and dates.
func (s *Service) DescribeAlarmHistory(ctx context.Context, in *api.DescribeAlarmHistoryInput) (*api.DescribeAlarmHistoryOutput, error) {
	maxRecords := 100
	if in.MaxRecords != nil {
		if *in.MaxRecords < 1 || *in.MaxRecords > 100 {
			return nil, invalidValue("The parameter MaxRecords must be between 1 and 100.")
		}
		maxRecords = int(*in.MaxRecords)
	}
	if t := str(in.HistoryItemType); t != "" && !slices.Contains([]string{"ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction"}, t) {
		return nil, invalidValue("The value %s for parameter HistoryItemType is invalid.", t)
	}
	descending, err := scanDescending(in.ScanBy)
	if err != nil {
		return nil, err
	}
	types := map[string]bool{}
	for _, t := range in.AlarmTypes {
		types[t] = true
	}
	type keyed struct {
		key  string
		item api.AlarmHistoryItem
	}
	var items []keyed
	sc := scopeOf(ctx)
	err = s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketHistory, sc.Prefix(), func(key string, decode func(any) error) error {
			var it api.AlarmHistoryItem
			if err := decode(&it); err != nil {
				return err
			}
			ts := deref(it.Timestamp)
			switch {
			case in.AlarmName != nil && str(it.AlarmName) != *in.AlarmName:
			case in.HistoryItemType != nil && str(it.HistoryItemType) != *in.HistoryItemType:
			case len(types) > 0 && !types[str(it.AlarmType)]:
			case in.StartDate != nil && ts.Before(*in.StartDate):
			case in.EndDate != nil && ts.After(*in.EndDate):
			default:
				// Pages follow the order asked for: descending keys
				// count down from the largest time.
				k := key[len(sc.Prefix()):]
				if descending {
					k = fmt.Sprintf("%020d", math.MaxInt64-ts.UnixNano()) + k[20:]
				}
				items = append(items, keyed{key: k, item: it})
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	pg, next, err := page.ByKey(items, func(k keyed) string { return k.key }, str(in.NextToken), maxRecords, 100, 100)
	if err != nil {
		return nil, badToken()
	}
	out := &api.DescribeAlarmHistoryOutput{AlarmHistoryItems: []api.AlarmHistoryItem{}}
	for _, k := range pg {
		out.AlarmHistoryItems = append(out.AlarmHistoryItems, k.item)
	}
	if next != "" {
		out.NextToken = &next
	}
	return out, nil
}

// pruneHistory deletes history items older than CloudWatch keeps them.
func (s *Service) pruneHistory(now time.Time) error {
	cutoff := now.Add(-historyRetention)
	return s.st.Update(func(tx store.Tx) error {
		var old []string
		err := tx.ForEach(bucketHistory, "", func(key string, decode func(any) error) error {
			var it api.AlarmHistoryItem
			if err := decode(&it); err != nil {
				return err
			}
			if deref(it.Timestamp).Before(cutoff) {
				old = append(old, key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := tx.Delete(bucketHistory, k); err != nil {
				return err
			}
		}
		return nil
	})
}
