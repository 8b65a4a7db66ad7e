package ec2

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// EC2 Fleet (CreateFleet) and Spot Fleet (RequestSpotFleet), one
// implementation. A fleet is a target capacity, in units, over pools: a
// launch template or launch specification with its overrides (instance
// type, subnet or zone, weight, priority, maximum price). Instances are
// launched through launchInstances, as RunInstances launches them, and
// chosen by the allocation strategies of the User Guide's "Allocation
// strategies for Spot Instances" and "On-Demand allocation strategies".
//
// An instant fleet launches once, synchronously, and reports Instances and
// Errors; a request fleet launches once, on the clock; a maintain fleet is
// reconciled on the clock (lifecycle.go's queue, keyed by the fleet ID):
// running capacity is compared with the target, the difference launched
// (replacing interrupted or terminated instances) or, when the target was
// lowered, terminated, and each step is recorded in the fleet's history.

var (
	fleetKind     = register(kind{prefix: "fleet", resourceType: "fleet", bucket: "ec2/fleets"})
	spotFleetKind = register(kind{prefix: "sfr", resourceType: "spot-fleet-request", bucket: "ec2/spotfleets"})
)

func init() {
	notFoundCodes["fleet"], nouns["fleet"] = "InvalidFleetId.NotFound", "fleet"
	notFoundCodes["sfr"], nouns["sfr"] = "InvalidSpotFleetRequestId.NotFound", "spot fleet request"
}

// fleetRetry is how soon a fleet short of its target tries again.
const fleetRetry = 30 * time.Second

// maxFleetHistory bounds the history a fleet keeps.
const maxFleetHistory = 1000

// fleetRecord is a stored EC2 Fleet or Spot Fleet.
type fleetRecord struct {
	// Spot is set for a Spot Fleet request; Config is then its
	// description, else Fleet is.
	Spot   bool                        `json:",omitempty"`
	Fleet  *api.FleetData              `json:",omitempty"`
	Config *api.SpotFleetRequestConfig `json:",omitempty"`
	// Members are the instances the fleet launched and still counts.
	Members []fleetMember
	// Errors are the latest launch failures (DescribeFleets Errors).
	Errors []api.DescribeFleetError `json:",omitempty"`
	// History is the fleet's history, oldest first.
	History []api.HistoryRecordEntry `json:",omitempty"`
	// Launched records that a request fleet made its one attempt.
	Launched bool `json:",omitempty"`
}

// fleetMember is one instance of a fleet.
type fleetMember struct {
	InstanceID   string
	InstanceType string
	Lifecycle    string // "spot" or "on-demand"
	Pool         int
	Weight       float64
	SpotRequest  string `json:",omitempty"`
}

func (f *fleetRecord) id() string {
	if f.Spot {
		return str(f.Config.SpotFleetRequestId)
	}
	return str(f.Fleet.FleetId)
}

func (f *fleetRecord) kind() kind {
	if f.Spot {
		return spotFleetKind
	}
	return fleetKind
}

// state is the fleet's state in EC2 Fleet's words (submitted, active,
// modifying, deleted_running, deleted_terminating, deleted, failed); a
// Spot Fleet's cancelled* states read as deleted*.
func (f *fleetRecord) state() string {
	if f.Spot {
		return strings.Replace(str(f.Config.SpotFleetRequestState), "cancelled", "deleted", 1)
	}
	return str(f.Fleet.FleetState)
}

// setState sets the fleet's state, in its kind's words.
func (f *fleetRecord) setState(st string) {
	if f.Spot {
		f.Config.SpotFleetRequestState = ptr(strings.Replace(st, "deleted", "cancelled", 1))
	} else {
		f.Fleet.FleetState = ptr(st)
	}
}

func (f *fleetRecord) setActivity(st string) {
	if f.Spot {
		f.Config.ActivityStatus = ptr(st)
	} else {
		f.Fleet.ActivityStatus = ptr(st)
	}
}

// record adds a history entry. EC2 Fleet's event types are instance-change,
// fleet-change and service-error; Spot Fleet's instanceChange,
// fleetRequestChange and error.
func (f *fleetRecord) record(now time.Time, eventType, subType, instanceID, description string) {
	if f.Spot {
		eventType = map[string]string{"instance-change": "instanceChange", "fleet-change": "fleetRequestChange", "service-error": "error"}[eventType]
	}
	e := api.HistoryRecordEntry{EventType: ptr(eventType), Timestamp: ptr(now), EventInformation: &api.EventInformation{
		EventSubType: ptr(subType), InstanceId: optional(instanceID), EventDescription: optional(description),
	}}
	f.History = append(f.History, e)
	if n := len(f.History); n > maxFleetHistory {
		f.History = slices.Clone(f.History[n-maxFleetHistory:])
	}
}

// fleetPlan is what a fleet asks for, the same for both kinds.
type fleetPlan struct {
	typ            string // instant, request or maintain
	total          float64
	onDemand, spot float64 // targets by lifecycle
	spotStrategy   string  // EC2 Fleet's kebab-case names
	odStrategy     string
	poolsToUse     int
	interruption   string
	maxPrice       string
	excess         string // "termination" or "no-termination"
	validUntil     *time.Time
	terminateOnEnd bool
	instanceTags   []api.Tag
	pools          []fleetPool
}

// fleetPool is one launch template or specification with one set of
// overrides.
type fleetPool struct {
	template *api.FleetLaunchTemplateSpecification
	spec     *api.SpotFleetLaunchSpecification
	over     api.FleetLaunchTemplateOverrides
}

// weight is the capacity units one instance of the pool counts for.
func (p fleetPool) weight() float64 {
	if w := p.over.WeightedCapacity; w != nil && *w > 0 {
		return *w
	}
	return 1
}

// plan reads the fleet's request.
func (f *fleetRecord) plan() fleetPlan {
	var p fleetPlan
	if f.Spot {
		c := f.Config.SpotFleetRequestConfig
		p.typ = cmp.Or(str(c.Type), "maintain")
		p.total = float64(deref(c.TargetCapacity))
		p.onDemand = float64(deref(c.OnDemandTargetCapacity))
		p.spot = max(p.total-p.onDemand, 0)
		p.spotStrategy = map[string]string{
			"lowestPrice": "lowest-price", "diversified": "diversified", "capacityOptimized": "capacity-optimized",
			"capacityOptimizedPrioritized": "capacity-optimized-prioritized", "priceCapacityOptimized": "price-capacity-optimized",
		}[cmp.Or(str(c.AllocationStrategy), "lowestPrice")]
		p.odStrategy = map[string]string{"lowestPrice": "lowest-price", "prioritized": "prioritized"}[cmp.Or(str(c.OnDemandAllocationStrategy), "lowestPrice")]
		p.poolsToUse = int(deref(c.InstancePoolsToUseCount))
		p.interruption = cmp.Or(str(c.InstanceInterruptionBehavior), "terminate")
		p.maxPrice = str(c.SpotPrice)
		p.excess = "termination"
		if str(c.ExcessCapacityTerminationPolicy) == "noTermination" {
			p.excess = "no-termination"
		}
		p.validUntil, p.terminateOnEnd = c.ValidUntil, boolean(c.TerminateInstancesWithExpiration)
		for i := range c.LaunchSpecifications {
			spec := &c.LaunchSpecifications[i]
			p.pools = append(p.pools, fleetPool{spec: spec, over: api.FleetLaunchTemplateOverrides{
				InstanceType: spec.InstanceType, SubnetId: spec.SubnetId, WeightedCapacity: spec.WeightedCapacity, MaxPrice: spec.SpotPrice,
			}})
			if spec.Placement != nil {
				p.pools[len(p.pools)-1].over.AvailabilityZone = spec.Placement.AvailabilityZone
			}
		}
		for _, cfg := range c.LaunchTemplateConfigs {
			if len(cfg.Overrides) == 0 {
				p.pools = append(p.pools, fleetPool{template: cfg.LaunchTemplateSpecification})
			}
			for _, o := range cfg.Overrides {
				p.pools = append(p.pools, fleetPool{template: cfg.LaunchTemplateSpecification, over: api.FleetLaunchTemplateOverrides{
					InstanceType: o.InstanceType, SubnetId: o.SubnetId, AvailabilityZone: o.AvailabilityZone,
					WeightedCapacity: o.WeightedCapacity, Priority: o.Priority, MaxPrice: o.SpotPrice,
				}})
			}
		}
		return p
	}
	d := f.Fleet
	t := d.TargetCapacitySpecification
	p.typ = cmp.Or(str(d.Type), "maintain")
	p.total = float64(deref(t.TotalTargetCapacity))
	p.onDemand, p.spot = float64(deref(t.OnDemandTargetCapacity)), float64(deref(t.SpotTargetCapacity))
	if rest := p.total - p.onDemand - p.spot; rest > 0 {
		if str(t.DefaultTargetCapacityType) == "spot" {
			p.spot += rest
		} else {
			p.onDemand += rest
		}
	}
	p.spotStrategy, p.odStrategy, p.interruption = "lowest-price", "lowest-price", "terminate"
	if o := d.SpotOptions; o != nil {
		p.spotStrategy = cmp.Or(str(o.AllocationStrategy), p.spotStrategy)
		p.poolsToUse = int(deref(o.InstancePoolsToUseCount))
		p.interruption = cmp.Or(str(o.InstanceInterruptionBehavior), p.interruption)
	}
	if o := d.OnDemandOptions; o != nil {
		p.odStrategy = cmp.Or(str(o.AllocationStrategy), p.odStrategy)
	}
	p.excess = cmp.Or(str(d.ExcessCapacityTerminationPolicy), "termination")
	p.validUntil, p.terminateOnEnd = d.ValidUntil, boolean(d.TerminateInstancesWithExpiration)
	for _, cfg := range d.LaunchTemplateConfigs {
		if len(cfg.Overrides) == 0 {
			p.pools = append(p.pools, fleetPool{template: cfg.LaunchTemplateSpecification})
		}
		for _, o := range cfg.Overrides {
			p.pools = append(p.pools, fleetPool{template: cfg.LaunchTemplateSpecification, over: o})
		}
	}
	return p
}

func (s *Service) fleetOperations() []service.Operation {
	return []service.Operation{
		service.Handle("CreateFleet", s.CreateFleet),
		service.Handle("DescribeFleets", s.DescribeFleets),
		service.Handle("DescribeFleetInstances", s.DescribeFleetInstances),
		service.Handle("DescribeFleetHistory", s.DescribeFleetHistory),
		service.Handle("DeleteFleets", s.DeleteFleets),
		service.Handle("ModifyFleet", s.ModifyFleet),
		service.Handle("RequestSpotFleet", s.RequestSpotFleet),
		service.Handle("DescribeSpotFleetRequests", s.DescribeSpotFleetRequests),
		service.Handle("DescribeSpotFleetInstances", s.DescribeSpotFleetInstances),
		service.Handle("DescribeSpotFleetRequestHistory", s.DescribeSpotFleetRequestHistory),
		service.Handle("CancelSpotFleetRequests", s.CancelSpotFleetRequests),
		service.Handle("ModifySpotFleetRequest", s.ModifySpotFleetRequest),
	}
}

// The controller's queue carries Spot requests and fleets as well as
// instances; these route their keys.

// ownerReconciler returns the reconcile of a Spot request or fleet ID, or
// nil for an instance.
func (s *Service) ownerReconciler(id string) func(context.Context, scope, string) error {
	switch {
	case strings.HasPrefix(id, "sir-"):
		return s.reconcileSpotRequest
	case strings.HasPrefix(id, "fleet-"), strings.HasPrefix(id, "sfr-"):
		return s.reconcileFleet
	}
	return nil
}

// notifyOwners asks the Spot request and fleet of an instance to look at
// it again.
func (s *Service) notifyOwners(sc scope, r instanceRecord) {
	if id := str(r.SpotInstanceRequestId); id != "" {
		s.ctl.enqueue(sc, id)
	}
	if r.Fleet != "" {
		s.ctl.enqueue(sc, r.Fleet)
	}
}

// ownerKeys are the keys of every Spot request and fleet, to resume them
// after a restart.
func (s *Service) ownerKeys() ([]string, error) {
	var keys []string
	err := s.st.View(func(tx store.Tx) error {
		for _, b := range []string{spotRequestKind.bucket, fleetKind.bucket, spotFleetKind.bucket} {
			err := tx.ForEach(b, "", func(key string, _ func(any) error) error {
				keys = append(keys, key)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return keys, err
}

// loadFleet reads a fleet of either kind by ID.
func loadFleet(tx store.Tx, sc scope, id string) (fleetRecord, error) {
	k := fleetKind
	if strings.HasPrefix(id, "sfr-") {
		k = spotFleetKind
	}
	var f fleetRecord
	err := tx.Get(k.bucket, sc.key(id), &f)
	if errors.Is(err, store.ErrNotFound) {
		return f, notFound(notFoundCode(k), nounOf(k), id)
	}
	return f, err
}

func putFleet(tx store.Tx, sc scope, f fleetRecord) error {
	return tx.Put(f.kind().bucket, sc.key(f.id()), f)
}

// pricedPool is a pool with what allocation needs to know of it.
type pricedPool struct {
	fleetPool
	index        int
	instanceType string
	az           string
	onDemand     float64 // per hour
	spot         float64
	maxSpot      float64
	capacity     float64 // 0..1, the emulated spare capacity of the pool
	err          error
}

// poolInput is the RunInstances request of a pool: the template (merged
// by launchInstances) or launch specification, with the overrides winning.
func poolInput(p fleetPool) *api.RunInstancesInput {
	in := &api.RunInstancesInput{MinCount: ptr(int32(1)), MaxCount: ptr(int32(1))}
	if p.spec != nil {
		sp := p.spec
		in.ImageId, in.InstanceType, in.KeyName, in.UserData = sp.ImageId, sp.InstanceType, sp.KeyName, sp.UserData
		in.SubnetId, in.IamInstanceProfile, in.EbsOptimized = sp.SubnetId, sp.IamInstanceProfile, sp.EbsOptimized
		in.NetworkInterfaces, in.BlockDeviceMappings = sp.NetworkInterfaces, sp.BlockDeviceMappings
		for _, g := range sp.SecurityGroups {
			if g.GroupId != nil {
				in.SecurityGroupIds = append(in.SecurityGroupIds, str(g.GroupId))
			} else if g.GroupName != nil {
				in.SecurityGroups = append(in.SecurityGroups, str(g.GroupName))
			}
		}
		if sp.Monitoring != nil {
			in.Monitoring = &api.RunInstancesMonitoringEnabled{Enabled: sp.Monitoring.Enabled}
		}
		if sp.Placement != nil {
			in.Placement = &api.Placement{AvailabilityZone: sp.Placement.AvailabilityZone, GroupName: sp.Placement.GroupName, Tenancy: sp.Placement.Tenancy}
		}
		for _, ts := range sp.TagSpecifications {
			in.TagSpecifications = append(in.TagSpecifications, api.TagSpecification{ResourceType: ts.ResourceType, Tags: ts.Tags})
		}
	}
	if t := p.template; t != nil {
		in.LaunchTemplate = &api.LaunchTemplateSpecification{LaunchTemplateId: t.LaunchTemplateId, LaunchTemplateName: t.LaunchTemplateName, Version: t.Version}
	}
	o := p.over
	if o.InstanceType != nil {
		in.InstanceType = o.InstanceType
	}
	if o.ImageId != nil {
		in.ImageId = o.ImageId
	}
	if o.SubnetId != nil {
		in.SubnetId = o.SubnetId
	}
	if o.AvailabilityZone != nil {
		if in.Placement == nil {
			in.Placement = &api.Placement{}
		}
		in.Placement.AvailabilityZone = o.AvailabilityZone
	}
	return in
}

// pricePools resolves each pool's instance type and Availability Zone and
// prices it now. A pool that cannot launch keeps its error.
func (s *Service) pricePools(tx store.Tx, sc scope, plan fleetPlan, now time.Time) []pricedPool {
	out := make([]pricedPool, len(plan.pools))
	for i, p := range plan.pools {
		pp := pricedPool{fleetPool: p, index: i}
		in := poolInput(p)
		if in.LaunchTemplate != nil {
			merged, err := s.applyLaunchTemplate(tx, sc, in)
			if err != nil {
				pp.err = err
				out[i] = pp
				continue
			}
			in = merged
		}
		pp.instanceType = cmp.Or(str(in.InstanceType), "m1.small")
		sn, err := s.launchSubnet(tx, sc, in)
		if err != nil {
			pp.err = err
			out[i] = pp
			continue
		}
		pp.az = str(sn.AvailabilityZone)
		pp.onDemand, _ = catalog.OnDemandPrice(pp.instanceType)
		pp.spot = catalog.SpotPrice(pp.instanceType, pp.az, now)
		pp.maxSpot = pp.onDemand
		if v := cmp.Or(str(p.over.MaxPrice), plan.maxPrice); v != "" {
			if m, err := parsePrice("MaxPrice", v); err == nil {
				pp.maxSpot = m
			}
		}
		pp.capacity = spareCapacity(pp.instanceType, pp.az)
		if s.faults.unavailable(pp.instanceType, pp.az) {
			pp.capacity = 0
		}
		out[i] = pp
	}
	return out
}

// spareCapacity is a pool's emulated spare capacity in [0, 1): nephele
// has no real Spot pools, so capacity-optimized strategies rank pools by
// this stable draw from the type and zone.
func spareCapacity(instanceType, az string) float64 {
	h := fnv.New64a()
	h.Write([]byte(instanceType + "/" + az))
	return float64(h.Sum64()>>11) / (1 << 53)
}

// rankPools orders the pools a strategy launches from, best first, and
// says over how many of the first it spreads the instances.
func rankPools(pools []pricedPool, lifecycle, strategy string, poolsToUse int) ([]pricedPool, int) {
	var ok []pricedPool
	for _, p := range pools {
		if p.err != nil || (lifecycle == "spot" && p.spot > p.maxSpot) {
			continue
		}
		ok = append(ok, p)
	}
	unit := func(p pricedPool) float64 {
		if lifecycle == "spot" {
			return p.spot / p.weight()
		}
		return p.onDemand / p.weight()
	}
	priority := func(p pricedPool) float64 {
		if p.over.Priority != nil {
			return *p.over.Priority
		}
		return math.Inf(1)
	}
	byPrice := func(a, b pricedPool) int { return cmp.Or(cmp.Compare(unit(a), unit(b)), cmp.Compare(a.index, b.index)) }
	byCapacity := func(a, b pricedPool) int { return cmp.Or(cmp.Compare(b.capacity, a.capacity), byPrice(a, b)) }
	spread := 1
	switch strategy {
	case "prioritized":
		slices.SortStableFunc(ok, func(a, b pricedPool) int { return cmp.Or(cmp.Compare(priority(a), priority(b)), byPrice(a, b)) })
	case "diversified":
		slices.SortStableFunc(ok, byPrice)
		spread = len(ok)
	case "capacity-optimized":
		slices.SortStableFunc(ok, byCapacity)
	case "capacity-optimized-prioritized":
		slices.SortStableFunc(ok, func(a, b pricedPool) int { return cmp.Or(cmp.Compare(priority(a), priority(b)), byCapacity(a, b)) })
	case "price-capacity-optimized":
		// The lowest-priced of the pools with the most spare capacity:
		// the better half by capacity, by price, then the rest.
		slices.SortStableFunc(ok, byCapacity)
		half := (len(ok) + 1) / 2
		slices.SortStableFunc(ok[:half], byPrice)
		slices.SortStableFunc(ok[half:], byPrice)
	default: // lowest-price
		slices.SortStableFunc(ok, byPrice)
		if lifecycle == "spot" && poolsToUse > 1 {
			spread = poolsToUse
		}
	}
	return ok, max(min(spread, len(ok)), 1)
}

// fleetLaunch is the outcome of launching toward a target.
type fleetLaunch struct {
	instances []api.CreateFleetInstance
	errors    []api.CreateFleetError
	ids       []string
}

// launchCapacity launches need units of a lifecycle for a fleet, from the
// pools in the strategy's order: spread over the first pools, and what a
// pool fails to launch moves to the next. Each pool's launch is its own
// transaction, which also records the members in the fleet.
func (s *Service) launchCapacity(ctx context.Context, sc scope, fleetID string, plan fleetPlan, pools []pricedPool, lifecycle string, need float64) fleetLaunch {
	var out fleetLaunch
	strategy := plan.spotStrategy
	if lifecycle == "on-demand" {
		strategy = plan.odStrategy
	}
	order, spread := rankPools(pools, lifecycle, strategy, plan.poolsToUse)
	for _, p := range pools {
		if p.err != nil {
			out.errors = append(out.errors, fleetError(p, lifecycle, p.err))
		}
	}
	active, rest := order[:min(spread, len(order))], order[min(spread, len(order)):]
	for need > 0 && len(active) > 0 {
		counts := make([]int, len(active))
		for left, i := need, 0; left > 0; i++ {
			counts[i%len(active)]++
			left -= active[i%len(active)].weight()
		}
		var failed []int
		for i, p := range active {
			if counts[i] == 0 {
				continue
			}
			ids, err := s.launchPool(ctx, sc, fleetID, plan, p, lifecycle, counts[i])
			if len(ids) > 0 {
				need -= float64(len(ids)) * p.weight()
				out.ids = append(out.ids, ids...)
				out.instances = append(out.instances, api.CreateFleetInstance{
					InstanceIds: ids, InstanceType: ptr(p.instanceType), Lifecycle: ptr(lifecycle),
					Platform: ptr("Linux/UNIX"), LaunchTemplateAndOverrides: p.response(),
				})
			}
			if err != nil || len(ids) < counts[i] {
				if err == nil {
					err = insufficientCapacity(p.instanceType, p.az, sc.region)
				}
				out.errors = append(out.errors, fleetError(p, lifecycle, err))
				failed = append(failed, i)
			}
		}
		if len(failed) == 0 {
			break
		}
		// Failed pools give way to the next ones in order.
		var next []pricedPool
		for i, p := range active {
			if !slices.Contains(failed, i) {
				next = append(next, p)
			}
		}
		for range failed {
			if len(rest) > 0 {
				next, rest = append(next, rest[0]), rest[1:]
			}
		}
		if len(next) == len(active)-len(failed) && len(rest) == 0 && len(failed) == len(active) {
			break
		}
		active = next
	}
	return out
}

// response is the LaunchTemplateAndOverrides of a pool.
func (p pricedPool) response() *api.LaunchTemplateAndOverridesResponse {
	o := p.over
	o.InstanceType = ptr(p.instanceType)
	r := &api.LaunchTemplateAndOverridesResponse{Overrides: &o}
	if p.template != nil {
		t := *p.template
		r.LaunchTemplateSpecification = &t
	}
	return r
}

// fleetError is a CreateFleet error item for a pool.
func fleetError(p pricedPool, lifecycle string, err error) api.CreateFleetError {
	code, msg := "InternalError", "An internal error has occurred"
	if e := awsError(err); e != nil {
		code, msg = e.Code, e.Message
	}
	return api.CreateFleetError{ErrorCode: ptr(code), ErrorMessage: ptr(msg), Lifecycle: ptr(lifecycle), LaunchTemplateAndOverrides: p.response()}
}

// launchPool launches up to count instances of one pool for a fleet, and
// records them as members, in one transaction.
func (s *Service) launchPool(ctx context.Context, sc scope, fleetID string, plan fleetPlan, p pricedPool, lifecycle string, count int) ([]string, error) {
	in := poolInput(p.fleetPool)
	if lifecycle == "spot" {
		opts := &api.SpotMarketOptions{InstanceInterruptionBehavior: ptr(plan.interruption), SpotInstanceType: ptr("one-time"), MaxPrice: ptr(formatPrice(p.maxSpot))}
		in.InstanceMarketOptions = &api.InstanceMarketOptionsRequest{MarketType: ptr("spot"), SpotOptions: opts}
	}
	if len(plan.instanceTags) > 0 {
		in.TagSpecifications = append(in.TagSpecifications, api.TagSpecification{ResourceType: ptr("instance"), Tags: plan.instanceTags})
	}
	fleetTag := "aws:ec2:fleet-id"
	if strings.HasPrefix(fleetID, "sfr-") {
		fleetTag = "aws:ec2spot:fleet-request-id"
	}
	var res api.Reservation
	err := s.st.Update(func(tx store.Tx) error {
		f, err := loadFleet(tx, sc, fleetID)
		if err != nil {
			return err
		}
		res, err = s.launchInstances(ctx, tx, sc, in, 1, count, func(r *instanceRecord) { r.Fleet = fleetID })
		if err != nil {
			return err
		}
		now := s.now()
		for _, inst := range res.Instances {
			id := str(inst.InstanceId)
			// AWS's own tag, which the tag rules keep from users.
			ts, err := readTags(tx, sc, id)
			if err != nil {
				return err
			}
			if err := writeTags(tx, sc, id, append(ts, api.Tag{Key: ptr(fleetTag), Value: ptr(fleetID)})); err != nil {
				return err
			}
			f.Members = append(f.Members, fleetMember{InstanceID: id, InstanceType: p.instanceType, Lifecycle: lifecycle,
				Pool: p.index, Weight: p.weight(), SpotRequest: str(inst.SpotInstanceRequestId)})
			f.record(now, "instance-change", "launched", id, "")
		}
		return putFleet(tx, sc, f)
	})
	if err != nil {
		return nil, err
	}
	s.enqueueReservation(sc, res)
	ids := make([]string, len(res.Instances))
	for i, inst := range res.Instances {
		ids[i] = str(inst.InstanceId)
	}
	return ids, nil
}

// liveMembers splits a fleet's members into those that count toward its
// capacity (pending or running) and those that ended.
func liveMembers(tx store.Tx, sc scope, members []fleetMember) (live, ended []fleetMember, err error) {
	for _, m := range members {
		r, err := loadInstance(tx, sc, m.InstanceID)
		if err != nil && !isAWSError(err) {
			return nil, nil, err
		}
		if err == nil && (r.state() == "pending" || r.state() == "running") {
			live = append(live, m)
		} else {
			ended = append(ended, m)
		}
	}
	return live, ended, nil
}

// fulfilled sums the capacity of members by lifecycle.
func fulfilled(members []fleetMember) (onDemand, spot float64) {
	for _, m := range members {
		if m.Lifecycle == "spot" {
			spot += m.Weight
		} else {
			onDemand += m.Weight
		}
	}
	return onDemand, spot
}

// reconcileFleet takes a fleet one step toward its target: it forgets
// members that ended, launches what is missing (a maintain fleet always,
// a request fleet once), terminates what exceeds a lowered target, and
// ends a deleted fleet's instances.
func (s *Service) reconcileFleet(ctx context.Context, sc scope, id string) error {
	var f fleetRecord
	var ended []fleetMember
	now := s.now()
	// Forget members that ended.
	err := s.st.Update(func(tx store.Tx) error {
		var err error
		if f, err = loadFleet(tx, sc, id); err != nil {
			return err
		}
		var live []fleetMember
		if live, ended, err = liveMembers(tx, sc, f.Members); err != nil {
			return err
		}
		if len(ended) == 0 {
			return nil
		}
		for _, m := range ended {
			f.record(now, "instance-change", "terminated", m.InstanceID, "")
		}
		f.Members = live
		return putFleet(tx, sc, f)
	})
	if err != nil {
		if isAWSError(err) {
			return nil // gone
		}
		return err
	}
	plan := f.plan()
	switch f.state() {
	case "deleted_terminating":
		if len(f.Members) > 0 {
			return s.terminateMembers(ctx, sc, f.Members)
		}
		return s.updateFleet(sc, id, func(f *fleetRecord) {
			if f.state() == "deleted_terminating" && len(f.Members) == 0 {
				f.setState("deleted")
				f.record(now, "fleet-change", "deleted", "", "")
			}
		})
	case "active", "submitted", "modifying":
	default:
		return nil
	}
	if plan.typ == "instant" {
		return nil
	}
	if plan.validUntil != nil && !now.Before(*plan.validUntil) {
		st := "deleted_running"
		if plan.terminateOnEnd {
			st = "deleted_terminating"
		}
		if err := s.updateFleet(sc, id, func(f *fleetRecord) { f.setState(st); f.record(now, "fleet-change", "expired", "", "") }); err != nil {
			return err
		}
		s.ctl.enqueue(sc, id)
		return nil
	}
	haveOD, haveSpot := fulfilled(f.Members)
	launchNow := plan.typ == "maintain" || !f.Launched
	var launched fleetLaunch
	short := false
	if launchNow && (haveOD < plan.onDemand || haveSpot < plan.spot) {
		var pools []pricedPool
		if err := s.st.View(func(tx store.Tx) error { pools = s.pricePools(tx, sc, plan, now); return nil }); err != nil {
			return err
		}
		for _, lc := range []struct {
			name       string
			need, have float64
		}{{"on-demand", plan.onDemand, haveOD}, {"spot", plan.spot, haveSpot}} {
			if lc.have >= lc.need {
				continue
			}
			l := s.launchCapacity(ctx, sc, id, plan, pools, lc.name, lc.need-lc.have)
			launched.errors = append(launched.errors, l.errors...)
			launched.ids = append(launched.ids, l.ids...)
		}
	}
	// Terminate what exceeds a lowered target, newest first.
	var excess []fleetMember
	if plan.excess == "termination" {
		excess = excessMembers(f.Members, plan)
	}
	err = s.updateFleet(sc, id, func(f *fleetRecord) {
		if launchNow {
			f.Launched = true
		}
		if len(launched.errors) > 0 {
			f.Errors = nil
			for _, e := range launched.errors {
				f.Errors = append(f.Errors, api.DescribeFleetError(e))
				f.record(now, "service-error", "launchSpecUnusable", "", str(e.ErrorCode)+": "+str(e.ErrorMessage))
			}
		}
		od, sp := fulfilled(f.Members)
		od, sp = od-removedWeight(excess, "on-demand"), sp-removedWeight(excess, "spot")
		f.setFulfilled(od, sp)
		if st := f.state(); st == "submitted" || st == "modifying" {
			f.setState("active")
			f.record(now, "fleet-change", "active", "", "")
		}
		switch {
		case od+sp >= plan.total:
			f.setActivity("fulfilled")
		case len(launched.errors) > 0:
			f.setActivity("error")
			short = plan.typ == "maintain"
		default:
			f.setActivity("pending_fulfillment")
			short = plan.typ == "maintain"
		}
	})
	if err != nil {
		return err
	}
	if len(excess) > 0 {
		if err := s.terminateMembers(ctx, sc, excess); err != nil {
			return err
		}
	}
	if short {
		s.ctl.after(sc, id, fleetRetry)
	}
	return nil
}

// setFulfilled records the fleet's fulfilled capacity.
func (f *fleetRecord) setFulfilled(onDemand, spot float64) {
	if f.Spot {
		f.Config.SpotFleetRequestConfig.FulfilledCapacity = ptr(onDemand + spot)
		f.Config.SpotFleetRequestConfig.OnDemandFulfilledCapacity = ptr(onDemand)
	} else {
		f.Fleet.FulfilledCapacity = ptr(onDemand + spot)
		f.Fleet.FulfilledOnDemandCapacity = ptr(onDemand)
	}
}

// excessMembers are the newest members beyond each lifecycle's target.
func excessMembers(members []fleetMember, plan fleetPlan) []fleetMember {
	var out []fleetMember
	od, sp := fulfilled(members)
	for i := len(members) - 1; i >= 0; i-- {
		m := members[i]
		if m.Lifecycle == "spot" && sp-m.Weight >= plan.spot {
			sp -= m.Weight
			out = append(out, m)
		} else if m.Lifecycle != "spot" && od-m.Weight >= plan.onDemand {
			od -= m.Weight
			out = append(out, m)
		}
	}
	return out
}

func removedWeight(ms []fleetMember, lifecycle string) float64 {
	var w float64
	for _, m := range ms {
		if m.Lifecycle == lifecycle {
			w += m.Weight
		}
	}
	return w
}

// terminateMembers terminates fleet instances as TerminateInstances does.
func (s *Service) terminateMembers(ctx context.Context, sc scope, ms []fleetMember) error {
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.InstanceID)
	}
	ctx = service.WithRequest(ctx, service.Request{AccountID: sc.account, Region: sc.region})
	// One at a time, so that a protected or vanished instance does not
	// keep the others running.
	var errs []error
	for _, id := range ids {
		if _, err := s.TerminateInstances(ctx, &api.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil && !isAWSError(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// updateFleet changes a fleet in one transaction.
func (s *Service) updateFleet(sc scope, id string, change func(*fleetRecord)) error {
	return s.st.Update(func(tx store.Tx) error {
		f, err := loadFleet(tx, sc, id)
		if err != nil {
			return err
		}
		change(&f)
		return putFleet(tx, sc, f)
	})
}

// CreateFleet creates an EC2 Fleet. An instant fleet launches at once and
// returns its Instances and Errors; request and maintain fleets are
// fulfilled on the clock.
func (s *Service) CreateFleet(ctx context.Context, in *api.CreateFleetInput) (*api.CreateFleetOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	typ := cmp.Or(str(in.Type), "maintain")
	t := in.TargetCapacitySpecification
	if t == nil || t.TotalTargetCapacity == nil {
		return nil, missingParameter("The request must contain the parameter TargetCapacitySpecification.TotalTargetCapacity")
	}
	total, od, sp := deref(t.TotalTargetCapacity), deref(t.OnDemandTargetCapacity), deref(t.SpotTargetCapacity)
	if total < 0 || od < 0 || sp < 0 {
		return nil, invalidParameterValue("Target capacity values must not be negative.")
	}
	if od+sp > total {
		return nil, invalidParameterValue("The sum of OnDemandTargetCapacity (%d) and SpotTargetCapacity (%d) must not exceed TotalTargetCapacity (%d).", od, sp, total)
	}
	if len(in.LaunchTemplateConfigs) == 0 {
		return nil, missingParameter("The request must contain the parameter LaunchTemplateConfigs")
	}
	for _, c := range in.LaunchTemplateConfigs {
		if c.LaunchTemplateSpecification == nil || (c.LaunchTemplateSpecification.LaunchTemplateId == nil && c.LaunchTemplateSpecification.LaunchTemplateName == nil) {
			return nil, missingParameter("The request must contain a launch template ID or name in each LaunchTemplateConfigs item")
		}
	}
	fleetTags, err := tagSpecTags(in.TagSpecifications, "fleet", "fleet", "instance")
	if err != nil {
		return nil, err
	}
	instanceTags, _ := tagSpecTags(in.TagSpecifications, "instance", "fleet", "instance")
	if len(instanceTags) > 0 && typ != "instant" {
		return nil, invalidParameterValue("The 'instance' resource type is only supported in tag specifications of instant fleets.")
	}
	now := s.now()
	d := &api.FleetData{
		FleetId: ptr("fleet-" + newUUID()), FleetState: ptr("submitted"), ActivityStatus: ptr("pending_fulfillment"),
		CreateTime: ptr(now.Truncate(time.Second)), ClientToken: in.ClientToken, Context: in.Context, Type: ptr(typ),
		ExcessCapacityTerminationPolicy: in.ExcessCapacityTerminationPolicy, ReplaceUnhealthyInstances: in.ReplaceUnhealthyInstances,
		TerminateInstancesWithExpiration: in.TerminateInstancesWithExpiration, ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil,
		FulfilledCapacity: ptr(0.0), FulfilledOnDemandCapacity: ptr(0.0),
		TargetCapacitySpecification: &api.TargetCapacitySpecification{
			TotalTargetCapacity: ptr(total), OnDemandTargetCapacity: ptr(od), SpotTargetCapacity: ptr(sp),
			DefaultTargetCapacityType: ptr(cmp.Or(str(t.DefaultTargetCapacityType), "on-demand")), TargetCapacityUnitType: t.TargetCapacityUnitType,
		},
		SpotOptions:     &api.SpotOptions{AllocationStrategy: ptr("lowest-price"), InstanceInterruptionBehavior: ptr("terminate")},
		OnDemandOptions: &api.OnDemandOptions{AllocationStrategy: ptr("lowest-price")},
	}
	if o := in.SpotOptions; o != nil {
		d.SpotOptions = &api.SpotOptions{
			AllocationStrategy: ptr(cmp.Or(str(o.AllocationStrategy), "lowest-price")), InstanceInterruptionBehavior: ptr(cmp.Or(str(o.InstanceInterruptionBehavior), "terminate")),
			InstancePoolsToUseCount: o.InstancePoolsToUseCount, MaxTotalPrice: o.MaxTotalPrice, MinTargetCapacity: o.MinTargetCapacity,
			SingleAvailabilityZone: o.SingleAvailabilityZone, SingleInstanceType: o.SingleInstanceType,
		}
	}
	if o := in.OnDemandOptions; o != nil {
		d.OnDemandOptions = &api.OnDemandOptions{
			AllocationStrategy: ptr(cmp.Or(str(o.AllocationStrategy), "lowest-price")), MaxTotalPrice: o.MaxTotalPrice,
			MinTargetCapacity: o.MinTargetCapacity, SingleAvailabilityZone: o.SingleAvailabilityZone, SingleInstanceType: o.SingleInstanceType,
		}
	}
	for _, c := range in.LaunchTemplateConfigs {
		cfg := api.FleetLaunchTemplateConfig{LaunchTemplateSpecification: &api.FleetLaunchTemplateSpecification{
			LaunchTemplateId: c.LaunchTemplateSpecification.LaunchTemplateId, LaunchTemplateName: c.LaunchTemplateSpecification.LaunchTemplateName,
			Version: c.LaunchTemplateSpecification.Version,
		}}
		for _, o := range c.Overrides {
			cfg.Overrides = append(cfg.Overrides, api.FleetLaunchTemplateOverrides{
				AvailabilityZone: o.AvailabilityZone, AvailabilityZoneId: o.AvailabilityZoneId, ImageId: o.ImageId, InstanceType: o.InstanceType,
				MaxPrice: o.MaxPrice, Priority: o.Priority, SubnetId: o.SubnetId, WeightedCapacity: o.WeightedCapacity,
			})
		}
		d.LaunchTemplateConfigs = append(d.LaunchTemplateConfigs, cfg)
	}
	f := fleetRecord{Fleet: d}
	f.record(now, "fleet-change", "submitted", "", "")
	plan := f.plan()
	plan.instanceTags = instanceTags
	id := f.id()
	err = s.st.Update(func(tx store.Tx) error {
		// Every launch template must exist, as AWS checks at once.
		for _, p := range s.pricePools(tx, sc, plan, now) {
			if e := awsError(p.err); e != nil && strings.HasPrefix(e.Code, "InvalidLaunchTemplate") {
				return p.err
			}
		}
		if err := putFleet(tx, sc, f); err != nil {
			return err
		}
		return writeTags(tx, sc, id, slices.Clone(fleetTags))
	})
	if err != nil {
		return nil, err
	}
	out := &api.CreateFleetOutput{FleetId: ptr(id)}
	if typ != "instant" {
		s.ctl.enqueue(sc, id)
		return out, nil
	}
	var pools []pricedPool
	if err := s.st.View(func(tx store.Tx) error { pools = s.pricePools(tx, sc, plan, now); return nil }); err != nil {
		return nil, err
	}
	out.Instances, out.Errors = []api.CreateFleetInstance{}, []api.CreateFleetError{}
	for _, lc := range []struct {
		name string
		need float64
	}{{"on-demand", plan.onDemand}, {"spot", plan.spot}} {
		if lc.need <= 0 {
			continue
		}
		l := s.launchCapacity(ctx, sc, id, plan, pools, lc.name, lc.need)
		out.Instances = append(out.Instances, l.instances...)
		out.Errors = append(out.Errors, l.errors...)
	}
	err = s.updateFleet(sc, id, func(f *fleetRecord) {
		f.Launched = true
		for _, e := range out.Errors {
			f.Errors = append(f.Errors, api.DescribeFleetError(e))
		}
		od, sp := fulfilled(f.Members)
		f.setFulfilled(od, sp)
		f.setState("active")
		if od+sp >= plan.total {
			f.setActivity("fulfilled")
		} else {
			f.setActivity("error")
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fleetFields are DescribeFleets's filters.
var fleetFields = filter.Fields[tagged[fleetRecord]]{
	"fleet-state":     func(t tagged[fleetRecord]) []string { return []string{t.item.state()} },
	"activity-status": func(t tagged[fleetRecord]) []string { return []string{str(t.item.Fleet.ActivityStatus)} },
	"type":            func(t tagged[fleetRecord]) []string { return []string{str(t.item.Fleet.Type)} },
	"excess-capacity-termination-policy": func(t tagged[fleetRecord]) []string {
		return []string{cmp.Or(str(t.item.Fleet.ExcessCapacityTerminationPolicy), "termination")}
	},
	"replace-unhealthy-instances": func(t tagged[fleetRecord]) []string {
		return []string{boolString(boolean(t.item.Fleet.ReplaceUnhealthyInstances))}
	},
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// fleetData is a fleet as DescribeFleets reports it.
func fleetData(t tagged[fleetRecord]) api.FleetData {
	d := *t.item.Fleet
	d.Tags = t.tags
	d.Errors = t.item.Errors
	groups := map[[2]any]int{}
	for _, m := range t.item.Members {
		k := [2]any{m.Pool, m.Lifecycle}
		i, ok := groups[k]
		if !ok {
			i = len(d.Instances)
			groups[k] = i
			inst := api.DescribeFleetsInstances{InstanceType: ptr(m.InstanceType), Lifecycle: ptr(m.Lifecycle), Platform: ptr("Linux/UNIX")}
			if pools := t.item.plan().pools; m.Pool < len(pools) {
				inst.LaunchTemplateAndOverrides = pricedPool{fleetPool: pools[m.Pool], instanceType: m.InstanceType}.response()
			}
			d.Instances = append(d.Instances, inst)
		}
		d.Instances[i].InstanceIds = append(d.Instances[i].InstanceIds, m.InstanceID)
	}
	return d
}

// DescribeFleets lists EC2 Fleets, with their filters and pagination.
func (s *Service) DescribeFleets(ctx context.Context, in *api.DescribeFleetsInput) (*api.DescribeFleetsOutput, error) {
	sc := scopeOf(ctx)
	found, next, err := describe(s, sc, fleetKind, func(f fleetRecord) string { return f.id() }, in.FleetIds, in.Filters, fleetFields, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeFleetsOutput{Fleets: []api.FleetData{}, NextToken: next}
	for _, t := range found {
		out.Fleets = append(out.Fleets, fleetData(t))
	}
	return out, nil
}

// activeInstances are a fleet's running members, as DescribeFleetInstances
// and DescribeSpotFleetInstances list them.
func (s *Service) activeInstances(sc scope, id string) ([]api.ActiveInstance, error) {
	var out []api.ActiveInstance
	err := s.st.View(func(tx store.Tx) error {
		f, err := loadFleet(tx, sc, id)
		if err != nil {
			return err
		}
		live, _, err := liveMembers(tx, sc, f.Members)
		for _, m := range live {
			out = append(out, api.ActiveInstance{InstanceId: ptr(m.InstanceID), InstanceType: ptr(m.InstanceType),
				InstanceHealth: ptr("healthy"), SpotInstanceRequestId: optional(m.SpotRequest)})
		}
		return err
	})
	return out, err
}

// pageInstances pages a fleet's active instances by instance ID.
func pageInstances(all []api.ActiveInstance, maxResults *int32, token *string) ([]api.ActiveInstance, *string, error) {
	page, next, err := pageByID(all, func(a api.ActiveInstance) string { return str(a.InstanceId) }, maxResults, token)
	if page == nil {
		page = []api.ActiveInstance{}
	}
	return page, next, err
}

// DescribeFleetInstances lists the running instances of an EC2 Fleet.
func (s *Service) DescribeFleetInstances(ctx context.Context, in *api.DescribeFleetInstancesInput) (*api.DescribeFleetInstancesOutput, error) {
	sc := scopeOf(ctx)
	id := str(in.FleetId)
	all, err := s.activeInstances(sc, id)
	if err != nil {
		return nil, err
	}
	all, err = filter.Apply(all, toFilters(in.Filters), filter.Fields[api.ActiveInstance]{
		"instance-type": func(a api.ActiveInstance) []string { return []string{str(a.InstanceType)} },
	}, nil)
	if err != nil {
		return nil, err
	}
	page, next, err := pageInstances(all, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &api.DescribeFleetInstancesOutput{FleetId: ptr(id), ActiveInstances: page, NextToken: next}, nil
}

// history returns a fleet's history entries at or after start, paged.
func (s *Service) history(sc scope, id string, start *time.Time, eventType string, maxResults *int32, token *string) ([]api.HistoryRecordEntry, *string, error) {
	var f fleetRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		f, err = loadFleet(tx, sc, id)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if start == nil {
		return nil, nil, missingParameter("The request must contain the parameter StartTime")
	}
	type numbered struct {
		n int
		e api.HistoryRecordEntry
	}
	var all []numbered
	for i, e := range f.History {
		if e.Timestamp.Before(*start) || (eventType != "" && str(e.EventType) != eventType) {
			continue
		}
		all = append(all, numbered{i, e})
	}
	page, next, err := pageByID(all, func(x numbered) string { return fmtIndex(x.n) }, maxResults, token)
	out := make([]api.HistoryRecordEntry, 0, len(page))
	for _, x := range page {
		out = append(out, x.e)
	}
	return out, next, err
}

// fmtIndex writes an index so that indexes sort as strings.
func fmtIndex(n int) string {
	const digits = "0123456789"
	b := []byte("0000000000")
	for i := len(b) - 1; i >= 0 && n > 0; i-- {
		b[i] = digits[n%10]
		n /= 10
	}
	return string(b)
}

// DescribeFleetHistory lists what an EC2 Fleet did since StartTime.
func (s *Service) DescribeFleetHistory(ctx context.Context, in *api.DescribeFleetHistoryInput) (*api.DescribeFleetHistoryOutput, error) {
	sc := scopeOf(ctx)
	records, next, err := s.history(sc, str(in.FleetId), in.StartTime, str(in.EventType), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &api.DescribeFleetHistoryOutput{FleetId: in.FleetId, StartTime: in.StartTime, HistoryRecords: records,
		LastEvaluatedTime: ptr(s.now().Truncate(time.Second)), NextToken: next}, nil
}

// DeleteFleets deletes EC2 Fleets; with TerminateInstances their instances
// are terminated too, else they keep running.
func (s *Service) DeleteFleets(ctx context.Context, in *api.DeleteFleetsInput) (*api.DeleteFleetsOutput, error) {
	sc := scopeOf(ctx)
	out := &api.DeleteFleetsOutput{SuccessfulFleetDeletions: []api.DeleteFleetSuccessItem{}, UnsuccessfulFleetDeletions: []api.DeleteFleetErrorItem{}}
	now := s.now()
	for _, id := range in.FleetIds {
		fail := func(code, msg string) {
			out.UnsuccessfulFleetDeletions = append(out.UnsuccessfulFleetDeletions, api.DeleteFleetErrorItem{FleetId: ptr(id), Error: &api.DeleteFleetError{Code: ptr(code), Message: ptr(msg)}})
		}
		if !strings.HasPrefix(id, "fleet-") {
			fail("fleetIdMalformed", "The fleet ID '"+id+"' is malformed")
			continue
		}
		var prev, cur string
		err := s.updateFleet(sc, id, func(f *fleetRecord) {
			prev = f.state()
			if strings.HasPrefix(prev, "deleted") {
				cur = prev
				return
			}
			cur = "deleted_running"
			if boolean(in.TerminateInstances) {
				cur = "deleted_terminating"
			}
			f.setState(cur)
			f.record(now, "fleet-change", "deleted", "", "")
		})
		if isAWSError(err) {
			fail("fleetIdDoesNotExist", "The fleet ID '"+id+"' does not exist")
			continue
		}
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(prev, "deleted") {
			fail("fleetNotInDeletableState", "The fleet '"+id+"' is not in a deletable state")
			continue
		}
		out.SuccessfulFleetDeletions = append(out.SuccessfulFleetDeletions, api.DeleteFleetSuccessItem{FleetId: ptr(id), PreviousFleetState: ptr(prev), CurrentFleetState: ptr(cur)})
		s.ctl.enqueue(sc, id)
	}
	return out, nil
}

// ModifyFleet changes the target capacity of a maintain fleet.
func (s *Service) ModifyFleet(ctx context.Context, in *api.ModifyFleetInput) (*api.ModifyFleetOutput, error) {
	sc := scopeOf(ctx)
	id := str(in.FleetId)
	t := in.TargetCapacitySpecification
	now := s.now()
	err := s.st.Update(func(tx store.Tx) error {
		f, err := loadFleet(tx, sc, id)
		if err != nil {
			return err
		}
		if str(f.Fleet.Type) != "maintain" {
			return awserr.BadRequest("UnsupportedOperation", "Only fleets of type 'maintain' can be modified.")
		}
		if st := f.state(); st != "active" && st != "submitted" {
			return awserr.BadRequest("IncorrectState", "The fleet '%s' is in the '%s' state and cannot be modified.", id, st)
		}
		if t != nil {
			cur := f.Fleet.TargetCapacitySpecification
			if t.TotalTargetCapacity != nil {
				cur.TotalTargetCapacity = t.TotalTargetCapacity
			}
			if t.OnDemandTargetCapacity != nil {
				cur.OnDemandTargetCapacity = t.OnDemandTargetCapacity
			}
			if t.SpotTargetCapacity != nil {
				cur.SpotTargetCapacity = t.SpotTargetCapacity
			}
			if t.DefaultTargetCapacityType != nil {
				cur.DefaultTargetCapacityType = t.DefaultTargetCapacityType
			}
			if deref(cur.OnDemandTargetCapacity)+deref(cur.SpotTargetCapacity) > deref(cur.TotalTargetCapacity) {
				return invalidParameterValue("The sum of OnDemandTargetCapacity and SpotTargetCapacity must not exceed TotalTargetCapacity.")
			}
		}
		if in.ExcessCapacityTerminationPolicy != nil {
			f.Fleet.ExcessCapacityTerminationPolicy = in.ExcessCapacityTerminationPolicy
		}
		if in.Context != nil {
			f.Fleet.Context = in.Context
		}
		f.setState("modifying")
		f.record(now, "fleet-change", "modify_in_progress", "", "")
		return putFleet(tx, sc, f)
	})
	if err != nil {
		return nil, err
	}
	s.ctl.enqueue(sc, id)
	return &api.ModifyFleetOutput{Return: ptr(true)}, nil
}

// RequestSpotFleet creates a Spot Fleet request from LaunchSpecifications
// or LaunchTemplateConfigs; it is fulfilled on the clock.
func (s *Service) RequestSpotFleet(ctx context.Context, in *api.RequestSpotFleetInput) (*api.RequestSpotFleetOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	c := in.SpotFleetRequestConfig
	if c == nil {
		return nil, missingParameter("The request must contain the parameter SpotFleetRequestConfig")
	}
	invalid := func(format string, args ...any) error {
		return awserr.BadRequest("InvalidSpotFleetRequestConfig", format, args...)
	}
	switch {
	case len(c.LaunchSpecifications) == 0 && len(c.LaunchTemplateConfigs) == 0:
		return nil, invalid("Either LaunchSpecifications or LaunchTemplateConfigs must be specified.")
	case len(c.LaunchSpecifications) > 0 && len(c.LaunchTemplateConfigs) > 0:
		return nil, invalid("LaunchSpecifications and LaunchTemplateConfigs cannot both be specified.")
	case deref(c.TargetCapacity) < 1:
		return nil, invalid("TargetCapacity must be at least 1.")
	case deref(c.OnDemandTargetCapacity) > deref(c.TargetCapacity):
		return nil, invalid("OnDemandTargetCapacity must not exceed TargetCapacity.")
	case str(c.Type) == "instant":
		return nil, invalid("Spot Fleet does not support the instant type; use CreateFleet.")
	}
	for _, sp := range c.LaunchSpecifications {
		if _, err := checkUserData(sp.UserData); err != nil {
			return nil, err
		}
	}
	fleetTags, err := tagSpecTags(c.TagSpecifications, "spot-fleet-request", "spot-fleet-request")
	if err != nil {
		return nil, err
	}
	now := s.now()
	cfg := *c
	cfg.Type = ptr(cmp.Or(str(c.Type), "maintain"))
	cfg.AllocationStrategy = ptr(cmp.Or(str(c.AllocationStrategy), "lowestPrice"))
	cfg.InstanceInterruptionBehavior = ptr(cmp.Or(str(c.InstanceInterruptionBehavior), "terminate"))
	cfg.ExcessCapacityTerminationPolicy = ptr(cmp.Or(str(c.ExcessCapacityTerminationPolicy), "Default"))
	cfg.OnDemandTargetCapacity = ptr(deref(c.OnDemandTargetCapacity))
	cfg.FulfilledCapacity, cfg.OnDemandFulfilledCapacity = ptr(0.0), ptr(0.0)
	cfg.TagSpecifications = nil
	f := fleetRecord{Spot: true, Config: &api.SpotFleetRequestConfig{
		SpotFleetRequestId: ptr("sfr-" + newUUID()), SpotFleetRequestState: ptr("submitted"), ActivityStatus: ptr("pending_fulfillment"),
		CreateTime: ptr(now.Truncate(time.Second)), SpotFleetRequestConfig: &cfg,
	}}
	f.record(now, "fleet-change", "submitted", "", "")
	id := f.id()
	plan := f.plan()
	err = s.st.Update(func(tx store.Tx) error {
		for _, p := range s.pricePools(tx, sc, plan, now) {
			if p.err != nil && p.spec != nil {
				return p.err // a bad launch specification fails the call
			}
			if e := awsError(p.err); e != nil && strings.HasPrefix(e.Code, "InvalidLaunchTemplate") {
				return p.err
			}
		}
		if err := putFleet(tx, sc, f); err != nil {
			return err
		}
		return writeTags(tx, sc, id, slices.Clone(fleetTags))
	})
	if err != nil {
		return nil, err
	}
	s.ctl.enqueue(sc, id)
	return &api.RequestSpotFleetOutput{SpotFleetRequestId: ptr(id)}, nil
}

// DescribeSpotFleetRequests lists Spot Fleet requests, paged.
func (s *Service) DescribeSpotFleetRequests(ctx context.Context, in *api.DescribeSpotFleetRequestsInput) (*api.DescribeSpotFleetRequestsOutput, error) {
	sc := scopeOf(ctx)
	found, next, err := describe(s, sc, spotFleetKind, func(f fleetRecord) string { return f.id() }, in.SpotFleetRequestIds, nil,
		filter.Fields[tagged[fleetRecord]]{}, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeSpotFleetRequestsOutput{SpotFleetRequestConfigs: []api.SpotFleetRequestConfig{}, NextToken: next}
	for _, t := range found {
		c := *t.item.Config
		c.Tags = t.tags
		out.SpotFleetRequestConfigs = append(out.SpotFleetRequestConfigs, c)
	}
	return out, nil
}

// DescribeSpotFleetInstances lists the running instances of a Spot Fleet.
func (s *Service) DescribeSpotFleetInstances(ctx context.Context, in *api.DescribeSpotFleetInstancesInput) (*api.DescribeSpotFleetInstancesOutput, error) {
	sc := scopeOf(ctx)
	id := str(in.SpotFleetRequestId)
	all, err := s.activeInstances(sc, id)
	if err != nil {
		return nil, err
	}
	page, next, err := pageInstances(all, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &api.DescribeSpotFleetInstancesOutput{SpotFleetRequestId: ptr(id), ActiveInstances: page, NextToken: next}, nil
}

// DescribeSpotFleetRequestHistory lists what a Spot Fleet did since
// StartTime.
func (s *Service) DescribeSpotFleetRequestHistory(ctx context.Context, in *api.DescribeSpotFleetRequestHistoryInput) (*api.DescribeSpotFleetRequestHistoryOutput, error) {
	sc := scopeOf(ctx)
	entries, next, err := s.history(sc, str(in.SpotFleetRequestId), in.StartTime, str(in.EventType), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeSpotFleetRequestHistoryOutput{SpotFleetRequestId: in.SpotFleetRequestId, StartTime: in.StartTime,
		LastEvaluatedTime: ptr(s.now().Truncate(time.Second)), NextToken: next, HistoryRecords: []api.HistoryRecord{}}
	for _, e := range entries {
		out.HistoryRecords = append(out.HistoryRecords, api.HistoryRecord(e))
	}
	return out, nil
}

// CancelSpotFleetRequests cancels Spot Fleet requests; with
// TerminateInstances their instances are terminated too.
func (s *Service) CancelSpotFleetRequests(ctx context.Context, in *api.CancelSpotFleetRequestsInput) (*api.CancelSpotFleetRequestsOutput, error) {
	sc := scopeOf(ctx)
	out := &api.CancelSpotFleetRequestsOutput{SuccessfulFleetRequests: []api.CancelSpotFleetRequestsSuccessItem{}, UnsuccessfulFleetRequests: []api.CancelSpotFleetRequestsErrorItem{}}
	now := s.now()
	for _, id := range in.SpotFleetRequestIds {
		fail := func(code, msg string) {
			out.UnsuccessfulFleetRequests = append(out.UnsuccessfulFleetRequests, api.CancelSpotFleetRequestsErrorItem{
				SpotFleetRequestId: ptr(id), Error: &api.CancelSpotFleetRequestsError{Code: ptr(code), Message: ptr(msg)}})
		}
		if !strings.HasPrefix(id, "sfr-") {
			fail("fleetRequestIdMalformed", "The Spot Fleet request ID '"+id+"' is malformed")
			continue
		}
		var prev, cur string
		err := s.updateFleet(sc, id, func(f *fleetRecord) {
			prev = str(f.Config.SpotFleetRequestState)
			if strings.HasPrefix(prev, "cancelled") {
				return
			}
			cur = "deleted_running"
			if boolean(in.TerminateInstances) {
				cur = "deleted_terminating"
			}
			f.setState(cur)
			cur = str(f.Config.SpotFleetRequestState)
			f.record(now, "fleet-change", "cancelled", "", "")
		})
		if isAWSError(err) {
			fail("fleetRequestIdDoesNotExist", "The Spot Fleet request ID '"+id+"' does not exist")
			continue
		}
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(prev, "cancelled") {
			fail("fleetRequestNotInCancellableState", "The Spot Fleet request '"+id+"' is not in a cancellable state")
			continue
		}
		out.SuccessfulFleetRequests = append(out.SuccessfulFleetRequests, api.CancelSpotFleetRequestsSuccessItem{
			SpotFleetRequestId: ptr(id), PreviousSpotFleetRequestState: ptr(prev), CurrentSpotFleetRequestState: ptr(cur)})
		s.ctl.enqueue(sc, id)
	}
	return out, nil
}

// ModifySpotFleetRequest changes the target capacity of a maintain Spot
// Fleet.
func (s *Service) ModifySpotFleetRequest(ctx context.Context, in *api.ModifySpotFleetRequestInput) (*api.ModifySpotFleetRequestOutput, error) {
	sc := scopeOf(ctx)
	id := str(in.SpotFleetRequestId)
	now := s.now()
	err := s.st.Update(func(tx store.Tx) error {
		f, err := loadFleet(tx, sc, id)
		if err != nil {
			return err
		}
		c := f.Config.SpotFleetRequestConfig
		if str(c.Type) != "maintain" {
			return awserr.BadRequest("InvalidSpotFleetRequestConfig", "Only Spot Fleet requests of type 'maintain' can be modified.")
		}
		if st := f.state(); st != "active" && st != "submitted" {
			return awserr.BadRequest("InvalidSpotFleetRequestConfig", "The Spot Fleet request '%s' is in the '%s' state and cannot be modified.", id, str(f.Config.SpotFleetRequestState))
		}
		if in.TargetCapacity != nil {
			c.TargetCapacity = in.TargetCapacity
		}
		if in.OnDemandTargetCapacity != nil {
			c.OnDemandTargetCapacity = in.OnDemandTargetCapacity
		}
		if deref(c.OnDemandTargetCapacity) > deref(c.TargetCapacity) {
			return awserr.BadRequest("InvalidSpotFleetRequestConfig", "OnDemandTargetCapacity must not exceed TargetCapacity.")
		}
		if in.ExcessCapacityTerminationPolicy != nil {
			c.ExcessCapacityTerminationPolicy = in.ExcessCapacityTerminationPolicy
		}
		f.setState("modifying")
		f.record(now, "fleet-change", "modify_in_progress", "", "")
		return putFleet(tx, sc, f)
	})
	if err != nil {
		return nil, err
	}
	s.ctl.enqueue(sc, id)
	return &api.ModifySpotFleetRequestOutput{Return: ptr(true)}, nil
}

// newUUID returns a random (version 4) UUID, the form of fleet IDs:
// fleet-<uuid> and sfr-<uuid>.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// pageByID pages items by a unique key with EC2's MaxResults (at most
// 1000) and NextToken.
func pageByID[T any](all []T, key func(T) string, maxResults *int32, token *string) ([]T, *string, error) {
	out, next, err := page.ByKey(all, key, str(token), int(deref(maxResults)), 0, 1000)
	if err != nil {
		return nil, nil, pageError(err, str(token), 1000)
	}
	return out, optional(next), nil
}
