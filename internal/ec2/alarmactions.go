package ec2

import (
	"context"
	"fmt"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/service"
)

// AlarmAction carries out a CloudWatch alarm's EC2 action on an instance,
// as the arn:aws:automate:REGION:ec2:ACTION actions do: stop, terminate,
// reboot, or recover. Recovery moves an instance to healthy hardware with
// its ID, addresses and volumes; here, where the hardware is this machine,
// it restarts the instance's processes as a reboot does.
func (s *Service) AlarmAction(ctx context.Context, account, region, instanceID, action string) error {
	ctx = service.WithRequest(ctx, service.Request{AccountID: account, Region: region})
	ids := []string{instanceID}
	var err error
	switch action {
	case "stop":
		_, err = s.StopInstances(ctx, &api.StopInstancesInput{InstanceIds: ids})
	case "terminate":
		_, err = s.TerminateInstances(ctx, &api.TerminateInstancesInput{InstanceIds: ids})
	case "reboot", "recover":
		_, err = s.RebootInstances(ctx, &api.RebootInstancesInput{InstanceIds: ids})
	default:
		return fmt.Errorf("unknown EC2 alarm action %q", action)
	}
	return err
}
