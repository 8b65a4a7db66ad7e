package ec2

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Spot Instance requests. A request is a record of what to launch and at
// most what price; the controller (lifecycle.go's queue, keyed by the
// request ID) fulfils it on the clock through launchInstances, the path
// RunInstances takes, and follows its instance afterwards. The states and
// status codes are those of the EC2 User Guide's "Spot request status
// codes" and "State changes for a Spot request": open/pending-evaluation,
// then active/fulfilled, or open/price-too-low while the maximum price is
// under the Spot price; a one-time request closes when its instance ends,
// a persistent one opens again and launches anew.

var spotRequestKind = register(kind{prefix: "sir", resourceType: "spot-instances-request", bucket: "ec2/spotrequests"})

// spotRequestRecord is a stored Spot Instance request: its API shape
// (without tags) and the RunInstances request that fulfils it.
type spotRequestRecord struct {
	api.SpotInstanceRequest
	// Launch is what a fulfilment launches, one instance at a time; nil
	// for requests RunInstances made, which are fulfilled at once.
	Launch *api.RunInstancesInput `json:",omitempty"`
	// NotBefore holds back the next fulfilment of a persistent request
	// whose instance was interrupted.
	NotBefore time.Time `json:",omitzero"`
}

func (r *spotRequestRecord) id() string { return str(r.SpotInstanceRequestId) }

// spotStatusMessages are the status messages of the codes nephele uses,
// worded after the User Guide's descriptions of them.
var spotStatusMessages = map[string]string{
	"pending-evaluation":                    "Your Spot request has been submitted for review, and is pending evaluation.",
	"fulfilled":                             "Your spot request is fulfilled.",
	"capacity-not-available":                "There is no Spot capacity available that matches your request.",
	"schedule-expired":                      "Your Spot request has expired because it was not fulfilled before the specified end date.",
	"canceled-before-fulfillment":           "Your Spot request was canceled before it was fulfilled.",
	"request-canceled-and-instance-running": "Spot Instance request canceled, but the Spot Instance is still running.",
	"marked-for-termination":                "Your Spot Instance is marked for termination.",
	"marked-for-stop":                       "Your Spot Instance is marked for stop.",
	"instance-terminated-by-price":          "Your Spot Instance was terminated because the Spot price rose above your maximum price.",
	"instance-terminated-no-capacity":       "Your Spot Instance was terminated because there is no longer Spot capacity available for it.",
	"instance-stopped-by-price":             "Your Spot Instance was stopped because the Spot price rose above your maximum price.",
	"instance-stopped-no-capacity":          "Your Spot Instance was stopped because there is no longer Spot capacity available for it.",
	"instance-terminated-by-user":           "Spot Instance terminated due to user-initiated termination.",
	"instance-stopped-by-user":              "Spot Instance stopped due to user-initiated stop.",
}

// setStatus moves a request to a state with a status code; message
// overrides the code's usual message.
func (r *spotRequestRecord) setStatus(state, code, message string, now time.Time) {
	if message == "" {
		message = spotStatusMessages[code]
	}
	r.State = ptr(state)
	r.Status = &api.SpotInstanceStatus{Code: ptr(code), Message: ptr(message), UpdateTime: ptr(now.Truncate(time.Second))}
}

// spotRequestValidity is how long a request stays valid without
// ValidUntil: "the request remains active for 7 days" (RequestSpotInstances).
const spotRequestValidity = 7 * 24 * time.Hour

// spotRelaunchDelay is how long a persistent request stays open after EC2
// interrupted its instance before it is fulfilled again, so that the
// interruption's status can be seen.
const spotRelaunchDelay = time.Minute

// spotRetry is how often an open request whose launch failed for want of
// capacity is tried again.
const spotRetry = time.Minute

func (s *Service) spotOperations() []service.Operation {
	return []service.Operation{
		service.Handle("RequestSpotInstances", s.RequestSpotInstances),
		service.Handle("DescribeSpotInstanceRequests", s.DescribeSpotInstanceRequests),
		service.Handle("CancelSpotInstanceRequests", s.CancelSpotInstanceRequests),
		service.Handle("DescribeSpotPriceHistory", s.DescribeSpotPriceHistory),
	}
}

// loadSpotRequest reads a Spot request, or fails with
// InvalidSpotInstanceRequestID.NotFound.
func loadSpotRequest(tx store.Tx, sc scope, id string) (spotRequestRecord, error) {
	var r spotRequestRecord
	err := tx.Get(spotRequestKind.bucket, sc.key(id), &r)
	if errors.Is(err, store.ErrNotFound) {
		return r, notFound("InvalidSpotInstanceRequestID.NotFound", "spot instance request", id)
	}
	return r, err
}

// formatPrice writes a price as EC2 does: six decimals.
func formatPrice(p float64) string { return strconv.FormatFloat(p, 'f', 6, 64) }

// parsePrice reads a price parameter.
func parsePrice(param, v string) (float64, error) {
	p, err := strconv.ParseFloat(v, 64)
	if err != nil || p <= 0 {
		return 0, invalidParameterValue("Invalid value '%s' for %s.", v, param)
	}
	return p, nil
}

// spotMaxPrice is a launch's maximum Spot price: the one asked for, else
// the on-demand price, AWS's default.
func spotMaxPrice(in *api.RunInstancesInput, instanceType string) (float64, error) {
	if m := in.InstanceMarketOptions; m != nil && m.SpotOptions != nil && str(m.SpotOptions.MaxPrice) != "" {
		return parsePrice("MaxPrice", str(m.SpotOptions.MaxPrice))
	}
	p, _ := catalog.OnDemandPrice(instanceType)
	return p, nil
}

// checkSpotMaxPrice refuses a Spot launch whose maximum price is under the
// Spot price of its type and zone now, with RunInstances's
// SpotMaxPriceTooLow.
func checkSpotMaxPrice(in *api.RunInstancesInput, l launch, now time.Time) error {
	maxPrice, err := spotMaxPrice(in, l.instanceType)
	if err != nil {
		return err
	}
	if price := catalog.SpotPrice(l.instanceType, str(l.subnet.AvailabilityZone), now); maxPrice < price {
		return awserr.BadRequest("SpotMaxPriceTooLow", "%s", priceTooLow(maxPrice, price))
	}
	return nil
}

// priceTooLow is the status message of price-too-low, in AWS's words.
func priceTooLow(maxPrice, price float64) string {
	return fmt.Sprintf("Your Spot request price of %s is lower than the minimum required Spot request fulfillment price of %s.",
		strconv.FormatFloat(maxPrice, 'f', -1, 64), strconv.FormatFloat(price, 'f', -1, 64))
}

// attachSpotRequest ties a new Spot Instance to its Spot request: the
// request a fulfilment launched it for, or, for RunInstances and fleets,
// a new request fulfilled at once. The instance takes the request's
// interruption behaviour and type.
func (s *Service) attachSpotRequest(tx store.Tx, sc scope, in *api.RunInstancesInput, l launch, r *instanceRecord, now time.Time) error {
	id := str(r.SpotInstanceRequestId)
	req, err := loadSpotRequest(tx, sc, id)
	if err == nil {
		r.SpotInterruptionBehavior = str(req.InstanceInterruptionBehavior)
		r.SpotRequestType = str(req.Type)
		return nil
	}
	if !isAWSError(err) {
		return err
	}
	typ, behavior := "one-time", "terminate"
	var validUntil *time.Time
	if o := in.InstanceMarketOptions.SpotOptions; o != nil {
		if v := str(o.SpotInstanceType); v != "" {
			typ = v
		}
		if v := str(o.InstanceInterruptionBehavior); v != "" {
			behavior = v
		}
		validUntil = o.ValidUntil
	}
	if behavior != "terminate" && typ != "persistent" && r.Fleet == "" {
		return invalidParameterCombination("The interruption behavior '%s' is only supported for persistent Spot requests.", behavior)
	}
	maxPrice, err := spotMaxPrice(in, l.instanceType)
	if err != nil {
		return err
	}
	if validUntil == nil {
		validUntil = ptr(now.Add(spotRequestValidity).Truncate(time.Second))
	}
	req = spotRequestRecord{SpotInstanceRequest: api.SpotInstanceRequest{
		SpotInstanceRequestId:        ptr(id),
		CreateTime:                   ptr(now.Truncate(time.Second)),
		InstanceId:                   r.InstanceId,
		InstanceInterruptionBehavior: ptr(behavior),
		LaunchSpecification:          launchSpecOf(in, l),
		LaunchedAvailabilityZone:     l.subnet.AvailabilityZone,
		LaunchedAvailabilityZoneId:   l.subnet.AvailabilityZoneId,
		ProductDescription:           ptr("Linux/UNIX"),
		SpotPrice:                    ptr(formatPrice(maxPrice)),
		Type:                         ptr(typ),
		ValidUntil:                   validUntil,
	}}
	req.setStatus("active", "fulfilled", "", now)
	r.SpotInterruptionBehavior, r.SpotRequestType = behavior, typ
	return tx.Put(spotRequestKind.bucket, sc.key(id), req)
}

// launchSpecOf is the LaunchSpecification a Spot request reports.
func launchSpecOf(in *api.RunInstancesInput, l launch) *api.LaunchSpecification {
	spec := &api.LaunchSpecification{
		ImageId: l.image.ImageId, InstanceType: ptr(l.instanceType), KeyName: optional(l.keyName),
		SecurityGroups: l.groups, SubnetId: l.subnet.SubnetId, IamInstanceProfile: in.IamInstanceProfile,
		EbsOptimized: in.EbsOptimized, BlockDeviceMappings: in.BlockDeviceMappings, NetworkInterfaces: in.NetworkInterfaces,
		Placement:  &api.SpotPlacement{AvailabilityZone: l.subnet.AvailabilityZone, Tenancy: ptr("default")},
		Monitoring: &api.RunInstancesMonitoringEnabled{Enabled: ptr(in.Monitoring != nil && boolean(in.Monitoring.Enabled))},
	}
	if in.Placement != nil && str(in.Placement.GroupName) != "" {
		spec.Placement.GroupName = in.Placement.GroupName
	}
	return spec
}

// runInputOfSpotSpec is the RunInstances request of a Spot request's
// launch specification.
func runInputOfSpotSpec(spec *api.RequestSpotLaunchSpecification) *api.RunInstancesInput {
	in := &api.RunInstancesInput{
		ImageId: spec.ImageId, InstanceType: spec.InstanceType, KeyName: spec.KeyName, UserData: spec.UserData,
		SubnetId: spec.SubnetId, SecurityGroupIds: spec.SecurityGroupIds, SecurityGroups: spec.SecurityGroups,
		IamInstanceProfile: spec.IamInstanceProfile, Monitoring: spec.Monitoring, EbsOptimized: spec.EbsOptimized,
		NetworkInterfaces: spec.NetworkInterfaces, BlockDeviceMappings: spec.BlockDeviceMappings,
		KernelId: spec.KernelId, RamdiskId: spec.RamdiskId,
		MinCount: ptr(int32(1)), MaxCount: ptr(int32(1)),
	}
	if p := spec.Placement; p != nil {
		in.Placement = &api.Placement{AvailabilityZone: p.AvailabilityZone, GroupName: p.GroupName, Tenancy: p.Tenancy}
	}
	return in
}

// RequestSpotInstances makes InstanceCount Spot requests, each for one
// instance. They are returned open and pending evaluation; the controller
// fulfils them on the clock.
func (s *Service) RequestSpotInstances(ctx context.Context, in *api.RequestSpotInstancesInput) (*api.RequestSpotInstancesOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	typ := str(in.Type)
	if typ == "" {
		typ = "one-time"
	}
	behavior := str(in.InstanceInterruptionBehavior)
	if behavior == "" {
		behavior = "terminate"
	}
	if behavior != "terminate" && typ != "persistent" {
		return nil, invalidParameterCombination("The interruption behavior '%s' is only supported for persistent Spot requests.", behavior)
	}
	count := int32(1)
	if in.InstanceCount != nil {
		count = *in.InstanceCount
	}
	if count < 1 {
		return nil, invalidParameterValue("Value (%d) for parameter instanceCount is invalid. Expected a positive integer.", count)
	}
	if in.LaunchSpecification == nil {
		return nil, missingParameter("The request must contain the parameter LaunchSpecification")
	}
	now := s.now()
	validUntil := now.Add(spotRequestValidity).Truncate(time.Second)
	if in.ValidUntil != nil {
		if !in.ValidUntil.After(now) {
			return nil, invalidParameterValue("Value (%s) for parameter validUntil is invalid. The end date must be in the future.", in.ValidUntil.UTC().Format(time.RFC3339))
		}
		validUntil = in.ValidUntil.UTC()
	}
	run := runInputOfSpotSpec(in.LaunchSpecification)
	run.InstanceMarketOptions = &api.InstanceMarketOptionsRequest{MarketType: ptr("spot"), SpotOptions: &api.SpotMarketOptions{
		MaxPrice: in.SpotPrice, InstanceInterruptionBehavior: ptr(behavior), SpotInstanceType: ptr(typ), ValidUntil: ptr(validUntil),
	}}
	if _, err := checkUserData(run.UserData); err != nil {
		return nil, err
	}
	ts, err := tagSpecTags(in.TagSpecifications, "spot-instances-request", "spot-instances-request")
	if err != nil {
		return nil, err
	}
	out := &api.RequestSpotInstancesOutput{SpotInstanceRequests: []api.SpotInstanceRequest{}}
	err = s.st.Update(func(tx store.Tx) error {
		// The launch specification is checked now, as AWS does: a bad AMI
		// or subnet fails the call rather than the request.
		l, err := s.resolveLaunch(ctx, tx, sc, run)
		if err != nil {
			return err
		}
		maxPrice, err := spotMaxPrice(run, l.instanceType)
		if err != nil {
			return err
		}
		for range count {
			r := spotRequestRecord{SpotInstanceRequest: api.SpotInstanceRequest{
				SpotInstanceRequestId:        ptr(awsid.New("sir")),
				CreateTime:                   ptr(now.Truncate(time.Second)),
				InstanceInterruptionBehavior: ptr(behavior),
				LaunchSpecification:          launchSpecOf(run, l),
				ProductDescription:           ptr("Linux/UNIX"),
				SpotPrice:                    ptr(formatPrice(maxPrice)),
				Type:                         ptr(typ),
				ValidFrom:                    in.ValidFrom,
				ValidUntil:                   ptr(validUntil),
				AvailabilityZoneGroup:        in.AvailabilityZoneGroup,
				LaunchGroup:                  in.LaunchGroup,
			}, Launch: run}
			r.setStatus("open", "pending-evaluation", "", now)
			if err := tx.Put(spotRequestKind.bucket, sc.key(r.id()), r); err != nil {
				return err
			}
			if err := writeTags(tx, sc, r.id(), append([]api.Tag(nil), ts...)); err != nil {
				return err
			}
			r.Tags = ts
			out.SpotInstanceRequests = append(out.SpotInstanceRequests, r.SpotInstanceRequest)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range out.SpotInstanceRequests {
		s.ctl.enqueue(sc, str(r.SpotInstanceRequestId))
	}
	return out, nil
}

// reconcileSpotRequest takes a Spot request one step: an open one is
// fulfilled (or waits for its price or capacity), an active or disabled
// one follows its instance.
func (s *Service) reconcileSpotRequest(ctx context.Context, sc scope, id string) error {
	var r spotRequestRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		r, err = loadSpotRequest(tx, sc, id)
		return err
	})
	if err != nil {
		if isAWSError(err) {
			return nil // gone
		}
		return err
	}
	now := s.now()
	switch str(r.State) {
	case "open":
		if r.ValidUntil != nil && !now.Before(*r.ValidUntil) {
			return s.updateSpotRequest(sc, id, func(r *spotRequestRecord) {
				if str(r.State) == "open" {
					r.setStatus("cancelled", "schedule-expired", "", now)
				}
			})
		}
		if r.Launch == nil {
			return nil
		}
		if now.Before(r.NotBefore) {
			s.ctl.after(sc, id, r.NotBefore.Sub(s.clk.Now()))
			return nil
		}
		return s.fulfilSpotRequest(ctx, sc, r, now)
	case "active", "disabled":
		return s.followSpotInstance(sc, r, now)
	}
	return nil
}

// fulfilSpotRequest launches the instance of an open request; if the
// maximum price is under the Spot price, or capacity is short, the request
// stays open with the reason, and is tried again when the price next
// changes (on the hour) or a minute later.
func (s *Service) fulfilSpotRequest(ctx context.Context, sc scope, r spotRequestRecord, now time.Time) error {
	id := r.id()
	var res api.Reservation
	err := s.st.Update(func(tx store.Tx) error {
		cur, err := loadSpotRequest(tx, sc, id)
		if err != nil {
			return err
		}
		if str(cur.State) != "open" {
			return errSkip
		}
		res, err = s.launchInstances(ctx, tx, sc, cur.Launch, 1, 1, func(ir *instanceRecord) {
			ir.SpotInstanceRequestId = ptr(id)
		})
		if err != nil {
			return err
		}
		inst := res.Instances[0]
		cur.InstanceId = inst.InstanceId
		cur.LaunchedAvailabilityZone = inst.Placement.AvailabilityZone
		cur.LaunchedAvailabilityZoneId = inst.Placement.AvailabilityZoneId
		cur.NotBefore = time.Time{}
		cur.setStatus("active", "fulfilled", "", now)
		return tx.Put(spotRequestKind.bucket, sc.key(id), cur)
	})
	if errors.Is(err, errSkip) {
		return nil
	}
	if e := awsError(err); e != nil {
		state, code, msg, retry := "open", "capacity-not-available", "", spotRetry
		switch e.Code {
		case "SpotMaxPriceTooLow":
			code, msg = "price-too-low", e.Message
			retry = now.Truncate(time.Hour).Add(time.Hour).Sub(now)
		case "InsufficientInstanceCapacity", "InstanceLimitExceeded", "VcpuLimitExceeded", "InsufficientFreeAddressesInSubnet":
		default:
			state, code, msg, retry = "failed", "bad-parameters", e.Message, 0
		}
		if err := s.updateSpotRequest(sc, id, func(r *spotRequestRecord) {
			if str(r.State) == "open" {
				r.setStatus(state, code, msg, now)
			}
		}); err != nil {
			return err
		}
		if retry > 0 {
			if r.ValidUntil != nil {
				retry = min(retry, r.ValidUntil.Sub(now))
			}
			s.ctl.after(sc, id, retry)
		}
		return nil
	}
	if err != nil {
		return err
	}
	s.enqueueReservation(sc, res)
	return nil
}

// isAWSError reports whether err is an AWS error (the client's fault, or a
// resource that is not there) rather than an internal one.
func isAWSError(err error) bool { return awsError(err) != nil }

// awsError returns the AWS error in err, or nil.
func awsError(err error) *awserr.Error {
	var e *awserr.Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// errSkip ends a transaction that found nothing to do.
var errSkip = errors.New("ec2: nothing to do")

// followSpotInstance moves a fulfilled request with its instance: when the
// user terminates it a one-time request closes and a persistent one opens
// again; when the user stops it a persistent request is disabled until the
// instance starts. Interruptions set their own status (interruptions.go).
func (s *Service) followSpotInstance(sc scope, r spotRequestRecord, now time.Time) error {
	persistent := str(r.Type) == "persistent"
	reopen := false
	// The instance is read in the same transaction as the request is
	// changed: a view read before could be overtaken by an interruption
	// that changes both.
	err := s.st.Update(func(tx store.Tx) error {
		cur, err := loadSpotRequest(tx, sc, r.id())
		if err != nil {
			return err
		}
		inst, err := loadInstance(tx, sc, str(r.InstanceId))
		gone := isAWSError(err)
		if err != nil && !gone {
			return err
		}
		if str(cur.InstanceId) != str(r.InstanceId) || (str(cur.State) != "active" && str(cur.State) != "disabled") {
			return nil
		}
		interrupted := !gone && inst.StateReason != nil && strings.HasPrefix(str(inst.StateReason.Code), "Server.Spot")
		state := ""
		if !gone {
			state = inst.state()
		}
		switch {
		case gone || state == "shutting-down" || state == "terminated":
			if interrupted {
				return nil
			}
			if persistent {
				cur.setStatus("open", "instance-terminated-by-user", "", now)
				cur.NotBefore, reopen = now, true
			} else {
				cur.setStatus("closed", "instance-terminated-by-user", "", now)
			}
		case state == "stopping" || state == "stopped":
			if interrupted || str(cur.State) != "active" {
				return nil
			}
			cur.setStatus("disabled", "instance-stopped-by-user", "", now)
		case state == "pending" || state == "running":
			if str(cur.State) != "disabled" {
				return nil
			}
			cur.setStatus("active", "fulfilled", "", now)
		default:
			return nil
		}
		return tx.Put(spotRequestKind.bucket, sc.key(r.id()), cur)
	})
	if reopen {
		s.ctl.enqueue(sc, r.id())
	}
	return err
}

// updateSpotRequest changes a Spot request in one transaction.
func (s *Service) updateSpotRequest(sc scope, id string, change func(*spotRequestRecord)) error {
	return s.st.Update(func(tx store.Tx) error {
		r, err := loadSpotRequest(tx, sc, id)
		if err != nil {
			return err
		}
		change(&r)
		return tx.Put(spotRequestKind.bucket, sc.key(id), r)
	})
}

// spotRequestFields are DescribeSpotInstanceRequests's filters.
var spotRequestFields = filter.Fields[tagged[spotRequestRecord]]{
	"spot-instance-request-id":      field(func(r spotRequestRecord) *string { return r.SpotInstanceRequestId }),
	"state":                         field(func(r spotRequestRecord) *string { return r.State }),
	"type":                          field(func(r spotRequestRecord) *string { return r.Type }),
	"instance-id":                   field(func(r spotRequestRecord) *string { return r.InstanceId }),
	"spot-price":                    field(func(r spotRequestRecord) *string { return r.SpotPrice }),
	"product-description":           field(func(r spotRequestRecord) *string { return r.ProductDescription }),
	"launched-availability-zone":    field(func(r spotRequestRecord) *string { return r.LaunchedAvailabilityZone }),
	"launched-availability-zone-id": field(func(r spotRequestRecord) *string { return r.LaunchedAvailabilityZoneId }),
	"availability-zone-group":       field(func(r spotRequestRecord) *string { return r.AvailabilityZoneGroup }),
	"launch-group":                  field(func(r spotRequestRecord) *string { return r.LaunchGroup }),
	"instance-interruption-behavior": field(func(r spotRequestRecord) *string {
		return r.InstanceInterruptionBehavior
	}),
	"status-code":    func(t tagged[spotRequestRecord]) []string { return []string{str(t.item.Status.Code)} },
	"status-message": func(t tagged[spotRequestRecord]) []string { return []string{str(t.item.Status.Message)} },
	"create-time": func(t tagged[spotRequestRecord]) []string {
		return []string{t.item.CreateTime.UTC().Format(time.RFC3339)}
	},
	"valid-until": func(t tagged[spotRequestRecord]) []string {
		if t.item.ValidUntil == nil {
			return nil
		}
		return []string{t.item.ValidUntil.UTC().Format(time.RFC3339)}
	},
	"launch.image-id":      launchField(func(l *api.LaunchSpecification) *string { return l.ImageId }),
	"launch.instance-type": launchField(func(l *api.LaunchSpecification) *string { return l.InstanceType }),
	"launch.key-name":      launchField(func(l *api.LaunchSpecification) *string { return l.KeyName }),
	"launch.group-id": func(t tagged[spotRequestRecord]) []string {
		var out []string
		if l := t.item.LaunchSpecification; l != nil {
			for _, g := range l.SecurityGroups {
				out = append(out, str(g.GroupId))
			}
		}
		return out
	},
}

func launchField(get func(*api.LaunchSpecification) *string) func(tagged[spotRequestRecord]) []string {
	return func(t tagged[spotRequestRecord]) []string {
		if l := t.item.LaunchSpecification; l != nil && get(l) != nil {
			return []string{*get(l)}
		}
		return nil
	}
}

// DescribeSpotInstanceRequests lists Spot requests, with their filters and
// pagination; cancelled and closed requests stay listed.
func (s *Service) DescribeSpotInstanceRequests(ctx context.Context, in *api.DescribeSpotInstanceRequestsInput) (*api.DescribeSpotInstanceRequestsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	for _, id := range in.SpotInstanceRequestIds {
		if !strings.HasPrefix(id, "sir-") {
			return nil, malformed("InvalidSpotInstanceRequestID.Malformed", id, "sir")
		}
	}
	found, next, err := describe(s, sc, spotRequestKind, func(r spotRequestRecord) string { return r.id() },
		in.SpotInstanceRequestIds, in.Filters, spotRequestFields, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeSpotInstanceRequestsOutput{SpotInstanceRequests: []api.SpotInstanceRequest{}, NextToken: next}
	for _, t := range found {
		r := t.item.SpotInstanceRequest
		r.Tags = t.tags
		out.SpotInstanceRequests = append(out.SpotInstanceRequests, r)
	}
	return out, nil
}

// CancelSpotInstanceRequests cancels Spot requests. As in AWS, the
// instances of fulfilled requests keep running; an open request is
// cancelled before fulfilment.
func (s *Service) CancelSpotInstanceRequests(ctx context.Context, in *api.CancelSpotInstanceRequestsInput) (*api.CancelSpotInstanceRequestsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	now := s.now()
	out := &api.CancelSpotInstanceRequestsOutput{CancelledSpotInstanceRequests: []api.CancelledSpotInstanceRequest{}}
	err := s.st.Update(func(tx store.Tx) error {
		var missing []string
		recs := make([]spotRequestRecord, 0, len(in.SpotInstanceRequestIds))
		for _, id := range in.SpotInstanceRequestIds {
			if !strings.HasPrefix(id, "sir-") {
				return malformed("InvalidSpotInstanceRequestID.Malformed", id, "sir")
			}
			r, err := loadSpotRequest(tx, sc, id)
			if isAWSError(err) {
				missing = append(missing, id)
				continue
			}
			if err != nil {
				return err
			}
			recs = append(recs, r)
		}
		if len(missing) > 0 {
			return notFound("InvalidSpotInstanceRequestID.NotFound", "spot instance request", missing...)
		}
		for _, r := range recs {
			switch str(r.State) {
			case "open":
				r.setStatus("cancelled", "canceled-before-fulfillment", "", now)
			case "active", "disabled":
				r.setStatus("cancelled", "request-canceled-and-instance-running", "", now)
			}
			if err := tx.Put(spotRequestKind.bucket, sc.key(r.id()), r); err != nil {
				return err
			}
			out.CancelledSpotInstanceRequests = append(out.CancelledSpotInstanceRequests,
				api.CancelledSpotInstanceRequest{SpotInstanceRequestId: r.SpotInstanceRequestId, State: r.State})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// spotProducts are the product descriptions of Spot prices, with what
// each costs over Linux, as a factor: the licence of the operating system.
var spotProducts = []struct {
	name   string
	factor float64
}{
	{"Linux/UNIX", 1}, {"Linux/UNIX (Amazon VPC)", 1},
	{"SUSE Linux", 1.25}, {"SUSE Linux (Amazon VPC)", 1.25},
	{"Red Hat Enterprise Linux", 1.4}, {"Red Hat Enterprise Linux (Amazon VPC)", 1.4},
	{"Windows", 1.8}, {"Windows (Amazon VPC)", 1.8},
}

// spotHistoryDays is how far back DescribeSpotPriceHistory goes: "You can
// view the Spot price history over a period from one to 90 days".
const spotHistoryDays = 90

// spotPriceFields are DescribeSpotPriceHistory's filters.
var spotPriceFields = filter.Fields[api.SpotPrice]{
	"availability-zone":   func(p api.SpotPrice) []string { return []string{str(p.AvailabilityZone)} },
	"instance-type":       func(p api.SpotPrice) []string { return []string{str(p.InstanceType)} },
	"product-description": func(p api.SpotPrice) []string { return []string{str(p.ProductDescription)} },
	"spot-price":          func(p api.SpotPrice) []string { return []string{str(p.SpotPrice)} },
	"timestamp":           func(p api.SpotPrice) []string { return []string{p.Timestamp.UTC().Format(time.RFC3339)} },
}

// DescribeSpotPriceHistory returns the synthetic Spot prices of
// catalog.SpotPrice: one price per instance type, Availability Zone and
// product description per hour, newest first. Between StartTime and
// EndTime it returns each hourly price, and the price in effect at
// StartTime; without them, the price in effect now.
func (s *Service) DescribeSpotPriceHistory(ctx context.Context, in *api.DescribeSpotPriceHistoryInput) (*api.DescribeSpotPriceHistoryOutput, error) {
	sc := scopeOf(ctx)
	now := s.now()
	end := now
	if in.EndTime != nil && in.EndTime.Before(now) {
		end = in.EndTime.UTC()
	}
	start := end
	if in.StartTime != nil {
		start = in.StartTime.UTC()
	}
	if start.After(end) {
		return nil, invalidParameterValue("The start time %s is after the end time %s.", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	if oldest := now.Add(-spotHistoryDays * 24 * time.Hour); start.Before(oldest) {
		start = oldest
	}
	// Filters on the narrowing members are applied before the walk, so a
	// narrow request does not build every price of the region.
	types := in.InstanceTypes
	products := in.ProductDescriptions
	var zones []api.AvailabilityZone
	for _, z := range catalog.AvailabilityZones(sc.region) {
		if in.AvailabilityZone != nil && str(z.ZoneName) != str(in.AvailabilityZone) {
			continue
		}
		if in.AvailabilityZoneId != nil && str(z.ZoneId) != str(in.AvailabilityZoneId) {
			continue
		}
		zones = append(zones, z)
	}
	for _, f := range in.Filters {
		switch str(f.Name) {
		case "instance-type":
			if len(types) == 0 {
				types = f.Values
			}
		case "product-description":
			if len(products) == 0 {
				products = f.Values
			}
		}
	}
	if len(types) == 0 {
		types = catalog.InstanceTypes()
	}
	var prices []api.SpotPrice
	for hour := end.Truncate(time.Hour); !hour.Before(start.Truncate(time.Hour)); hour = hour.Add(-time.Hour) {
		for _, typ := range types {
			for _, z := range zones {
				if !catalog.IsOffered(typ, str(z.ZoneName)) {
					continue
				}
				linux := catalog.SpotPrice(typ, str(z.ZoneName), hour)
				for _, p := range spotProducts {
					if len(products) > 0 && !slices.Contains(products, p.name) {
						continue
					}
					prices = append(prices, api.SpotPrice{
						AvailabilityZone: z.ZoneName, AvailabilityZoneId: z.ZoneId, InstanceType: ptr(typ),
						ProductDescription: ptr(p.name), SpotPrice: ptr(formatPrice(linux * p.factor)), Timestamp: ptr(hour),
					})
				}
			}
		}
	}
	matched, err := filter.Apply(prices, toFilters(in.Filters), spotPriceFields, nil)
	if err != nil {
		return nil, err
	}
	// The page token is the position in this walk, which is the same for
	// the same request while the hour lasts.
	limit := 1000
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, invalidParameterValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value between 1 and 1000.", *in.MaxResults)
		}
		limit = int(*in.MaxResults)
	}
	from := 0
	if t := str(in.NextToken); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "sph-"))
		if err != nil || !strings.HasPrefix(t, "sph-") || n < 0 || n > len(matched) {
			return nil, awserr.BadRequest("InvalidNextToken", "The token '%s' is invalid", t)
		}
		from = n
	}
	to := min(from+limit, len(matched))
	out := &api.DescribeSpotPriceHistoryOutput{SpotPriceHistory: matched[from:to]}
	if out.SpotPriceHistory == nil {
		out.SpotPriceHistory = []api.SpotPrice{}
	}
	if to < len(matched) {
		out.NextToken = ptr("sph-" + strconv.Itoa(to))
	} else {
		out.NextToken = ptr("")
	}
	return out, nil
}
