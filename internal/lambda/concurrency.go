package lambda

import (
	"context"
	"strings"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/store"
)

// minUnreserved is the concurrency Lambda keeps unreserved in a region
// for functions without a reservation: 100 of the default 1000. With a
// smaller account limit (--lambda-concurrency) it is a tenth of the limit.
func (l *limiter) minUnreserved() int32 { return int32(min(100, l.limit/10)) }

// fnKey names a function of a scope.
type fnKey struct{ account, region, name string }

// regionKey names an account's region, the unit of Lambda's concurrency
// quota.
type regionKey struct{ account, region string }

// limiter counts in-flight executions per function and per region and
// throttles by Lambda's rules: a function with reserved concurrency runs
// at most that many at once, and the functions without one share what
// the reservations leave of the account limit.
type limiter struct {
	limit int

	mu         sync.Mutex
	inflight   map[fnKey]int
	unreserved map[regionKey]int
	// reservedSum caches the sum of the reservations of each region; an
	// absent entry is read from the store on next use.
	reservedSum map[regionKey]int32
	// released, if set, is told of every slot given back, outside the
	// lock, so a throttled async event can take it.
	released func(account, region string)
}

func newLimiter(limit int) *limiter {
	return &limiter{limit: limit, inflight: map[fnKey]int{}, unreserved: map[regionKey]int{}, reservedSum: map[regionKey]int32{}}
}

// acquire takes a slot for one execution of f, or returns the
// TooManyRequestsException Lambda throttles with. release gives it back.
func (l *limiter) acquire(s *Service, sc scope, f *functionRecord) (release func(), err error) {
	rk := regionKey{sc.account, sc.region}
	key := fnKey{sc.account, sc.region, f.Name}
	sum, err := l.sumReserved(s, sc)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	reserved := f.Reserved != nil
	if reserved {
		if l.inflight[key] >= int(*f.Reserved) {
			return nil, tooManyRequests("ReservedFunctionConcurrentInvocationLimitExceeded")
		}
	} else if l.unreserved[rk] >= l.limit-int(sum) {
		return nil, tooManyRequests("ConcurrentInvocationLimitExceeded")
	}
	l.inflight[key]++
	if !reserved {
		l.unreserved[rk]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			if l.inflight[key]--; l.inflight[key] <= 0 {
				delete(l.inflight, key)
			}
			if !reserved {
				l.unreserved[rk]--
			}
			l.mu.Unlock()
			if l.released != nil {
				l.released(rk.account, rk.region)
			}
		})
	}, nil
}

// inFlight is how many executions of a function run now.
func (l *limiter) inFlight(sc scope, name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight[fnKey{sc.account, sc.region, name}]
}

// regionInFlight is how many executions run now in a region.
func (l *limiter) regionInFlight(account, region string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, c := range l.inflight {
		if k.account == account && k.region == region {
			n += c
		}
	}
	return n
}

// sumReserved is the region's total reserved concurrency.
func (l *limiter) sumReserved(s *Service, sc scope) (int32, error) {
	rk := regionKey{sc.account, sc.region}
	l.mu.Lock()
	sum, ok := l.reservedSum[rk]
	l.mu.Unlock()
	if ok {
		return sum, nil
	}
	sum = 0
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketFunctions, sc.prefix(), func(_ string, decode func(any) error) error {
			var f functionRecord
			if err := decode(&f); err != nil {
				return err
			}
			sum += deref(f.Reserved, 0)
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	l.reservedSum[rk] = sum
	l.mu.Unlock()
	return sum, nil
}

// invalidate drops the cached reservation sum of a region.
func (l *limiter) invalidate(sc scope) {
	l.mu.Lock()
	delete(l.reservedSum, regionKey{sc.account, sc.region})
	l.mu.Unlock()
}

// forget drops what is known of a deleted function.
func (l *limiter) forget(sc scope, name string) { l.invalidate(sc) }

// functions lists the functions with executions in flight.
func (l *limiter) functions() []fnKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []fnKey
	for k := range l.inflight {
		out = append(out, k)
	}
	return out
}

// reset forgets cached sums (in-flight counts drain as executions end).
func (l *limiter) reset() {
	l.mu.Lock()
	l.reservedSum = map[regionKey]int32{}
	l.mu.Unlock()
}

// PutFunctionConcurrency reserves concurrency for a function, which then
// never runs more than that many at once, and leaves the rest of the
// account limit to the others, which must keep at least minUnreserved.
func (s *Service) PutFunctionConcurrency(ctx context.Context, in *api.PutFunctionConcurrencyInput) (*api.PutFunctionConcurrencyOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	n := deref(in.ReservedConcurrentExecutions, 0)
	err = s.st.Update(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		var others int32
		if err := tx.ForEach(bucketFunctions, sc.prefix(), func(k string, decode func(any) error) error {
			if k == functionKey(sc, ref.name) {
				return nil
			}
			var o functionRecord
			if err := decode(&o); err != nil {
				return err
			}
			others += deref(o.Reserved, 0)
			return nil
		}); err != nil {
			return err
		}
		if int32(s.opts.ConcurrencyLimit)-others-n < s.conc.minUnreserved() {
			return invalidParameter("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", s.conc.minUnreserved())
		}
		f.Reserved = ptr(n)
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	s.conc.invalidate(sc)
	if err != nil {
		return nil, err
	}
	return &api.PutFunctionConcurrencyOutput{ReservedConcurrentExecutions: ptr(n)}, nil
}

// GetFunctionConcurrency returns a function's reserved concurrency, or
// nothing when it has none.
func (s *Service) GetFunctionConcurrency(ctx context.Context, in *api.GetFunctionConcurrencyInput) (*api.GetFunctionConcurrencyOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	var out api.GetFunctionConcurrencyOutput
	err = s.st.View(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		if f.Reserved != nil {
			out.ReservedConcurrentExecutions = ptr(*f.Reserved)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteFunctionConcurrency removes a function's reservation.
func (s *Service) DeleteFunctionConcurrency(ctx context.Context, in *api.DeleteFunctionConcurrencyInput) (*api.DeleteFunctionConcurrencyOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	err = s.st.Update(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		f.Reserved = nil
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	s.conc.invalidate(sc)
	if err != nil {
		return nil, err
	}
	return &api.DeleteFunctionConcurrencyOutput{}, nil
}

// provisioners tracks the provisioning running for each configuration, so
// a newer request or a delete supersedes it.
type provisioners struct {
	mu     sync.Mutex
	cancel map[string]context.CancelFunc
}

// PutProvisionedConcurrencyConfig keeps environments of a published
// version (or an alias's version) initialised ahead of invocations. The
// configuration is IN_PROGRESS until execenv has them ready, then READY.
func (s *Service) PutProvisionedConcurrencyConfig(ctx context.Context, in *api.PutProvisionedConcurrencyConfigInput) (*api.PutProvisionedConcurrencyConfigOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	if ref.qualifier == "" || ref.qualifier == latest {
		return nil, invalidParameter("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	}
	n := deref(in.ProvisionedConcurrentExecutions, 0)
	now := s.clk.Now()
	var t *target
	rec := &provisionedRecord{Requested: n, Status: "IN_PROGRESS", LastModified: now}
	err = s.st.Update(func(tx store.Tx) error {
		f, v, _, err := resolve(tx, sc, ref)
		if err != nil {
			return err
		}
		if f.Reserved != nil && n > *f.Reserved {
			return invalidParameter("Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
		}
		if f.Provisioned == nil {
			f.Provisioned = map[string]*provisionedRecord{}
		}
		f.Provisioned[ref.qualifier] = rec
		t = &target{sc: sc, fn: f, version: v, qualifier: ref.qualifier}
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	if err != nil {
		return nil, err
	}
	s.provision(t, int(n))
	return &api.PutProvisionedConcurrencyConfigOutput{
		RequestedProvisionedConcurrentExecutions: ptr(n),
		AllocatedProvisionedConcurrentExecutions: ptr(int32(0)),
		AvailableProvisionedConcurrentExecutions: ptr(int32(0)),
		Status:                                   ptr(rec.Status),
		LastModified:                             ptr(formatTime(now)),
	}, nil
}

// provision asks execenv for n initialised environments of the target's
// version in the background, and records the outcome.
func (s *Service) provision(t *target, n int) {
	key := urlKey(t.sc, t.fn.Name, t.qualifier)
	ctx, cancel := context.WithCancel(s.ctx)
	s.prov.mu.Lock()
	if s.prov.cancel == nil {
		s.prov.cancel = map[string]context.CancelFunc{}
	}
	if c := s.prov.cancel[key]; c != nil {
		c()
	}
	s.prov.cancel[key] = cancel
	s.prov.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn, err := s.envFunction(ctx, t)
		if err == nil {
			err = s.env.Provision(ctx, fn, n)
		}
		if ctx.Err() != nil || n == 0 {
			return
		}
		status, reason, allocated := "READY", "", int32(n)
		if err != nil {
			status, reason, allocated = "FAILED", "nephele could not initialise the environments: "+err.Error(), 0
		}
		_ = s.st.Update(func(tx store.Tx) error {
			f, err := loadFunction(tx, t.sc, t.fn.Name)
			if err != nil {
				return nil
			}
			rec := f.Provisioned[t.qualifier]
			if rec == nil || rec.Requested != int32(n) {
				return nil
			}
			rec.Status, rec.StatusReason, rec.Allocated = status, reason, allocated
			rec.LastModified = s.clk.Now()
			return tx.Put(bucketFunctions, functionKey(t.sc, t.fn.Name), f)
		})
	}()
}

// stopProvisioning cancels the provisioning under way for keys starting
// with prefix ("" for all).
func (s *Service) stopProvisioning(prefix string) {
	s.prov.mu.Lock()
	defer s.prov.mu.Unlock()
	for k, cancel := range s.prov.cancel {
		if strings.HasPrefix(k, prefix) {
			cancel()
			delete(s.prov.cancel, k)
		}
	}
}

// provisionedItem renders a provisioned concurrency configuration.
func provisionedItem(sc scope, fn, q string, r *provisionedRecord) api.ProvisionedConcurrencyConfigListItem {
	return api.ProvisionedConcurrencyConfigListItem{
		FunctionArn:                              ptr(sc.qualifiedARN(fn, q)),
		RequestedProvisionedConcurrentExecutions: ptr(r.Requested),
		AllocatedProvisionedConcurrentExecutions: ptr(r.Allocated),
		AvailableProvisionedConcurrentExecutions: ptr(r.Allocated),
		Status:                                   ptr(r.Status),
		StatusReason:                             optional(r.StatusReason),
		LastModified:                             ptr(formatTime(r.LastModified)),
	}
}

// GetProvisionedConcurrencyConfig returns a qualifier's provisioned
// concurrency configuration.
func (s *Service) GetProvisionedConcurrencyConfig(ctx context.Context, in *api.GetProvisionedConcurrencyConfigInput) (*api.GetProvisionedConcurrencyConfigOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	var out api.GetProvisionedConcurrencyConfigOutput
	err = s.st.View(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		r := f.Provisioned[ref.qualifier]
		if r == nil {
			return provisionedNotFound(sc.qualifiedARN(ref.name, ref.qualifier))
		}
		it := provisionedItem(sc, ref.name, ref.qualifier, r)
		out = api.GetProvisionedConcurrencyConfigOutput{
			RequestedProvisionedConcurrentExecutions: it.RequestedProvisionedConcurrentExecutions,
			AllocatedProvisionedConcurrentExecutions: it.AllocatedProvisionedConcurrentExecutions,
			AvailableProvisionedConcurrentExecutions: it.AvailableProvisionedConcurrentExecutions,
			Status:                                   it.Status,
			StatusReason:                             it.StatusReason,
			LastModified:                             it.LastModified,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListProvisionedConcurrencyConfigs lists a function's provisioned
// concurrency configurations.
func (s *Service) ListProvisionedConcurrencyConfigs(ctx context.Context, in *api.ListProvisionedConcurrencyConfigsInput) (*api.ListProvisionedConcurrencyConfigsOutput, error) {
	sc, ref, f, err := s.readFunction(ctx, str(in.FunctionName))
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(sortedKeys(f.Provisioned), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := api.ListProvisionedConcurrencyConfigsOutput{ProvisionedConcurrencyConfigs: []api.ProvisionedConcurrencyConfigListItem{}, NextMarker: next}
	for _, q := range page {
		out.ProvisionedConcurrencyConfigs = append(out.ProvisionedConcurrencyConfigs, provisionedItem(sc, ref.name, q, f.Provisioned[q]))
	}
	return &out, nil
}

// DeleteProvisionedConcurrencyConfig removes a configuration and releases
// its environments.
func (s *Service) DeleteProvisionedConcurrencyConfig(ctx context.Context, in *api.DeleteProvisionedConcurrencyConfigInput) (*api.DeleteProvisionedConcurrencyConfigOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	var t *target
	err = s.st.Update(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		if f.Provisioned[ref.qualifier] == nil {
			return provisionedNotFound(sc.qualifiedARN(ref.name, ref.qualifier))
		}
		delete(f.Provisioned, ref.qualifier)
		if _, v, _, err := resolve(tx, sc, ref); err == nil {
			t = &target{sc: sc, fn: f, version: v, qualifier: ref.qualifier}
		}
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	if err != nil {
		return nil, err
	}
	if t != nil {
		s.provision(t, 0)
	}
	return &api.DeleteProvisionedConcurrencyConfigOutput{}, nil
}

// secondsOf converts Lambda's whole seconds to a duration.
func secondsOf(n int32) time.Duration { return time.Duration(n) * time.Second }
