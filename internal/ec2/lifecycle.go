package ec2

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/ec2/machine"
	"github.com/nephele-dev/nephele/internal/store"
)

// The instance lifecycle is a reconcile loop: API calls record the state
// an instance is to reach (pending, stopping, shutting-down, a reboot) and
// enqueue it; the controller reads the record, takes the step that moves
// the instance's processes toward it, and records the state reached. The
// steps that wait (a stop waits out its grace period) run in a bounded
// pool so that one slow instance does not hold up the others.

// terminatedVisible is how long a terminated instance stays in
// DescribeInstances: "Terminated instances remain visible ... for a short
// while (approximately one hour)".
const terminatedVisible = time.Hour

// controller reconciles instances.
type controller struct {
	s *Service

	mu        sync.Mutex
	queued    map[string]bool // key → waiting in work
	busy      map[string]bool // key → being reconciled; requeued when done
	again     map[string]bool
	failures  map[string]int // key → reconciles failed in a row
	work      chan string
	timers    map[uint64]func() bool // pending wake-ups, by number
	nextTimer uint64
	closing   bool
	wg        sync.WaitGroup
	ctx       context.Context
	cancel    context.CancelFunc
}

// workers bounds the reconciles in flight.
const workers = 32

func newController(s *Service) *controller {
	ctx, cancel := context.WithCancel(context.Background())
	c := &controller{
		s: s, queued: map[string]bool{}, busy: map[string]bool{}, again: map[string]bool{}, failures: map[string]int{},
		work: make(chan string, 1<<16), timers: map[uint64]func() bool{}, ctx: ctx, cancel: cancel,
	}
	for range workers {
		c.wg.Add(1)
		go c.run()
	}
	return c
}

// enqueue asks for a reconcile of an instance. A key already waiting is
// not queued twice; one being reconciled is reconciled again after.
func (c *controller) enqueue(sc scope, id string) {
	key := sc.key(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	if c.busy[key] {
		c.again[key] = true
		return
	}
	if c.queued[key] {
		return
	}
	c.queued[key] = true
	c.work <- key
}

// after enqueues an instance once d has passed on the clock. Several
// wake-ups of one instance may be pending (a notice, then the action it
// announces); each enqueues it, and reconciling is idempotent, so an extra
// one costs a read.
func (c *controller) after(sc scope, id string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.nextTimer++
	n := c.nextTimer
	t := c.s.clk.AfterFunc(d, func() {
		c.mu.Lock()
		delete(c.timers, n)
		c.mu.Unlock()
		c.enqueue(sc, id)
	})
	c.timers[n] = t.Stop
}

func (c *controller) run() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case key := <-c.work:
			c.mu.Lock()
			delete(c.queued, key)
			c.busy[key] = true
			c.mu.Unlock()
			err := c.s.reconcile(c.ctx, key)
			account, region, id := splitKey(key)
			sc := scope{account: account, region: region}
			c.mu.Lock()
			delete(c.busy, key)
			requeue := c.again[key]
			delete(c.again, key)
			var retryIn time.Duration
			if err != nil && c.ctx.Err() == nil {
				c.failures[key]++
				retryIn = retryDelay(c.failures[key])
			} else {
				delete(c.failures, key)
			}
			c.mu.Unlock()
			if retryIn > 0 {
				// A failed step is tried again, later and later: an
				// instance must not stay half-way (shutting-down, say)
				// because one attempt met a passing error.
				c.s.log().Error("ec2: reconcile", "instance", key, "err", err, "retry_in", retryIn)
				c.after(sc, id, retryIn)
			}
			if requeue {
				c.enqueue(sc, id)
			}
		}
	}
}

// retryDelay is how long a reconcile that failed n times in a row waits
// before the next try: one second, doubling up to a minute.
func retryDelay(n int) time.Duration {
	d := time.Second
	for i := 1; i < n && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}

// close stops the workers and timers and waits for them.
func (c *controller) close() {
	c.mu.Lock()
	c.closing = true
	for _, stop := range c.timers {
		stop()
	}
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// splitKey splits an "account/region/id" key.
func splitKey(key string) (account, region, id string) {
	parts := strings.SplitN(key, "/", 3)
	if len(parts) != 3 {
		return "", "", key
	}
	return parts[0], parts[1], parts[2]
}

// reconcile takes one instance one step toward the state its record asks
// for.
func (s *Service) reconcile(ctx context.Context, key string) error {
	account, region, id := splitKey(key)
	sc := scope{account: account, region: region}
	// Spot requests and fleets share this queue, keyed by their own IDs
	// (spot.go, fleets.go).
	if reconcileOwner := s.ownerReconciler(id); reconcileOwner != nil {
		return reconcileOwner(ctx, sc, id)
	}
	var r instanceRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		r, err = loadInstance(tx, sc, id)
		return err
	})
	if err != nil {
		if awserr.As(err) != nil {
			return nil // gone
		}
		return err
	}
	// The Spot request and fleet of the instance follow its state.
	defer s.notifyOwners(sc, r)
	switch r.state() {
	case "pending":
		if err := s.boot(sc, r); err != nil {
			s.log().Error("ec2: boot", "instance", id, "err", err)
			err := s.update(sc, id, func(r *instanceRecord) {
				r.setState("shutting-down")
				r.StateReason = &api.StateReason{Code: ptr("Server.InternalError"), Message: ptr("Server.InternalError: Internal error on launch")}
			})
			if err == nil {
				s.ctl.enqueue(sc, id)
			}
			return err
		}
		return s.update(sc, id, func(r *instanceRecord) {
			if r.state() == "pending" {
				r.setState("running")
			}
		})
	case "running":
		if r.Interruption != nil {
			// A Spot interruption takes its steps on time (interruptions.go).
			if done, err := s.interruptStep(sc, r); done || err != nil {
				return err
			}
		}
		if r.Reboot {
			if err := s.machine.Stop(ctx, id, s.opts.StopGrace); err != nil {
				return err
			}
			if err := s.boot(sc, r); err != nil {
				return err
			}
			return s.update(sc, id, func(r *instanceRecord) { r.Reboot, r.Impaired = false, false })
		}
		if !r.Impaired && !s.machine.Running(id) {
			// nephele restarted: the instance boots again.
			return s.boot(sc, r)
		}
	case "stopping":
		if err := s.halt(ctx, sc, r); err != nil {
			return err
		}
		// Instance store is ephemeral: what it held is gone after a stop.
		if err := s.wipeInstanceStore(id); err != nil {
			return err
		}
		return s.update(sc, id, func(r *instanceRecord) {
			if r.state() == "stopping" {
				r.setState("stopped")
				if r.StateReason == nil { // a Spot interruption gives its own
					r.StateReason = &api.StateReason{Code: ptr("Client.UserInitiatedShutdown"), Message: ptr("Client.UserInitiatedShutdown: User initiated shutdown")}
				}
			}
		})
	case "shutting-down":
		if err := s.halt(ctx, sc, r); err != nil {
			return err
		}
		if err := s.machine.Remove(id); err != nil {
			return err
		}
		now := s.now()
		err := s.st.Update(func(tx store.Tx) error {
			r, err := loadInstance(tx, sc, id)
			if err != nil {
				return err
			}
			r.setState("terminated")
			r.Ended = now
			if r.StateReason == nil {
				r.StateReason = &api.StateReason{Code: ptr("Client.UserInitiatedShutdown"), Message: ptr("Client.UserInitiatedShutdown: User initiated shutdown")}
			}
			// The address is free once the instance's processes and
			// metadata service are gone, not before: a new instance given
			// it at once would find it still in use.
			if r.PrivateIpAddress != nil {
				if err := releaseAddress(tx, str(r.PrivateIpAddress), sc.key(id)); err != nil {
					return err
				}
			}
			// Volumes marked DeleteOnTermination go with the instance;
			// the others become available.
			if err := deleteInstanceVolumes(tx, sc, id); err != nil {
				return err
			}
			return tx.Put(instanceKind.bucket, sc.key(id), r)
		})
		if err != nil {
			return err
		}
		if err := s.pruneVolumeDirs(); err != nil {
			s.log().Error("ec2: removing volume directories", "instance", id, "err", err)
		}
		s.ctl.after(sc, id, terminatedVisible)
	case "terminated":
		if left := r.Ended.Add(terminatedVisible).Sub(s.clk.Now()); left > 0 {
			s.ctl.after(sc, id, left)
			return nil
		}
		return s.st.Update(func(tx store.Tx) error {
			if err := tx.Delete(instanceKind.bucket, sc.key(id)); err != nil {
				return err
			}
			return tx.Delete(bucketTags, sc.key(id))
		})
	}
	return nil
}

// update changes an instance record in one transaction. It does not
// enqueue the instance: callers whose change needs a step do.
func (s *Service) update(sc scope, id string, change func(*instanceRecord)) error {
	return s.st.Update(func(tx store.Tx) error {
		r, err := loadInstance(tx, sc, id)
		if err != nil {
			return err
		}
		change(&r)
		return tx.Put(instanceKind.bucket, sc.key(id), r)
	})
}

// boot starts an instance's processes with its metadata service.
func (s *Service) boot(sc scope, r instanceRecord) error {
	id := r.id()
	if s.machine.Running(id) {
		return nil
	}
	userData, err := base64.StdEncoding.DecodeString(r.UserData)
	if err != nil {
		return fmt.Errorf("user-data of %s: %w", id, err)
	}
	addr, err := netip.ParseAddr(str(r.PrivateIpAddress))
	if err != nil {
		return fmt.Errorf("address of %s: %w", id, err)
	}
	s.where.Store(id, sc)
	env := []string{
		"AWS_REGION=" + sc.region,
		"AWS_DEFAULT_REGION=" + sc.region,
	}
	if s.opts.Endpoint != nil {
		env = append(env, "AWS_ENDPOINT_URL="+s.opts.Endpoint())
	}
	endpoint, err := s.imds.Add(id, addr)
	if err != nil {
		return fmt.Errorf("metadata service of %s: %w", id, err)
	}
	env = append(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+endpoint, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv4")
	return s.machine.Boot(machine.Spec{ID: id, UserData: userData, Env: env, Image: r.ImageDir, Console: s.consoleWriter(sc, id)})
}

// halt ends an instance's processes: after the stop grace period, or at
// once for a forced stop; its metadata service goes with them.
func (s *Service) halt(ctx context.Context, sc scope, r instanceRecord) error {
	grace := s.opts.StopGrace
	if r.Force {
		grace = 0
	}
	err := s.machine.Stop(ctx, r.id(), grace)
	s.imds.Remove(r.id())
	return err
}

// exited is the machine's report that an instance's processes ended by
// themselves: a running instance is then impaired, and fails its instance
// status check.
func (s *Service) exited(id string, code int) {
	v, ok := s.where.Load(id)
	if !ok {
		return
	}
	sc := v.(scope)
	s.log().Info("ec2: instance processes ended", "instance", id, "exit", code)
	err := s.update(sc, id, func(r *instanceRecord) {
		if r.state() == "running" {
			r.Impaired = true
			r.ImpairedSince = s.now()
		}
	})
	if err != nil && awserr.As(err) == nil {
		s.log().Error("ec2: recording an exit", "instance", id, "err", err)
	}
}

// recover resumes the lifecycle of every instance after a restart:
// running ones boot again, and ones caught mid-transition finish it.
func (s *Service) recover() error {
	var keys []string
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(instanceKind.bucket, "", func(key string, _ func(any) error) error {
			keys = append(keys, key)
			return nil
		})
	})
	// Spot requests and fleets resume too (spot.go, fleets.go).
	ownerKeys, ownerErr := s.ownerKeys()
	for _, key := range append(keys, ownerKeys...) {
		account, region, id := splitKey(key)
		s.ctl.enqueue(scope{account: account, region: region}, id)
	}
	return errors.Join(err, ownerErr)
}

// transition moves the named instances from the states allowed to a new
// one, atomically: an instance missing or in a state not allowed fails
// the whole call and changes nothing. It returns each instance's state
// before and after.
func (s *Service) transition(ctx context.Context, ids []string, to string, allowed map[string]bool, check func(*instanceRecord) error, change func(*instanceRecord)) ([]api.InstanceStateChange, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	var changes []api.InstanceStateChange
	var moved []string
	err := s.st.Update(func(tx store.Tx) error {
		var missing []string
		recs := make([]instanceRecord, 0, len(ids))
		for _, id := range ids {
			if !strings.HasPrefix(id, "i-") {
				return malformed("InvalidInstanceID.Malformed", id, "i")
			}
			r, err := loadInstance(tx, sc, id)
			if err != nil {
				if awserr.As(err) != nil {
					missing = append(missing, id)
					continue
				}
				return err
			}
			recs = append(recs, r)
		}
		if len(missing) > 0 {
			return notFound("InvalidInstanceID.NotFound", "instance", missing...)
		}
		for i := range recs {
			r := &recs[i]
			if check != nil {
				if err := check(r); err != nil {
					return err
				}
			}
			prev := *r.State
			if r.state() != to && allowed[r.state()] {
				change(r)
				if err := tx.Put(instanceKind.bucket, sc.key(r.id()), r); err != nil {
					return err
				}
				moved = append(moved, r.id())
			} else if r.state() != to && !sameWay(r.state(), to) {
				return awserr.BadRequest("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be %s.", r.id(), verbFor(to))
			}
			changes = append(changes, api.InstanceStateChange{InstanceId: r.InstanceId, PreviousState: &prev, CurrentState: r.State})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, id := range moved {
		s.ctl.enqueue(sc, id)
	}
	return changes, nil
}

// sameWay reports whether an instance in state from is already on its way
// to to, so that asking again is not an error (stopping a stopping
// instance, terminating a terminated one).
func sameWay(from, to string) bool {
	switch to {
	case "stopping":
		return from == "stopped"
	case "shutting-down":
		return from == "terminated"
	case "pending":
		return from == "running"
	}
	return false
}

// verbFor is how IncorrectInstanceState names an action.
func verbFor(to string) string {
	switch to {
	case "stopping":
		return "stopped"
	case "shutting-down":
		return "terminated"
	case "pending":
		return "started"
	}
	return to
}

// transitionReason is the StateTransitionReason EC2 writes for a change,
// "User initiated (2024-03-01 12:00:00 GMT)" or "Service initiated (...)".
func (s *Service) transitionReason(who string) string {
	return fmt.Sprintf("%s initiated (%s)", who, s.clk.Now().UTC().Format("2006-01-02 15:04:05 MST"))
}

// StartInstances starts stopped instances; they go through pending to
// running and boot again (every-boot parts of their user-data only).
func (s *Service) StartInstances(ctx context.Context, in *api.StartInstancesInput) (*api.StartInstancesOutput, error) {
	changes, err := s.transition(ctx, in.InstanceIds, "pending", map[string]bool{"stopped": true}, nil, func(r *instanceRecord) {
		r.setState("pending")
		r.StateReason, r.StateTransitionReason, r.Impaired, r.Force = nil, ptr(""), false, false
		r.Interruption = nil // a Spot interruption ends with the stop
	})
	if err != nil {
		return nil, err
	}
	return &api.StartInstancesOutput{StartingInstances: changes}, nil
}

// StopInstances stops running instances: their processes get SIGTERM,
// then SIGKILL after the grace period (at once with Force); their root
// directories stay.
func (s *Service) StopInstances(ctx context.Context, in *api.StopInstancesInput) (*api.StopInstancesOutput, error) {
	reason := s.transitionReason("User")
	changes, err := s.transition(ctx, in.InstanceIds, "stopping", map[string]bool{"running": true, "pending": true},
		func(r *instanceRecord) error {
			if r.DisableAPIStop {
				return awserr.BadRequest("OperationNotPermitted", "The instance '%s' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.", r.id())
			}
			if str(r.InstanceLifecycle) == "spot" && r.SpotRequestType != "persistent" && r.state() != "stopped" && r.state() != "stopping" {
				return awserr.BadRequest("UnsupportedOperation", "You can't stop the Spot Instance '%s' because it is associated with a one-time Spot Instance request. You can only stop Spot Instances associated with persistent Spot Instance requests.", r.id())
			}
			return nil
		},
		func(r *instanceRecord) {
			r.setState("stopping")
			r.StateTransitionReason = ptr(reason)
			r.Force = boolean(in.Force)
			r.StateReason = &api.StateReason{Code: ptr("Client.UserInitiatedShutdown"), Message: ptr("Client.UserInitiatedShutdown: User initiated shutdown")}
		})
	if err != nil {
		return nil, err
	}
	return &api.StopInstancesOutput{StoppingInstances: changes}, nil
}

// TerminateInstances terminates instances: their processes end and their
// root directories are removed. An instance with termination protection
// is refused, and then nothing is terminated.
func (s *Service) TerminateInstances(ctx context.Context, in *api.TerminateInstancesInput) (*api.TerminateInstancesOutput, error) {
	reason := s.transitionReason("User")
	allowed := map[string]bool{"pending": true, "running": true, "stopping": true, "stopped": true}
	changes, err := s.transition(ctx, in.InstanceIds, "shutting-down", allowed,
		func(r *instanceRecord) error {
			if r.DisableAPITermination && allowed[r.state()] {
				return awserr.BadRequest("OperationNotPermitted", "The instance '%s' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.", r.id())
			}
			return nil
		},
		func(r *instanceRecord) {
			r.setState("shutting-down")
			r.StateTransitionReason = ptr(reason)
			r.StateReason = &api.StateReason{Code: ptr("Client.UserInitiatedShutdown"), Message: ptr("Client.UserInitiatedShutdown: User initiated shutdown")}
		})
	if err != nil {
		return nil, err
	}
	return &api.TerminateInstancesOutput{TerminatingInstances: changes}, nil
}

// RebootInstances restarts the processes of running instances.
func (s *Service) RebootInstances(ctx context.Context, in *api.RebootInstancesInput) (*api.RebootInstancesOutput, error) {
	_, err := s.transition(ctx, in.InstanceIds, "running", map[string]bool{},
		func(r *instanceRecord) error {
			if r.state() == "terminated" || r.state() == "shutting-down" {
				return awserr.BadRequest("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be rebooted.", r.id())
			}
			return nil
		}, nil)
	if err != nil {
		return nil, err
	}
	sc := scopeOf(ctx)
	for _, id := range in.InstanceIds {
		err := s.update(sc, id, func(r *instanceRecord) {
			if r.state() == "running" {
				r.Reboot = true
			}
		})
		if err != nil {
			return nil, err
		}
		s.ctl.enqueue(sc, id)
	}
	return &api.RebootInstancesOutput{}, nil
}

// GetConsoleOutput returns the most recent 64 KB of an instance's console
// (its processes' stdout and stderr), base64-encoded.
func (s *Service) GetConsoleOutput(ctx context.Context, in *api.GetConsoleOutputInput) (*api.GetConsoleOutputOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	id := str(in.InstanceId)
	err := s.st.View(func(tx store.Tx) error {
		_, err := loadInstance(tx, sc, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &api.GetConsoleOutputOutput{InstanceId: ptr(id), Timestamp: ptr(s.now().Truncate(time.Second))}
	if b := s.machine.Console(id); len(b) > 0 {
		out.Output = ptr(base64.StdEncoding.EncodeToString(b))
	}
	return out, nil
}

// log is the service's logger.
func (s *Service) log() *slog.Logger {
	if s.opts.Logger != nil {
		return s.opts.Logger
	}
	return slog.New(slog.DiscardHandler)
}
