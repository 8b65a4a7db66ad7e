package lambda

import (
	"net/http"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
)

func TestEventSourceMappingStates(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "f")
	m, err := fx.s.CreateEventSourceMapping(fx.ctx, &api.CreateEventSourceMappingInput{
		FunctionName: ptr("f"), EventSourceArn: ptr("arn:aws:sqs:us-east-1:123456789012:q"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if str(m.State) != "Creating" || *m.BatchSize != 10 || str(m.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:f" {
		t.Errorf("created: %s %d %s", str(m.State), *m.BatchSize, str(m.FunctionArn))
	}
	_, err = fx.s.UpdateEventSourceMapping(fx.ctx, &api.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: ptr(false)})
	wantCode(t, err, "ResourceConflictException", http.StatusConflict)
	fx.clk.Advance(DefaultStateDelay)
	g, _ := fx.s.GetEventSourceMapping(fx.ctx, &api.GetEventSourceMappingInput{UUID: m.UUID})
	if str(g.State) != "Enabled" {
		t.Errorf("after delay: %s", str(g.State))
	}
	u, err := fx.s.UpdateEventSourceMapping(fx.ctx, &api.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: ptr(false)})
	if err != nil || str(u.State) != "Updating" {
		t.Fatalf("update: %v %v", u, err)
	}
	fx.clk.Advance(DefaultStateDelay)
	list, _ := fx.s.ListEventSourceMappings(fx.ctx, &api.ListEventSourceMappingsInput{FunctionName: ptr("f")})
	if len(list.EventSourceMappings) != 1 || str(list.EventSourceMappings[0].State) != "Disabled" {
		t.Errorf("list: %+v", list.EventSourceMappings)
	}
	d, err := fx.s.DeleteEventSourceMapping(fx.ctx, &api.DeleteEventSourceMappingInput{UUID: m.UUID})
	if err != nil || str(d.State) != "Deleting" {
		t.Fatalf("delete: %v %v", d, err)
	}
	_, err = fx.s.GetEventSourceMapping(fx.ctx, &api.GetEventSourceMappingInput{UUID: m.UUID})
	wantCode(t, err, "ResourceNotFoundException", http.StatusNotFound)
}
