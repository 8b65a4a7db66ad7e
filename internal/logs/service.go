// Package logs serves Amazon CloudWatch Logs: log groups, log streams and
// their events, filter patterns, retention and tags.
//
// State lives in the store (records.go documents the buckets). A stream's
// events are kept in chunks, one record per PutLogEvents batch or per run of
// small appends, so adding events never rewrites more than one bounded
// record. Reads merge a stream's chunks in timestamp order.
//
// Retention is enforced on the clock twice over: reads hide events older
// than the group's retention the moment they expire, and a background
// controller (retention.go) deletes expired chunks from the store.
package logs

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/logs"
	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Options configure the service.
type Options struct {
	// Logger receives the retention controller's failures; nil discards
	// them.
	Logger *slog.Logger
	// PruneInterval is how often, in simulated time, the retention
	// controller deletes expired events; 0 means DefaultPruneInterval.
	PruneInterval time.Duration
}

// DefaultPruneInterval is how often expired events are deleted from the
// store. Reads hide them as soon as they expire, so this only bounds how
// long they take up space.
const DefaultPruneInterval = time.Hour

// Service is the CloudWatch Logs service. It keeps no state beyond the
// store, whose transactions serialise every change; its one goroutine is
// the retention controller, which Close stops.
type Service struct {
	st   store.Store
	clk  clock.Clock
	opts Options

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var (
	_ service.Service = (*Service)(nil)
	_ io.Closer       = (*Service)(nil)
)

// New returns the CloudWatch Logs service keeping its state in st and
// reading time from clk, and starts its retention controller, which runs
// until Close.
func New(st store.Store, clk clock.Clock, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PruneInterval <= 0 {
		opts.PruneInterval = DefaultPruneInterval
	}
	s := &Service{st: st, clk: clk, opts: opts}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runRetention(ctx)
	}()
	return s
}

// Close stops the retention controller and waits for it to return.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Name is CloudWatch Logs' signing name.
func (s *Service) Name() string { return "logs" }

// Model returns the CloudWatch Logs API model.
func (s *Service) Model() *model.Service { return api.Model() }

// Operations lists every operation served, grouped by the file that
// implements it.
func (s *Service) Operations() []service.Operation {
	return []service.Operation{
		// groups.go
		service.Handle("CreateLogGroup", s.CreateLogGroup),
		service.Handle("DeleteLogGroup", s.DeleteLogGroup),
		service.Handle("DescribeLogGroups", s.DescribeLogGroups),
		service.Handle("PutLogGroupDeletionProtection", s.PutLogGroupDeletionProtection),

		// retention.go
		service.Handle("PutRetentionPolicy", s.PutRetentionPolicy),
		service.Handle("DeleteRetentionPolicy", s.DeleteRetentionPolicy),

		// streams.go
		service.Handle("CreateLogStream", s.CreateLogStream),
		service.Handle("DeleteLogStream", s.DeleteLogStream),
		service.Handle("DescribeLogStreams", s.DescribeLogStreams),

		// events.go
		service.Handle("PutLogEvents", s.PutLogEvents),
		service.Handle("GetLogEvents", s.GetLogEvents),

		// filter.go
		service.Handle("FilterLogEvents", s.FilterLogEvents),

		// tagging.go
		service.Handle("TagResource", s.TagResource),
		service.Handle("UntagResource", s.UntagResource),
		service.Handle("ListTagsForResource", s.ListTagsForResource),
		service.Handle("TagLogGroup", s.TagLogGroup),
		service.Handle("UntagLogGroup", s.UntagLogGroup),
		service.Handle("ListTagsLogGroup", s.ListTagsLogGroup),
	}
}

// scope is the account and region a request acts in: log groups are
// regional.
type scope struct {
	account   string
	region    string
	partition string
}

func scopeOf(ctx context.Context) scope {
	r := service.RequestFrom(ctx)
	return scope{account: r.AccountID, region: r.Region, partition: arn.Partition(r.Region)}
}

// groupARN is the ARN of a log group without the trailing ":*", the form
// tagging APIs and logGroupIdentifier take (LogGroup.logGroupArn).
func (sc scope) groupARN(name string) string {
	return arn.ARN{Partition: sc.partition, Service: "logs", Region: sc.region, AccountID: sc.account, Resource: "log-group:" + name}.String()
}

// streamARN is the ARN of a log stream.
func (sc scope) streamARN(group, stream string) string {
	return sc.groupARN(group) + ":log-stream:" + stream
}

// millis is t as CloudWatch Logs writes times: milliseconds since the
// epoch.
func millis(t time.Time) int64 { return t.UnixMilli() }

// nowMillis is the current time in milliseconds.
func (s *Service) nowMillis() int64 { return millis(s.clk.Now()) }

// str reads an optional string member; absent is "".
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ptr returns a pointer to v, for the API shapes' optional members.
func ptr[T any](v T) *T { return &v }

// optional returns nil for "", so unset members are left out as AWS
// leaves them out.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
