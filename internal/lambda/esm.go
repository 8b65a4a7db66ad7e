package lambda

import (
	"context"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/store"
)

// Event source mappings are stored and go through their states (Creating,
// then Enabled or Disabled; Updating; Deleting) on the clock, as the
// waiters and Terraform expect. Nothing polls a source yet: that waits for
// a queue or stream service in nephele.

// esmARN is an event source mapping's ARN.
func (sc scope) esmARN(id string) string {
	return arn.ARN{Partition: sc.partition, Service: "lambda", Region: sc.region, AccountID: sc.account, Resource: "event-source-mapping:" + id}.String()
}

// renderESM is a mapping as the API returns it now.
func (s *Service) renderESM(r *esmRecord) *api.EventSourceMappingConfiguration {
	c := r.Config
	if s.clk.Now().Before(r.Created.Add(s.opts.StateDelay)) {
		c.State = ptr(r.Transient)
		return &c
	}
	state := "Enabled"
	if !r.Enabled {
		state = "Disabled"
	}
	c.State = ptr(state)
	return &c
}

// defaultBatchSize is Lambda's default batch size for a source.
func defaultBatchSize(source string) int32 {
	if strings.Contains(source, ":sqs:") {
		return 10
	}
	return 100
}

// CreateEventSourceMapping stores a mapping from a queue or stream to a
// function.
func (s *Service) CreateEventSourceMapping(ctx context.Context, in *api.CreateEventSourceMappingInput) (*api.CreateEventSourceMappingOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	source := str(in.EventSourceArn)
	if source == "" && in.SelfManagedEventSource == nil {
		return nil, invalidParameter("Unrecognized event source, must be kinesis, dynamodb stream, sqs, msk, mq, documentdb or kafka.")
	}
	id := newUUID()
	now := s.clk.Now()
	rec := &esmRecord{Created: now, Enabled: deref(in.Enabled, true), Transient: "Creating"}
	rec.Config = api.EventSourceMappingConfiguration{
		UUID:                           ptr(id),
		EventSourceArn:                 optional(source),
		EventSourceMappingArn:          ptr(sc.esmARN(id)),
		FunctionArn:                    ptr(sc.qualifiedARN(ref.name, ref.qualifier)),
		BatchSize:                      ptr(deref(in.BatchSize, defaultBatchSize(source))),
		MaximumBatchingWindowInSeconds: ptr(deref(in.MaximumBatchingWindowInSeconds, 0)),
		LastModified:                   ptr(now),
		LastProcessingResult:           ptr("No records processed"),
		StateTransitionReason:          ptr("USER_INITIATED"),
		StartingPosition:               in.StartingPosition,
		StartingPositionTimestamp:      in.StartingPositionTimestamp,
		DestinationConfig:              in.DestinationConfig,
		FilterCriteria:                 in.FilterCriteria,
		FunctionResponseTypes:          in.FunctionResponseTypes,
		MaximumRetryAttempts:           in.MaximumRetryAttempts,
		MaximumRecordAgeInSeconds:      in.MaximumRecordAgeInSeconds,
		BisectBatchOnFunctionError:     in.BisectBatchOnFunctionError,
		ParallelizationFactor:          in.ParallelizationFactor,
		TumblingWindowInSeconds:        in.TumblingWindowInSeconds,
		ScalingConfig:                  in.ScalingConfig,
		Queues:                         in.Queues,
		Topics:                         in.Topics,
		SourceAccessConfigurations:     in.SourceAccessConfigurations,
		SelfManagedEventSource:         in.SelfManagedEventSource,
	}
	err = s.st.Update(func(tx store.Tx) error {
		if _, _, _, err := resolve(tx, sc, ref); err != nil {
			return err
		}
		return tx.Put(bucketESM, sc.prefix()+id, rec)
	})
	if err != nil {
		return nil, err
	}
	return s.renderESM(rec), nil
}

// loadESM reads a mapping.
func loadESM(tx store.Tx, sc scope, id string) (*esmRecord, error) {
	var r esmRecord
	ok, err := get(tx, bucketESM, sc.prefix()+id, &r)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("The resource you requested does not exist.")
	}
	return &r, nil
}

// GetEventSourceMapping returns a mapping.
func (s *Service) GetEventSourceMapping(ctx context.Context, in *api.GetEventSourceMappingInput) (*api.GetEventSourceMappingOutput, error) {
	sc := scopeOf(ctx)
	var out *api.EventSourceMappingConfiguration
	err := s.st.View(func(tx store.Tx) error {
		r, err := loadESM(tx, sc, str(in.UUID))
		if err != nil {
			return err
		}
		out = s.renderESM(r)
		return nil
	})
	return out, err
}

// UpdateEventSourceMapping changes a mapping: its function, batching,
// or whether it is enabled.
func (s *Service) UpdateEventSourceMapping(ctx context.Context, in *api.UpdateEventSourceMappingInput) (*api.UpdateEventSourceMappingOutput, error) {
	sc := scopeOf(ctx)
	var out *api.EventSourceMappingConfiguration
	err := s.st.Update(func(tx store.Tx) error {
		r, err := loadESM(tx, sc, str(in.UUID))
		if err != nil {
			return err
		}
		if s.clk.Now().Before(r.Created.Add(s.opts.StateDelay)) {
			return conflict("The operation cannot be performed at this time. The event source mapping is currently in the following state: %s", r.Transient)
		}
		c := &r.Config
		if in.FunctionName != nil {
			ref, err := parseFunction(*in.FunctionName, nil)
			if err != nil {
				return err
			}
			if _, _, _, err := resolve(tx, sc, ref); err != nil {
				return err
			}
			c.FunctionArn = ptr(sc.qualifiedARN(ref.name, ref.qualifier))
		}
		if in.Enabled != nil {
			r.Enabled = *in.Enabled
		}
		if in.BatchSize != nil {
			c.BatchSize = in.BatchSize
		}
		if in.MaximumBatchingWindowInSeconds != nil {
			c.MaximumBatchingWindowInSeconds = in.MaximumBatchingWindowInSeconds
		}
		if in.FilterCriteria != nil {
			c.FilterCriteria = in.FilterCriteria
		}
		if in.DestinationConfig != nil {
			c.DestinationConfig = in.DestinationConfig
		}
		if in.FunctionResponseTypes != nil {
			c.FunctionResponseTypes = in.FunctionResponseTypes
		}
		if in.MaximumRetryAttempts != nil {
			c.MaximumRetryAttempts = in.MaximumRetryAttempts
		}
		if in.MaximumRecordAgeInSeconds != nil {
			c.MaximumRecordAgeInSeconds = in.MaximumRecordAgeInSeconds
		}
		if in.ScalingConfig != nil {
			c.ScalingConfig = in.ScalingConfig
		}
		now := s.clk.Now()
		c.LastModified = ptr(now)
		r.Created, r.Transient = now, "Updating"
		out = s.renderESM(r)
		return tx.Put(bucketESM, sc.prefix()+str(in.UUID), r)
	})
	return out, err
}

// DeleteEventSourceMapping deletes a mapping; the answer shows it
// Deleting, as Lambda's does.
func (s *Service) DeleteEventSourceMapping(ctx context.Context, in *api.DeleteEventSourceMappingInput) (*api.DeleteEventSourceMappingOutput, error) {
	sc := scopeOf(ctx)
	var out *api.EventSourceMappingConfiguration
	err := s.st.Update(func(tx store.Tx) error {
		r, err := loadESM(tx, sc, str(in.UUID))
		if err != nil {
			return err
		}
		out = s.renderESM(r)
		out.State = ptr("Deleting")
		return tx.Delete(bucketESM, sc.prefix()+str(in.UUID))
	})
	return out, err
}

// ListEventSourceMappings lists mappings, optionally of one function or
// one source.
func (s *Service) ListEventSourceMappings(ctx context.Context, in *api.ListEventSourceMappingsInput) (*api.ListEventSourceMappingsOutput, error) {
	sc := scopeOf(ctx)
	var fnARN string
	if in.FunctionName != nil {
		ref, err := parseFunction(*in.FunctionName, nil)
		if err != nil {
			return nil, err
		}
		fnARN = sc.qualifiedARN(ref.name, ref.qualifier)
	}
	byID := map[string]*esmRecord{}
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketESM, sc.prefix(), func(k string, decode func(any) error) error {
			var r esmRecord
			if err := decode(&r); err != nil {
				return err
			}
			if fnARN != "" && str(r.Config.FunctionArn) != fnARN {
				return nil
			}
			if src := str(in.EventSourceArn); src != "" && str(r.Config.EventSourceArn) != src {
				return nil
			}
			byID[str(r.Config.UUID)] = &r
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(sortedKeys(byID), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := api.ListEventSourceMappingsOutput{EventSourceMappings: []api.EventSourceMappingConfiguration{}, NextMarker: next}
	for _, id := range page {
		out.EventSourceMappings = append(out.EventSourceMappings, *s.renderESM(byID[id]))
	}
	return &out, nil
}
