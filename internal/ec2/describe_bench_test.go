package ec2

import (
	"context"
	"fmt"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// BenchmarkDescribeInstances1000 measures the handler over 1,000 stored
// instances (records only: no processes are started).
func BenchmarkDescribeInstances1000(b *testing.B) {
	st := store.NewMemory()
	defer st.Close()
	svc, err := New(st, clock.NewFake(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)), Options{InstanceDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	ctx := service.WithRequest(context.Background(), service.Request{AccountID: "123456789012", Region: "us-east-1"})
	sc := scopeOf(ctx)
	if err := svc.seed(sc); err != nil {
		b.Fatal(err)
	}
	err = st.Update(func(tx store.Tx) error {
		for i := range 1000 {
			r := instanceRecord{Instance: api.Instance{InstanceId: ptr(fmt.Sprintf("i-%017x", i)), InstanceType: ptr("t3.micro"),
				Placement: &api.Placement{AvailabilityZone: ptr("us-east-1a")}, Monitoring: &api.Monitoring{State: ptr("disabled")},
				MetadataOptions: &api.InstanceMetadataOptionsResponse{}, PrivateIpAddress: ptr("127.31.0.4")}, ReservationID: fmt.Sprintf("r-%d", i)}
			r.setState("running")
			if err := tx.Put(instanceKind.bucket, sc.key(r.id()), r); err != nil {
				return err
			}
			if err := writeTags(tx, sc, r.id(), []api.Tag{{Key: ptr("Name"), Value: ptr("web")}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		out, err := svc.DescribeInstances(ctx, &api.DescribeInstancesInput{})
		if err != nil || len(out.Reservations) != 1000 {
			b.Fatalf("%v, %d", err, len(out.Reservations))
		}
	}
}
