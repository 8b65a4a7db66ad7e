package logs

import (
	"context"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/logs"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// FilterLogEvents searches a group's events, from all its streams or from
// those named or sharing a name prefix, within a time range, for those a
// filter pattern matches (pattern.go). Events from all streams come
// interleaved in timestamp order, as AWS has always returned them since
// 2019; searchedLogStreams is the empty list AWS has returned since 2020.
func (s *Service) FilterLogEvents(ctx context.Context, in *api.FilterLogEventsInput) (*api.FilterLogEventsOutput, error) {
	sc := scopeOf(ctx)
	group, err := resolveGroup(sc, in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if in.LogStreamNamePrefix != nil && len(in.LogStreamNames) > 0 {
		return nil, invalidParameter("You cannot specify both logStreamNames and logStreamNamePrefix.")
	}
	match, err := parseFilter(str(in.FilterPattern))
	if err != nil {
		return nil, invalidParameter("%s", err.Error())
	}
	after := ""
	if in.NextToken != nil {
		if after, err = page.Decode(*in.NextToken); err != nil {
			return nil, badToken()
		}
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
		gk := groupKey(sc, group)
		keep := func(sk string) bool {
			name := sk[len(gk)+1:]
			switch {
			case in.LogStreamNamePrefix != nil:
				return strings.HasPrefix(name, *in.LogStreamNamePrefix)
			case len(in.LogStreamNames) > 0:
				return slices.Contains(in.LogStreamNames, name)
			}
			return true
		}
		from, to := timeRange(in.StartTime, in.EndTime, true)
		events, err = readEvents(tx, gk, from, to, retentionCutoff(g, now), keep)
		return err
	})
	if err != nil {
		return nil, err
	}

	out := &api.FilterLogEventsOutput{Events: []api.FilteredLogEvent{}, SearchedLogStreams: []api.SearchedLogStream{}}
	bytes := 0
	for _, e := range events {
		id := e.position().digits()
		if id <= after || !match(e.Message) {
			continue
		}
		if len(out.Events) == limit || (bytes+e.size() > maxPageBytes && len(out.Events) > 0) {
			// More matches remain: resume after the last one returned.
			out.NextToken = ptr(page.Encode(*out.Events[len(out.Events)-1].EventId))
			break
		}
		bytes += e.size()
		out.Events = append(out.Events, api.FilteredLogEvent{
			EventId: ptr(id), LogStreamName: ptr(e.Stream),
			Timestamp: ptr(e.Time), IngestionTime: ptr(e.Ingested), Message: ptr(e.Message),
		})
	}
	return out, nil
}
