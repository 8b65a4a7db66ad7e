package ec2

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// spotFixture is an EC2 service on a fake clock, for the tests of Spot
// requests, fleets and interruptions. Instances really start (with no
// user-data); every test terminates what it launched.
type spotFixture struct {
	*netFixture
	clk   *clock.Fake
	image string
}

func newSpotFixture(t *testing.T, opts Options) *spotFixture {
	t.Helper()
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(time.Date(2024, time.March, 1, 12, 0, 0, 0, time.UTC))
	ctx := service.WithRequest(context.Background(), service.Request{AccountID: netAccount, Region: "us-east-1", AccessKeyID: "AKIDEXAMPLE"})
	opts.InstanceDir = t.TempDir()
	if opts.StopGrace == 0 {
		opts.StopGrace = time.Second
	}
	svc, err := New(st, clk, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	image := ""
	for _, img := range catalog.Images("us-east-1") {
		if str(img.Architecture) == "x86_64" {
			image = str(img.ImageId)
			break
		}
	}
	f := &spotFixture{netFixture: &netFixture{t: t, svc: svc, st: st, ctx: ctx, sc: scope{account: netAccount, region: "us-east-1"}}, clk: clk, image: image}
	f.must(svc.seed(f.sc))
	return f
}

// eventually polls check every 10 ms for at most 10 s of real time: the
// controller's workers run on their own goroutines even under the fake
// clock.
func (f *spotFixture) eventually(what string, check func() error) {
	f.t.Helper()
	var err error
	for range 1000 {
		if err = check(); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.t.Fatalf("%s: %v", what, err)
}

func (f *spotFixture) instance(id string) instanceRecord {
	f.t.Helper()
	var r instanceRecord
	f.must(f.st.View(func(tx store.Tx) error {
		var err error
		r, err = loadInstance(tx, f.sc, id)
		return err
	}))
	return r
}

// waitState waits until an instance is in state.
func (f *spotFixture) waitState(id, state string) instanceRecord {
	f.t.Helper()
	var r instanceRecord
	f.eventually(id+" "+state, func() error {
		r = f.instance(id)
		if r.state() != state {
			return fmt.Errorf("state %s", r.state())
		}
		return nil
	})
	return r
}

func (f *spotFixture) spotRequest(id string) api.SpotInstanceRequest {
	f.t.Helper()
	out, err := f.svc.DescribeSpotInstanceRequests(f.ctx, &api.DescribeSpotInstanceRequestsInput{SpotInstanceRequestIds: []string{id}})
	f.must(err)
	return out.SpotInstanceRequests[0]
}

// waitRequest waits until a Spot request has a status code.
func (f *spotFixture) waitRequest(id, code string) api.SpotInstanceRequest {
	f.t.Helper()
	var r api.SpotInstanceRequest
	f.eventually(id+" "+code, func() error {
		r = f.spotRequest(id)
		if got := str(r.Status.Code); got != code {
			return fmt.Errorf("status %s (%s): %s", got, str(r.State), str(r.Status.Message))
		}
		return nil
	})
	return r
}

// terminate terminates instances and waits for them to end.
func (f *spotFixture) terminate(ids ...string) {
	f.t.Helper()
	if len(ids) == 0 {
		return
	}
	_, err := f.svc.TerminateInstances(f.ctx, &api.TerminateInstancesInput{InstanceIds: ids})
	f.must(err)
	for _, id := range ids {
		f.eventually(id+" terminated", func() error {
			f.clk.Advance(time.Second) // past the stop grace
			if r := f.instance(id); r.state() != "terminated" {
				st := r.state()
				return fmt.Errorf("state %s", st)
			}
			return nil
		})
	}
}

func (f *spotFixture) runSpot(opts *api.SpotMarketOptions) string {
	f.t.Helper()
	out, err := f.svc.RunInstances(f.ctx, &api.RunInstancesInput{ImageId: ptr(f.image), InstanceType: ptr("t3.micro"),
		MinCount: ptr(int32(1)), MaxCount: ptr(int32(1)),
		InstanceMarketOptions: &api.InstanceMarketOptionsRequest{MarketType: ptr("spot"), SpotOptions: opts}})
	f.must(err)
	return str(out.Instances[0].InstanceId)
}

func TestRequestSpotInstances(t *testing.T) {
	t.Run("one-time request is fulfilled and cancelling keeps the instance", func(t *testing.T) {
		f := newSpotFixture(t, Options{})
		out, err := f.svc.RequestSpotInstances(f.ctx, &api.RequestSpotInstancesInput{
			InstanceCount:       ptr(int32(2)),
			LaunchSpecification: &api.RequestSpotLaunchSpecification{ImageId: ptr(f.image), InstanceType: ptr("t3.micro")},
			TagSpecifications:   []api.TagSpecification{{ResourceType: ptr("spot-instances-request"), Tags: []api.Tag{{Key: ptr("team"), Value: ptr("a")}}}},
		})
		f.must(err)
		if len(out.SpotInstanceRequests) != 2 {
			t.Fatalf("got %d requests, want 2", len(out.SpotInstanceRequests))
		}
		first := out.SpotInstanceRequests[0]
		if str(first.State) != "open" || str(first.Status.Code) != "pending-evaluation" || str(first.Type) != "one-time" {
			t.Errorf("new request = %s/%s/%s, want open/pending-evaluation/one-time", str(first.State), str(first.Status.Code), str(first.Type))
		}
		if got := str(first.Status.Message); got != "Your Spot request has been submitted for review, and is pending evaluation." {
			t.Errorf("message = %q", got)
		}
		var instances []string
		for _, r := range out.SpotInstanceRequests {
			got := f.waitRequest(str(r.SpotInstanceRequestId), "fulfilled")
			if str(got.State) != "active" || str(got.InstanceId) == "" || str(got.LaunchedAvailabilityZone) == "" {
				t.Errorf("fulfilled request = %+v", got)
			}
			inst := f.waitState(str(got.InstanceId), "running")
			if str(inst.InstanceLifecycle) != "spot" || str(inst.SpotInstanceRequestId) != str(r.SpotInstanceRequestId) {
				t.Errorf("instance lifecycle %q, request %q", str(inst.InstanceLifecycle), str(inst.SpotInstanceRequestId))
			}
			instances = append(instances, str(got.InstanceId))
		}
		defer f.terminate(instances...)

		active, err := f.svc.DescribeSpotInstanceRequests(f.ctx, &api.DescribeSpotInstanceRequestsInput{Filters: []api.Filter{
			{Name: ptr("state"), Values: []string{"active"}}, {Name: ptr("tag:team"), Values: []string{"a"}},
		}})
		f.must(err)
		if len(active.SpotInstanceRequests) != 2 {
			t.Errorf("active requests tagged team=a: %d, want 2", len(active.SpotInstanceRequests))
		}
		page, err := f.svc.DescribeSpotInstanceRequests(f.ctx, &api.DescribeSpotInstanceRequestsInput{MaxResults: ptr(int32(5))})
		f.must(err)
		if len(page.SpotInstanceRequests) != 2 || page.NextToken != nil {
			t.Errorf("page of 5: %d requests, next %v", len(page.SpotInstanceRequests), page.NextToken)
		}

		cancelled, err := f.svc.CancelSpotInstanceRequests(f.ctx, &api.CancelSpotInstanceRequestsInput{SpotInstanceRequestIds: []string{str(first.SpotInstanceRequestId)}})
		f.must(err)
		if str(cancelled.CancelledSpotInstanceRequests[0].State) != "cancelled" {
			t.Errorf("cancel state = %s", str(cancelled.CancelledSpotInstanceRequests[0].State))
		}
		if got := f.spotRequest(str(first.SpotInstanceRequestId)); str(got.Status.Code) != "request-canceled-and-instance-running" {
			t.Errorf("cancelled status = %s", str(got.Status.Code))
		}
		if r := f.instance(instances[0]); r.state() != "running" {
			t.Errorf("instance of a cancelled request is %s, want running", r.state())
		}
		_, err = f.svc.CancelSpotInstanceRequests(f.ctx, &api.CancelSpotInstanceRequestsInput{SpotInstanceRequestIds: []string{"sir-00000000"}})
		f.wantCode(err, "InvalidSpotInstanceRequestID.NotFound")
	})

	t.Run("max price under the spot price stays open with price-too-low", func(t *testing.T) {
		f := newSpotFixture(t, Options{})
		out, err := f.svc.RequestSpotInstances(f.ctx, &api.RequestSpotInstancesInput{
			SpotPrice:           ptr("0.0001"),
			LaunchSpecification: &api.RequestSpotLaunchSpecification{ImageId: ptr(f.image), InstanceType: ptr("t3.micro")},
		})
		f.must(err)
		r := f.waitRequest(str(out.SpotInstanceRequests[0].SpotInstanceRequestId), "price-too-low")
		want := "Your Spot request price of 0.0001 is lower than the minimum required Spot request fulfillment price of "
		if str(r.State) != "open" || !strings.HasPrefix(str(r.Status.Message), want) {
			t.Errorf("request = %s: %s", str(r.State), str(r.Status.Message))
		}
	})

	t.Run("stop behaviour needs a persistent request", func(t *testing.T) {
		f := newSpotFixture(t, Options{})
		_, err := f.svc.RequestSpotInstances(f.ctx, &api.RequestSpotInstancesInput{
			InstanceInterruptionBehavior: ptr("stop"),
			LaunchSpecification:          &api.RequestSpotLaunchSpecification{ImageId: ptr(f.image), InstanceType: ptr("t3.micro")},
		})
		f.wantCode(err, "InvalidParameterCombination")
	})
}

func TestRunInstancesSpotMakesARequest(t *testing.T) {
	f := newSpotFixture(t, Options{})
	id := f.runSpot(nil)
	defer f.terminate(id)
	inst := f.instance(id)
	sir := str(inst.SpotInstanceRequestId)
	if !strings.HasPrefix(sir, "sir-") {
		t.Fatalf("SpotInstanceRequestId = %q", sir)
	}
	r := f.spotRequest(sir)
	if str(r.State) != "active" || str(r.Status.Code) != "fulfilled" || str(r.InstanceId) != id || str(r.Type) != "one-time" {
		t.Errorf("request = %s/%s instance %s type %s", str(r.State), str(r.Status.Code), str(r.InstanceId), str(r.Type))
	}
	_, err := f.svc.RunInstances(f.ctx, &api.RunInstancesInput{ImageId: ptr(f.image), InstanceType: ptr("t3.micro"),
		MinCount: ptr(int32(1)), MaxCount: ptr(int32(1)),
		InstanceMarketOptions: &api.InstanceMarketOptionsRequest{MarketType: ptr("spot"), SpotOptions: &api.SpotMarketOptions{MaxPrice: ptr("0.00001")}}})
	f.wantCode(err, "SpotMaxPriceTooLow")
	_, err = f.svc.StopInstances(f.ctx, &api.StopInstancesInput{InstanceIds: []string{id}})
	f.wantCode(err, "UnsupportedOperation")
}

// postInterruption calls the admin endpoint and decodes its answer.
func postInterruption(t *testing.T, svc *Service, body string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	svc.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/spot-interruption", strings.NewReader(body)))
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	return rec.Code, out
}

func TestSpotInterruption(t *testing.T) {
	t.Run("notice two minutes ahead then termination", func(t *testing.T) {
		f := newSpotFixture(t, Options{})
		id := f.runSpot(nil)
		f.waitState(id, "running")
		start := f.clk.Now()
		code, out := postInterruption(t, f.svc, `{"instanceIds": ["`+id+`"]}`)
		if code != http.StatusOK {
			t.Fatalf("admin answered %d: %v", code, out)
		}
		sched := out["scheduled"].([]any)[0].(map[string]any)
		if sched["action"] != "terminate" || sched["instanceId"] != id {
			t.Errorf("scheduled = %v", sched)
		}
		inst, ok := f.svc.Instance(id)
		if !ok || inst.SpotInstanceAction == nil {
			t.Fatalf("no instance-action in IMDS: %+v", inst.SpotInstanceAction)
		}
		if inst.SpotInstanceAction.Action != "terminate" || !inst.SpotInstanceAction.Time.Equal(start.Add(2*time.Minute)) {
			t.Errorf("instance-action = %+v, want terminate at %s", *inst.SpotInstanceAction, start.Add(2*time.Minute))
		}
		if !inst.RebalanceRecommendation.Equal(start) {
			t.Errorf("rebalance noticeTime = %s, want %s", inst.RebalanceRecommendation, start)
		}
		sir := str(f.instance(id).SpotInstanceRequestId)
		f.waitRequest(sir, "marked-for-termination")

		f.clk.Advance(time.Minute + 59*time.Second)
		if r := f.instance(id); r.state() != "running" {
			t.Fatalf("instance %s a second before its interruption", r.state())
		}
		f.clk.Advance(time.Second)
		r := f.eventuallyLeft(id)
		if str(r.StateReason.Code) != "Server.SpotInstanceTermination" || str(r.StateReason.Message) != "Server.SpotInstanceTermination: Spot instance termination" {
			t.Errorf("StateReason = %s: %s", str(r.StateReason.Code), str(r.StateReason.Message))
		}
		req := f.waitRequest(sir, "instance-terminated-no-capacity")
		if str(req.State) != "closed" {
			t.Errorf("request state = %s, want closed", str(req.State))
		}
		f.eventually("terminated", func() error {
			f.clk.Advance(time.Second)
			if r := f.instance(id); r.state() != "terminated" {
				st := r.state()
				return fmt.Errorf("state %s", st)
			}
			return nil
		})
	})

	t.Run("persistent stop request is disabled with instance-stopped-by-price", func(t *testing.T) {
		f := newSpotFixture(t, Options{})
		id := f.runSpot(&api.SpotMarketOptions{SpotInstanceType: ptr("persistent"), InstanceInterruptionBehavior: ptr("stop")})
		defer f.terminate(id)
		f.waitState(id, "running")
		code, out := postInterruption(t, f.svc, `{"instanceIds": ["`+id+`"], "reason": "price"}`)
		if code != http.StatusOK {
			t.Fatalf("admin answered %d: %v", code, out)
		}
		inst, _ := f.svc.Instance(id)
		if inst.SpotInstanceAction == nil || inst.SpotInstanceAction.Action != "stop" {
			t.Fatalf("instance-action = %+v, want stop", inst.SpotInstanceAction)
		}
		f.clk.Advance(2 * time.Minute)
		f.eventually("stopped", func() error {
			f.clk.Advance(time.Second)
			if r := f.instance(id); r.state() != "stopped" {
				st := r.state()
				return fmt.Errorf("state %s", st)
			}
			return nil
		})
		if r := f.instance(id); str(r.StateReason.Code) != "Server.SpotInstanceShutdown" {
			t.Errorf("StateReason = %s", str(r.StateReason.Code))
		}
		req := f.waitRequest(str(f.instance(id).SpotInstanceRequestId), "instance-stopped-by-price")
		if str(req.State) != "disabled" {
			t.Errorf("request state = %s, want disabled", str(req.State))
		}
	})

	t.Run("bad input is refused", func(t *testing.T) {
		f := newSpotFixture(t, Options{})
		out, err := f.svc.RunInstances(f.ctx, &api.RunInstancesInput{ImageId: ptr(f.image), InstanceType: ptr("t3.micro"), MinCount: ptr(int32(1)), MaxCount: ptr(int32(1))})
		f.must(err)
		onDemand := str(out.Instances[0].InstanceId)
		defer f.terminate(onDemand)
		for name, body := range map[string]string{
			"not JSON":         `{`,
			"no instances":     `{"instanceIds": []}`,
			"unknown instance": `{"instanceIds": ["i-0123456789abcdef0"]}`,
			"on-demand":        `{"instanceIds": ["` + onDemand + `"]}`,
			"bad action":       `{"instanceIds": ["` + onDemand + `"], "action": "explode"}`,
			"unknown field":    `{"instanceIds": ["` + onDemand + `"], "when": 3}`,
		} {
			if code, out := postInterruption(t, f.svc, body); code != http.StatusBadRequest || out["status"] != "error" {
				t.Errorf("%s: %d %v, want 400", name, code, out)
			}
		}
	})

	t.Run("random interruptions at the configured rate", func(t *testing.T) {
		f := newSpotFixture(t, Options{SpotInterruptionRate: 1e6}) // every minute, surely
		f.must(f.svc.Start())
		id := f.runSpot(nil)
		f.waitState(id, "running")
		f.eventually("interrupted", func() error {
			f.clk.Advance(time.Minute)
			if r := f.instance(id); r.Interruption == nil && r.state() == "running" {
				return fmt.Errorf("not interrupted")
			}
			return nil
		})
		f.eventually("terminated", func() error {
			f.clk.Advance(time.Minute)
			if r := f.instance(id); r.state() != "terminated" {
				st := r.state()
				return fmt.Errorf("state %s", st)
			}
			return nil
		})
	})
}

// eventuallyLeft waits until an instance is no longer running.
func (f *spotFixture) eventuallyLeft(id string) instanceRecord {
	f.t.Helper()
	var r instanceRecord
	f.eventually(id+" interrupted", func() error {
		r = f.instance(id)
		if st := r.state(); st == "running" || st == "pending" {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
	return r
}

func TestDescribeSpotPriceHistory(t *testing.T) {
	f := newSpotFixture(t, Options{})
	now := f.clk.Now()
	in := &api.DescribeSpotPriceHistoryInput{
		InstanceTypes: []string{"t3.micro"}, ProductDescriptions: []string{"Linux/UNIX"},
		AvailabilityZone: ptr("us-east-1a"), StartTime: ptr(now.Add(-3 * time.Hour)), EndTime: ptr(now),
	}
	out, err := f.svc.DescribeSpotPriceHistory(f.ctx, in)
	f.must(err)
	if len(out.SpotPriceHistory) != 4 {
		t.Fatalf("%d prices over 3 hours, want 4 (one an hour and the one in effect at the start)", len(out.SpotPriceHistory))
	}
	onDemand, _ := catalog.OnDemandPrice("t3.micro")
	for i, p := range out.SpotPriceHistory {
		if want := now.Truncate(time.Hour).Add(-time.Duration(i) * time.Hour); !p.Timestamp.Equal(want) {
			t.Errorf("price %d at %s, want %s (newest first)", i, p.Timestamp, want)
		}
		if want := formatPrice(catalog.SpotPrice("t3.micro", "us-east-1a", *p.Timestamp)); str(p.SpotPrice) != want {
			t.Errorf("price %d = %s, want %s", i, str(p.SpotPrice), want)
		}
		if v, _ := parsePrice("", str(p.SpotPrice)); v >= onDemand {
			t.Errorf("spot price %v not under on-demand %v", v, onDemand)
		}
	}
	in.MaxResults = ptr(int32(3))
	first, err := f.svc.DescribeSpotPriceHistory(f.ctx, in)
	f.must(err)
	in.NextToken = first.NextToken
	second, err := f.svc.DescribeSpotPriceHistory(f.ctx, in)
	f.must(err)
	if len(first.SpotPriceHistory) != 3 || len(second.SpotPriceHistory) != 1 || str(second.NextToken) != "" {
		t.Errorf("pages of 3: %d then %d (next %q)", len(first.SpotPriceHistory), len(second.SpotPriceHistory), str(second.NextToken))
	}
	now1, err := f.svc.DescribeSpotPriceHistory(f.ctx, &api.DescribeSpotPriceHistoryInput{
		Filters: []api.Filter{{Name: ptr("instance-type"), Values: []string{"m5.large"}}, {Name: ptr("availability-zone"), Values: []string{"us-east-1b"}}},
	})
	f.must(err)
	if len(now1.SpotPriceHistory) != len(spotProducts) {
		t.Errorf("current prices of m5.large in one zone: %d, want one per product (%d)", len(now1.SpotPriceHistory), len(spotProducts))
	}
}

func TestSpotFleetMaintainReplacesInterrupted(t *testing.T) {
	f := newSpotFixture(t, Options{})
	out, err := f.svc.RequestSpotFleet(f.ctx, &api.RequestSpotFleetInput{SpotFleetRequestConfig: &api.SpotFleetRequestConfigData{
		IamFleetRole:   ptr("arn:aws:iam::123456789012:role/fleet"),
		TargetCapacity: ptr(int32(2)),
		LaunchSpecifications: []api.SpotFleetLaunchSpecification{
			{ImageId: ptr(f.image), InstanceType: ptr("t3.micro")},
			{ImageId: ptr(f.image), InstanceType: ptr("t3.small")},
		},
		AllocationStrategy: ptr("diversified"),
	}})
	f.must(err)
	id := str(out.SpotFleetRequestId)
	active := func(want int) []api.ActiveInstance {
		var got []api.ActiveInstance
		f.eventually(fmt.Sprintf("%d active instances", want), func() error {
			out, err := f.svc.DescribeSpotFleetInstances(f.ctx, &api.DescribeSpotFleetInstancesInput{SpotFleetRequestId: ptr(id)})
			if err != nil {
				return err
			}
			got = out.ActiveInstances
			if len(got) != want {
				return fmt.Errorf("%d active", len(got))
			}
			return nil
		})
		return got
	}
	first := active(2)
	if str(first[0].InstanceType) == str(first[1].InstanceType) {
		t.Errorf("diversified fleet launched two %s", str(first[0].InstanceType))
	}
	var ids []string
	defer func() { f.terminate(ids...) }()
	for _, a := range first {
		ids = append(ids, str(a.InstanceId))
		f.waitState(str(a.InstanceId), "running")
		if tags := f.tagsOf(str(a.InstanceId)); tags["aws:ec2spot:fleet-request-id"] != id {
			t.Errorf("instance tags = %v", tags)
		}
	}
	victim := ids[0]
	if code, out := postInterruption(t, f.svc, `{"instanceIds": ["`+victim+`"]}`); code != http.StatusOK {
		t.Fatalf("admin answered %d: %v", code, out)
	}
	f.clk.Advance(2 * time.Minute)
	f.eventuallyLeft(victim)
	var now []api.ActiveInstance
	f.eventually("replacement", func() error {
		now = active(2)
		for _, a := range now {
			if str(a.InstanceId) == victim {
				return fmt.Errorf("victim still active")
			}
		}
		return nil
	})
	for _, a := range now {
		if str(a.InstanceId) != ids[1] {
			ids = append(ids, str(a.InstanceId))
		}
	}
	hist, err := f.svc.DescribeSpotFleetRequestHistory(f.ctx, &api.DescribeSpotFleetRequestHistoryInput{SpotFleetRequestId: ptr(id), StartTime: ptr(time.Time{})})
	f.must(err)
	launched, terminated := 0, 0
	for _, h := range hist.HistoryRecords {
		if str(h.EventType) == "instanceChange" {
			switch str(h.EventInformation.EventSubType) {
			case "launched":
				launched++
			case "terminated":
				terminated++
			}
		}
	}
	if launched != 3 || terminated != 1 {
		t.Errorf("history: %d launched, %d terminated; want 3 and 1", launched, terminated)
	}
	desc, err := f.svc.DescribeSpotFleetRequests(f.ctx, &api.DescribeSpotFleetRequestsInput{SpotFleetRequestIds: []string{id}})
	f.must(err)
	c := desc.SpotFleetRequestConfigs[0]
	if str(c.SpotFleetRequestState) != "active" || deref64(c.SpotFleetRequestConfig.FulfilledCapacity) != 2 {
		t.Errorf("fleet %s fulfilled %v", str(c.SpotFleetRequestState), deref64(c.SpotFleetRequestConfig.FulfilledCapacity))
	}

	// Lowering the target terminates the excess.
	_, err = f.svc.ModifySpotFleetRequest(f.ctx, &api.ModifySpotFleetRequestInput{SpotFleetRequestId: ptr(id), TargetCapacity: ptr(int32(1))})
	f.must(err)
	active(1)
	cancel, err := f.svc.CancelSpotFleetRequests(f.ctx, &api.CancelSpotFleetRequestsInput{SpotFleetRequestIds: []string{id, "sfr-00000000-0000-4000-8000-000000000000"}, TerminateInstances: ptr(true)})
	f.must(err)
	if len(cancel.SuccessfulFleetRequests) != 1 || str(cancel.SuccessfulFleetRequests[0].CurrentSpotFleetRequestState) != "cancelled_terminating" ||
		len(cancel.UnsuccessfulFleetRequests) != 1 || str(cancel.UnsuccessfulFleetRequests[0].Error.Code) != "fleetRequestIdDoesNotExist" {
		t.Errorf("cancel = %+v", cancel)
	}
	f.eventually("cancelled", func() error {
		f.clk.Advance(time.Second)
		desc, err := f.svc.DescribeSpotFleetRequests(f.ctx, &api.DescribeSpotFleetRequestsInput{SpotFleetRequestIds: []string{id}})
		if err != nil {
			return err
		}
		if st := str(desc.SpotFleetRequestConfigs[0].SpotFleetRequestState); st != "cancelled" {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
}

func deref64(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func (f *spotFixture) tagsOf(id string) map[string]string {
	f.t.Helper()
	var ts []api.Tag
	f.must(f.st.View(func(tx store.Tx) error {
		var err error
		ts, err = readTags(tx, f.sc, id)
		return err
	}))
	return tagMap(ts)
}

func TestRankPools(t *testing.T) {
	pools := []pricedPool{
		{index: 0, instanceType: "a", onDemand: 0.10, spot: 0.05, maxSpot: 0.10, capacity: 0.2},
		{index: 1, instanceType: "b", onDemand: 0.08, spot: 0.04, maxSpot: 0.10, capacity: 0.9},
		{index: 2, instanceType: "c", onDemand: 0.20, spot: 0.03, maxSpot: 0.02, capacity: 0.5}, // over its max price
		{index: 3, instanceType: "d", onDemand: 0.30, spot: 0.06, maxSpot: 0.10, capacity: 0.95},
	}
	pools[0].over.Priority, pools[3].over.Priority = ptr(1.0), ptr(2.0)
	names := func(ps []pricedPool) string {
		var b strings.Builder
		for _, p := range ps {
			b.WriteString(p.instanceType)
		}
		return b.String()
	}
	for _, tc := range []struct {
		lifecycle, strategy string
		want                string
		spread              int
	}{
		{"spot", "lowest-price", "bad", 1},
		{"spot", "diversified", "bad", 3},
		{"spot", "capacity-optimized", "dba", 1},
		{"spot", "capacity-optimized-prioritized", "adb", 1},
		{"spot", "price-capacity-optimized", "bda", 1},
		{"on-demand", "lowest-price", "bacd", 1},
		{"on-demand", "prioritized", "adbc", 1},
	} {
		t.Run(tc.lifecycle+"/"+tc.strategy, func(t *testing.T) {
			got, spread := rankPools(pools, tc.lifecycle, tc.strategy, 0)
			if names(got) != tc.want || spread != tc.spread {
				t.Errorf("order %s spread %d, want %s spread %d", names(got), spread, tc.want, tc.spread)
			}
		})
	}
}

// createTemplate makes a launch template through the served operation, or
// skips the test while launch templates are not served.
func (f *spotFixture) createTemplate(name string) {
	f.t.Helper()
	for _, op := range f.svc.Operations() {
		if op.Name == "CreateLaunchTemplate" {
			_, err := op.Call(f.ctx, &api.CreateLaunchTemplateInput{LaunchTemplateName: ptr(name),
				LaunchTemplateData: &api.RequestLaunchTemplateData{ImageId: ptr(f.image), InstanceType: ptr("t3.micro")}})
			f.must(err)
			return
		}
	}
	f.t.Skip("launch templates are not served yet")
}

func TestCreateFleet(t *testing.T) {
	t.Run("instant fleet returns its instances", func(t *testing.T) {
		f := newSpotFixture(t, Options{})
		f.createTemplate("web")
		out, err := f.svc.CreateFleet(f.ctx, &api.CreateFleetInput{
			Type: ptr("instant"),
			LaunchTemplateConfigs: []api.FleetLaunchTemplateConfigRequest{{
				LaunchTemplateSpecification: &api.FleetLaunchTemplateSpecificationRequest{LaunchTemplateName: ptr("web"), Version: ptr("$Latest")},
				Overrides:                   []api.FleetLaunchTemplateOverridesRequest{{InstanceType: ptr("t3.micro")}, {InstanceType: ptr("t3.small")}},
			}},
			TargetCapacitySpecification: &api.TargetCapacitySpecificationRequest{TotalTargetCapacity: ptr(int32(3)), OnDemandTargetCapacity: ptr(int32(1)), DefaultTargetCapacityType: ptr("spot")},
		})
		f.must(err)
		var ids []string
		lifecycles := map[string]int{}
		for _, g := range out.Instances {
			ids = append(ids, g.InstanceIds...)
			lifecycles[str(g.Lifecycle)] += len(g.InstanceIds)
		}
		defer f.terminate(ids...)
		if lifecycles["on-demand"] != 1 || lifecycles["spot"] != 2 || len(out.Errors) != 0 {
			t.Errorf("instances by lifecycle %v, errors %+v", lifecycles, out.Errors)
		}
		fl, err := f.svc.DescribeFleets(f.ctx, &api.DescribeFleetsInput{FleetIds: []string{str(out.FleetId)}})
		f.must(err)
		if d := fl.Fleets[0]; deref64(d.FulfilledCapacity) != 3 || str(d.ActivityStatus) != "fulfilled" {
			t.Errorf("fleet fulfilled %v, activity %s", deref64(d.FulfilledCapacity), str(d.ActivityStatus))
		}
	})

	t.Run("maintain fleet replaces a terminated instance", func(t *testing.T) {
		f := newSpotFixture(t, Options{})
		f.createTemplate("web")
		out, err := f.svc.CreateFleet(f.ctx, &api.CreateFleetInput{
			LaunchTemplateConfigs: []api.FleetLaunchTemplateConfigRequest{{
				LaunchTemplateSpecification: &api.FleetLaunchTemplateSpecificationRequest{LaunchTemplateName: ptr("web"), Version: ptr("$Latest")},
			}},
			TargetCapacitySpecification: &api.TargetCapacitySpecificationRequest{TotalTargetCapacity: ptr(int32(1)), DefaultTargetCapacityType: ptr("spot")},
		})
		f.must(err)
		id := str(out.FleetId)
		first := ""
		f.eventually("launched", func() error {
			in, err := f.svc.DescribeFleetInstances(f.ctx, &api.DescribeFleetInstancesInput{FleetId: ptr(id)})
			if err != nil || len(in.ActiveInstances) != 1 {
				return fmt.Errorf("%v %v", err, in)
			}
			first = str(in.ActiveInstances[0].InstanceId)
			return nil
		})
		f.waitState(first, "running")
		f.terminate(first)
		var second string
		f.eventually("replaced", func() error {
			in, err := f.svc.DescribeFleetInstances(f.ctx, &api.DescribeFleetInstancesInput{FleetId: ptr(id)})
			if err != nil || len(in.ActiveInstances) != 1 || str(in.ActiveInstances[0].InstanceId) == first {
				return fmt.Errorf("%v %v", err, in)
			}
			second = str(in.ActiveInstances[0].InstanceId)
			return nil
		})
		del, err := f.svc.DeleteFleets(f.ctx, &api.DeleteFleetsInput{FleetIds: []string{id}, TerminateInstances: ptr(true)})
		f.must(err)
		if len(del.SuccessfulFleetDeletions) != 1 || str(del.SuccessfulFleetDeletions[0].CurrentFleetState) != "deleted_terminating" {
			t.Errorf("DeleteFleets = %+v", del)
		}
		f.eventually("second terminated", func() error {
			f.clk.Advance(time.Second)
			if r := f.instance(second); r.state() != "terminated" {
				return fmt.Errorf("state %s", r.state())
			}
			return nil
		})
	})
}
