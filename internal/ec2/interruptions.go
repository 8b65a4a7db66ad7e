package ec2

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/imds"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
)

// Spot interruptions, as the EC2 User Guide's "Spot Instance interruption
// notices" describes them: the instance first gets a rebalance
// recommendation (IMDS events/recommendations/rebalance), then the
// interruption notice (spot/instance-action, and spot/termination-time for
// a termination) two minutes before EC2 stops or terminates it; a
// hibernation gets its notice but no two minutes, as "hibernation begins
// immediately". The instance then stops or terminates with StateReason
// Server.SpotInstanceShutdown or Server.SpotInstanceTermination, and its
// Spot request takes the matching status code.
//
// Interruptions come from the admin API (POST /_nephele/ec2/spot-interruption)
// or, with Options.SpotInterruptionRate, at random. Every step is recorded
// in the instance's record and taken by the instance's reconcile on the
// clock, so an interruption survives a restart.

// interruptionNotice is how far ahead of the interruption the notice is:
// "a warning that is issued two minutes before Amazon EC2 stops or
// terminates your Spot Instance".
const interruptionNotice = 2 * time.Minute

// interruptionTick is how often random interruptions are drawn.
const interruptionTick = time.Minute

// spotInterruption is an interruption under way.
type spotInterruption struct {
	// Action is "terminate", "stop" or "hibernate".
	Action string
	// Cause is "price" or "capacity", which picks the Spot request's
	// status code (instance-terminated-by-price or -no-capacity, ...).
	Cause string
	// Rebalance is the rebalance recommendation's noticeTime.
	Rebalance time.Time
	// Notice is when spot/instance-action appears.
	Notice time.Time
	// Time is when the instance is stopped or terminated: the notice's
	// "time".
	Time time.Time
	// Noticed records that the Spot request shows marked-for-*.
	Noticed bool `json:",omitempty"`
}

// spotNotices adds a due rebalance recommendation and interruption notice
// to what the IMDS serves.
func (s *Service) spotNotices(inst *imds.Instance, r instanceRecord) {
	in := r.Interruption
	if in == nil {
		return
	}
	now := s.clk.Now()
	if !now.Before(in.Rebalance) {
		inst.RebalanceRecommendation = in.Rebalance
	}
	if !now.Before(in.Notice) {
		inst.SpotInstanceAction = &imds.SpotInstanceAction{Action: in.Action, Time: in.Time}
	}
}

// errNotInterruptible is why an instance cannot be interrupted.
type errNotInterruptible struct{ msg string }

func (e errNotInterruptible) Error() string { return e.msg }

// interrupt schedules the interruption of a Spot Instance: its rebalance
// recommendation now, its notice after lead, and the action two minutes
// later (at once for hibernate). action "" is the instance's interruption
// behaviour; cause "" is "price" when the Spot price is above the
// request's maximum price, else "capacity". An instance already being
// interrupted keeps its schedule.
func (s *Service) interrupt(sc scope, id, action, cause string, lead time.Duration) (spotInterruption, error) {
	var in spotInterruption
	scheduled := false
	err := s.st.Update(func(tx store.Tx) error {
		r, err := loadInstance(tx, sc, id)
		if err != nil {
			return err
		}
		if str(r.InstanceLifecycle) != "spot" {
			return errNotInterruptible{fmt.Sprintf("instance %s is not a Spot Instance", id)}
		}
		if r.Interruption != nil {
			in = *r.Interruption
			return nil
		}
		if st := r.state(); st != "pending" && st != "running" {
			return errNotInterruptible{fmt.Sprintf("instance %s is %s, not running", id, st)}
		}
		if action == "" {
			action = r.SpotInterruptionBehavior
		}
		if action == "" {
			action = "terminate"
		}
		if cause == "" {
			cause = "capacity"
			if req, err := loadSpotRequest(tx, sc, str(r.SpotInstanceRequestId)); err == nil {
				maxPrice, _ := parsePrice("SpotPrice", str(req.SpotPrice))
				if maxPrice < catalog.SpotPrice(str(r.InstanceType), str(r.Placement.AvailabilityZone), s.clk.Now()) {
					cause = "price"
				}
			}
		}
		now := s.now()
		in = spotInterruption{Action: action, Cause: cause, Rebalance: now, Notice: now.Add(lead), Time: now.Add(lead + interruptionNotice)}
		if action == "hibernate" {
			in.Time = in.Notice
		}
		r.Interruption = &in
		scheduled = true
		return tx.Put(instanceKind.bucket, sc.key(id), r)
	})
	if err != nil {
		return in, err
	}
	if scheduled {
		s.log().Info("ec2: spot interruption scheduled", "instance", id, "action", in.Action, "at", in.Time)
		s.ctl.enqueue(sc, id)
	}
	return in, nil
}

// interruptStep takes an interruption's next step once it is due: the
// notice marks the Spot request, the action stops or terminates the
// instance. It reports whether the instance left running.
func (s *Service) interruptStep(sc scope, r instanceRecord) (bool, error) {
	id, in := r.id(), *r.Interruption
	now := s.clk.Now()
	if now.Before(in.Notice) {
		s.ctl.after(sc, id, in.Notice.Sub(s.clk.Now()))
		return false, nil
	}
	if !in.Noticed {
		code := "marked-for-termination"
		if in.Action != "terminate" {
			code = "marked-for-stop"
		}
		err := s.updateSpotRequest(sc, str(r.SpotInstanceRequestId), func(q *spotRequestRecord) {
			if str(q.InstanceId) == id && str(q.State) == "active" {
				q.setStatus("active", code, "", s.now())
			}
		})
		if err != nil && !isAWSError(err) {
			return false, err
		}
		if err := s.update(sc, id, func(r *instanceRecord) {
			if r.Interruption != nil {
				r.Interruption.Noticed = true
			}
		}); err != nil {
			return false, err
		}
	}
	if now.Before(in.Time) {
		s.ctl.after(sc, id, in.Time.Sub(s.clk.Now()))
		return false, nil
	}
	terminate := in.Action == "terminate"
	err := s.update(sc, id, func(r *instanceRecord) {
		if st := r.state(); st != "running" && st != "pending" {
			return
		}
		if terminate {
			r.setState("shutting-down")
			r.StateReason = &api.StateReason{Code: ptr("Server.SpotInstanceTermination"), Message: ptr("Server.SpotInstanceTermination: Spot instance termination")}
		} else {
			r.setState("stopping")
			r.StateReason = &api.StateReason{Code: ptr("Server.SpotInstanceShutdown"), Message: ptr("Server.SpotInstanceShutdown: Spot instance shutdown")}
		}
		r.StateTransitionReason = ptr(s.transitionReason("Service"))
	})
	if err != nil {
		return true, err
	}
	s.ctl.enqueue(sc, id)
	s.log().Info("ec2: spot instance interrupted", "instance", id, "action", in.Action)
	return true, s.interruptedRequest(sc, r, in)
}

// interruptedRequest gives the Spot request of an interrupted instance its
// status: a one-time request closes, a persistent one opens again (and is
// fulfilled anew after spotRelaunchDelay) or, for a stop, is disabled.
func (s *Service) interruptedRequest(sc scope, r instanceRecord, in spotInterruption) error {
	sir := str(r.SpotInstanceRequestId)
	suffix := "-no-capacity"
	if in.Cause == "price" {
		suffix = "-by-price"
	}
	now := s.now()
	reopen := false
	err := s.updateSpotRequest(sc, sir, func(q *spotRequestRecord) {
		if str(q.InstanceId) != r.id() || (str(q.State) != "active" && str(q.State) != "disabled") {
			return
		}
		switch {
		case in.Action != "terminate":
			q.setStatus("disabled", "instance-stopped"+suffix, "", now)
		case str(q.Type) == "persistent" && q.Launch != nil:
			q.setStatus("open", "instance-terminated"+suffix, "", now)
			q.NotBefore, reopen = now.Add(spotRelaunchDelay), true
		default:
			q.setStatus("closed", "instance-terminated"+suffix, "", now)
		}
	})
	if isAWSError(err) {
		return nil // no request: nothing to tell
	}
	if reopen {
		s.ctl.after(sc, sir, spotRelaunchDelay)
	}
	return err
}

// startInterruptions draws random interruptions once a simulated minute,
// so that each running Spot Instance is interrupted
// Options.SpotInterruptionRate times an hour on average.
func (s *Service) startInterruptions() {
	rate := s.opts.SpotInterruptionRate
	if rate <= 0 {
		return
	}
	p := 1 - math.Exp(-rate*interruptionTick.Hours())
	s.ctl.wg.Add(1)
	go func() {
		defer s.ctl.wg.Done()
		t := s.clk.NewTicker(interruptionTick)
		defer t.Stop()
		for {
			select {
			case <-s.ctl.ctx.Done():
				return
			case <-t.C():
				if err := s.interruptAtRandom(p); err != nil && s.ctl.ctx.Err() == nil {
					s.log().Error("ec2: random spot interruptions", "err", err)
				}
			}
		}
	}()
}

// interruptAtRandom interrupts each running Spot Instance with
// probability p.
func (s *Service) interruptAtRandom(p float64) error {
	var keys []string
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(instanceKind.bucket, "", func(key string, decode func(any) error) error {
			var r instanceRecord
			if err := decode(&r); err != nil {
				return err
			}
			if str(r.InstanceLifecycle) == "spot" && r.state() == "running" && r.Interruption == nil {
				keys = append(keys, key)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, key := range keys {
		if rand.Float64() >= p {
			continue
		}
		account, region, id := splitKey(key)
		if _, err := s.interrupt(scope{account: account, region: region}, id, "", "", 0); err != nil {
			var refused errNotInterruptible
			if !errors.As(err, &refused) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// The admin API of EC2 (service.Admin): plain JSON under /_nephele/ec2/.
// Routes are registered by the files that own them, so that more than one
// can add its own.

var _ service.Admin = (*Service)(nil)

// adminRoute is one admin endpoint: a ServeMux pattern and its handler.
type adminRoute struct {
	pattern string
	handler func(*Service, http.ResponseWriter, *http.Request)
}

// adminRoutes are the admin endpoints, added by the files that serve them.
var adminRoutes []adminRoute

func init() {
	adminRoutes = append(adminRoutes, adminRoute{"POST /spot-interruption", (*Service).adminSpotInterruption})
}

// AdminHandler serves EC2's admin endpoints.
func (s *Service) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range adminRoutes {
		mux.HandleFunc(r.pattern, func(w http.ResponseWriter, req *http.Request) { r.handler(s, w, req) })
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusNotFound, adminError{Status: "error", Message: "unknown EC2 admin endpoint " + r.Method + " " + r.URL.Path})
	})
	return mux
}

// adminError is the body of a failed admin call.
type adminError struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// adminJSON writes a JSON admin response.
func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// spotInterruptionRequest is the body of POST /spot-interruption.
type spotInterruptionRequest struct {
	InstanceIDs []string `json:"instanceIds"`
	// Action is "terminate", "stop" or "hibernate"; empty is each
	// instance's interruption behaviour.
	Action string `json:"action"`
	// Reason is "price" or "capacity"; empty picks "price" when the Spot
	// price is above the request's maximum, else "capacity".
	Reason string `json:"reason"`
	// NoticeDelaySeconds is how long after the rebalance recommendation
	// the interruption notice comes; 0 gives both at once.
	NoticeDelaySeconds float64 `json:"noticeDelaySeconds"`
}

// scheduledInterruption is one line of POST /spot-interruption's answer.
type scheduledInterruption struct {
	InstanceID    string    `json:"instanceId"`
	Region        string    `json:"region"`
	Action        string    `json:"action"`
	Reason        string    `json:"reason"`
	RebalanceTime time.Time `json:"rebalanceTime"`
	NoticeTime    time.Time `json:"noticeTime"`
	ActionTime    time.Time `json:"actionTime"`
}

// adminSpotInterruption interrupts the Spot Instances named: POST
// /spot-interruption {"instanceIds": [...], "action": "terminate"}. Every
// instance is checked first, so a bad one schedules nothing.
func (s *Service) adminSpotInterruption(w http.ResponseWriter, r *http.Request) {
	var req spotInterruptionRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		adminJSON(w, http.StatusBadRequest, adminError{"error", "invalid JSON body: " + err.Error()})
		return
	}
	bad := func(format string, args ...any) {
		adminJSON(w, http.StatusBadRequest, adminError{"error", fmt.Sprintf(format, args...)})
	}
	switch {
	case len(req.InstanceIDs) == 0:
		bad("instanceIds must name at least one instance")
		return
	case req.Action != "" && req.Action != "terminate" && req.Action != "stop" && req.Action != "hibernate":
		bad("action must be terminate, stop or hibernate, not %q", req.Action)
		return
	case req.Reason != "" && req.Reason != "price" && req.Reason != "capacity":
		bad("reason must be price or capacity, not %q", req.Reason)
		return
	case req.NoticeDelaySeconds < 0 || math.IsNaN(req.NoticeDelaySeconds) || req.NoticeDelaySeconds > 86400:
		bad("noticeDelaySeconds must be between 0 and 86400")
		return
	}
	scopes, err := s.instanceScopes(req.InstanceIDs)
	if err != nil {
		var refused errNotInterruptible
		if errors.As(err, &refused) {
			bad("%s", refused.msg)
			return
		}
		s.log().Error("ec2: admin spot interruption", "err", err)
		adminJSON(w, http.StatusInternalServerError, adminError{"error", "internal error; see the nephele log"})
		return
	}
	lead := time.Duration(req.NoticeDelaySeconds * float64(time.Second))
	out := struct {
		Scheduled []scheduledInterruption `json:"scheduled"`
	}{Scheduled: []scheduledInterruption{}}
	for _, id := range req.InstanceIDs {
		sc := scopes[id]
		in, err := s.interrupt(sc, id, req.Action, req.Reason, lead)
		if err != nil {
			var refused errNotInterruptible
			if errors.As(err, &refused) {
				bad("%s", refused.msg)
				return
			}
			s.log().Error("ec2: admin spot interruption", "instance", id, "err", err)
			adminJSON(w, http.StatusInternalServerError, adminError{"error", "internal error; see the nephele log"})
			return
		}
		out.Scheduled = append(out.Scheduled, scheduledInterruption{
			InstanceID: id, Region: sc.region, Action: in.Action, Reason: in.Cause,
			RebalanceTime: in.Rebalance, NoticeTime: in.Notice, ActionTime: in.Time,
		})
	}
	adminJSON(w, http.StatusOK, out)
}

// instanceScopes finds the account and region of each instance, which
// admin calls name by ID alone, and checks that each can be interrupted.
func (s *Service) instanceScopes(ids []string) (map[string]scope, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	found := map[string]scope{}
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(instanceKind.bucket, "", func(key string, decode func(any) error) error {
			account, region, id := splitKey(key)
			if !want[id] {
				return nil
			}
			var r instanceRecord
			if err := decode(&r); err != nil {
				return err
			}
			if str(r.InstanceLifecycle) != "spot" {
				return errNotInterruptible{fmt.Sprintf("instance %s is not a Spot Instance", id)}
			}
			if st := r.state(); r.Interruption == nil && st != "pending" && st != "running" {
				return errNotInterruptible{fmt.Sprintf("instance %s is %s, not running", id, st)}
			}
			found[id] = scope{account: account, region: region}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range ids {
		if _, ok := found[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, errNotInterruptible{fmt.Sprintf("no instance %s", strings.Join(missing, ", "))}
	}
	return found, nil
}
