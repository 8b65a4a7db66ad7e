// Package cloudwatch serves Amazon CloudWatch: metrics (PutMetricData,
// GetMetricStatistics, GetMetricData, ListMetrics), metric and composite
// alarms evaluated on the clock whose actions really happen, alarm
// history, dashboards and tags.
//
// Datapoints live in one tsdb.DB per account and region, in memory, rolled
// up and expired as CloudWatch retains them; with a durable store they are
// also saved as snapshots. Alarms, their history and dashboards are store
// records. Built-in metrics of other services arrive through Publish (the
// metrics.Sink interface), and alarm actions leave through the small
// interfaces in actions.go, which main wires to the services that act.
package cloudwatch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/cloudwatch/tsdb"
	"github.com/nephele-dev/nephele/internal/metrics"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Options configure the service.
type Options struct {
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// PersistMetrics saves datapoint snapshots in the store, so metrics
	// survive a restart on a durable store. A memory store has no use
	// for them.
	PersistMetrics bool
	// Actions carries out alarm actions; its nil members make the
	// actions they would run fail, recorded in the alarm's history.
	Actions *Actions
}

// Service is the CloudWatch service.
type Service struct {
	st   store.Store
	clk  clock.Clock
	opts Options

	mu  sync.Mutex
	dbs map[scope]*tsdb.DB

	eval *evaluator
}

var (
	_ service.Service  = (*Service)(nil)
	_ service.Resetter = (*Service)(nil)
	_ metrics.Sink     = (*Service)(nil)
	_ io.Closer        = (*Service)(nil)
)

// New returns the CloudWatch service keeping its records in st and its
// time on clk. Saved datapoint snapshots are loaded now: a snapshot that
// cannot be read stops start-up rather than silently losing metrics.
func New(st store.Store, clk clock.Clock, opts Options) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Service{st: st, clk: clk, opts: opts, dbs: map[scope]*tsdb.DB{}}
	if err := s.loadSnapshots(); err != nil {
		return nil, err
	}
	s.eval = newEvaluator(s)
	return s, nil
}

// Name is CloudWatch's signing name.
func (s *Service) Name() string { return "monitoring" }

// Model returns the CloudWatch API model.
func (s *Service) Model() *model.Service { return api.Model() }

// Operations lists every CloudWatch operation served, grouped by the file
// that implements it.
func (s *Service) Operations() []service.Operation {
	return []service.Operation{
		// metrics.go
		service.Handle("PutMetricData", s.PutMetricData),
		service.Handle("GetMetricStatistics", s.GetMetricStatistics),
		service.Handle("ListMetrics", s.ListMetrics),
		// metricdata.go
		service.Handle("GetMetricData", s.GetMetricData),
		// alarms.go
		service.Handle("PutMetricAlarm", s.PutMetricAlarm),
		service.Handle("PutCompositeAlarm", s.PutCompositeAlarm),
		service.Handle("DescribeAlarms", s.DescribeAlarms),
		service.Handle("DescribeAlarmsForMetric", s.DescribeAlarmsForMetric),
		service.Handle("DeleteAlarms", s.DeleteAlarms),
		service.Handle("SetAlarmState", s.SetAlarmState),
		service.Handle("EnableAlarmActions", s.EnableAlarmActions),
		service.Handle("DisableAlarmActions", s.DisableAlarmActions),
		// history.go
		service.Handle("DescribeAlarmHistory", s.DescribeAlarmHistory),
		// dashboards.go
		service.Handle("PutDashboard", s.PutDashboard),
		service.Handle("GetDashboard", s.GetDashboard),
		service.Handle("ListDashboards", s.ListDashboards),
		service.Handle("DeleteDashboards", s.DeleteDashboards),
		// tagging.go
		service.Handle("TagResource", s.TagResource),
		service.Handle("UntagResource", s.UntagResource),
		service.Handle("ListTagsForResource", s.ListTagsForResource),
	}
}

// Start begins evaluating alarms and maintaining the datapoints, until
// Close.
func (s *Service) Start() error { return s.eval.start() }

// Close stops the evaluator and saves the datapoints.
func (s *Service) Close() error {
	s.eval.stop()
	return s.saveSnapshots()
}

// Reset drops every datapoint (the store's records go with the store's
// own Reset) and the evaluator's memory of alarms.
func (s *Service) Reset(context.Context) error {
	s.mu.Lock()
	s.dbs = map[scope]*tsdb.DB{}
	s.mu.Unlock()
	s.eval.forgetAll()
	return nil
}

// scope is one account and region: CloudWatch's data is regional.
type scope = service.Scope

func scopeOf(ctx context.Context) scope { return service.ScopeOf(ctx) }

// db returns the scope's datapoints, creating them on first use.
func (s *Service) db(sc scope) *tsdb.DB {
	s.mu.Lock()
	defer s.mu.Unlock()
	db, ok := s.dbs[sc]
	if !ok {
		db = tsdb.New()
		s.dbs[sc] = db
	}
	return db
}

// peekDB returns the scope's datapoints, or nil if it has none.
func (s *Service) peekDB(sc scope) *tsdb.DB {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dbs[sc]
}

// allDBs lists every scope's datapoints.
func (s *Service) allDBs() map[scope]*tsdb.DB {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[scope]*tsdb.DB, len(s.dbs))
	for sc, db := range s.dbs {
		out[sc] = db
	}
	return out
}

// Publish stores built-in metrics of other services (metrics.Sink). They
// are trusted: AWS/ namespaces are theirs to use.
func (s *Service) Publish(_ context.Context, account, region string, data []metrics.Datum) error {
	db := s.db(scope{Account: account, Region: region})
	now := s.clk.Now()
	for _, d := range data {
		dims := make([]tsdb.Dimension, 0, len(d.Dimensions))
		for k, v := range d.Dimensions {
			dims = append(dims, tsdb.Dimension{Name: k, Value: v})
		}
		res := d.StorageResolution
		if res != 1 {
			res = 60
		}
		db.Put(tsdb.NewMetric(d.Namespace, d.Name, dims), tsdb.Sample{
			Timestamp: d.Timestamp, Unit: d.Unit, StorageResolution: res, Values: []float64{d.Value},
		}, now)
	}
	return nil
}

// bucketMetrics holds datapoint snapshots, one record per scope.
const bucketMetrics = "cloudwatch-datapoints"

// snapshot is a stored tsdb snapshot.
type snapshot struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Data    []byte `json:"data"`
}

func (s *Service) loadSnapshots() error {
	if !s.opts.PersistMetrics {
		return nil
	}
	return s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketMetrics, "", func(key string, decode func(any) error) error {
			var snap snapshot
			if err := decode(&snap); err != nil {
				return err
			}
			db := tsdb.New()
			if err := db.UnmarshalBinary(snap.Data); err != nil {
				return errors.Join(errors.New("cloudwatch: reading saved datapoints of "+key), err)
			}
			s.dbs[scope{Account: snap.Account, Region: snap.Region}] = db
			return nil
		})
	})
}

func (s *Service) saveSnapshots() error {
	if !s.opts.PersistMetrics {
		return nil
	}
	dbs := s.allDBs()
	return s.st.Update(func(tx store.Tx) error {
		for sc, db := range dbs {
			data, err := db.MarshalBinary()
			if err != nil {
				return err
			}
			if err := tx.Put(bucketMetrics, sc.Key("datapoints"), snapshot{Account: sc.Account, Region: sc.Region, Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
}

// log is the service's logger.
func (s *Service) log() *slog.Logger { return s.opts.Logger }

// now is the clock's time, to the millisecond CloudWatch's timestamps
// carry.
func (s *Service) now() time.Time { return s.clk.Now().UTC().Truncate(time.Millisecond) }

func ptr[T any](v T) *T { return &v }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
