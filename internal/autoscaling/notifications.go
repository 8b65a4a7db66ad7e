package autoscaling

import (
	"context"
	"encoding/json"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/awsid"
)

// Lifecycle hook notifications: a hook with a NotificationTargetARN tells
// its target each time an instance enters its wait, with the message AWS
// sends (the hook, the instance, the action token to complete it with,
// where the instance comes from and goes to), and sends a
// autoscaling:TEST_NOTIFICATION when the hook is put. nephele delivers to
// Lambda functions (invoked asynchronously); it has no SNS or SQS, so such
// targets are refused as AWS refuses a target it cannot publish to.

// LifecycleNotifier delivers a lifecycle hook's notification to its
// target, a Lambda function ARN; the account and region are in ctx.
type LifecycleNotifier interface {
	NotifyLifecycle(ctx context.Context, targetARN string, message []byte) error
}

// lifecycleMessage is the notification AWS sends a hook's target.
type lifecycleMessage struct {
	Origin               string `json:"Origin,omitempty"`
	Destination          string `json:"Destination,omitempty"`
	Service              string `json:"Service"`
	Time                 string `json:"Time"`
	RequestID            string `json:"RequestId"`
	LifecycleActionToken string `json:"LifecycleActionToken,omitempty"`
	AccountID            string `json:"AccountId"`
	AutoScalingGroupName string `json:"AutoScalingGroupName"`
	AutoScalingGroupARN  string `json:"AutoScalingGroupARN,omitempty"`
	LifecycleHookName    string `json:"LifecycleHookName"`
	EC2InstanceID        string `json:"EC2InstanceId,omitempty"`
	LifecycleTransition  string `json:"LifecycleTransition,omitempty"`
	Event                string `json:"Event,omitempty"`
	NotificationMetadata string `json:"NotificationMetadata,omitempty"`
}

// checkNotificationTarget refuses a target nephele cannot deliver to.
func (s *Service) checkNotificationTarget(h api.LifecycleHook) error {
	target := str(h.NotificationTargetARN)
	if target == "" {
		return nil
	}
	a, err := arn.Parse(target)
	if err != nil {
		return validation("Invalid notification target ARN: %s", target)
	}
	if a.Service != "lambda" || s.opts.Notifier == nil {
		return validation("Unable to publish test message to notification target %s using IAM role %s. Please check your target and role configuration and try again.", target, str(h.RoleARN))
	}
	return nil
}

// notify sends a hook's target a message, if it has a target.
func (s *Service) notify(ctx context.Context, sc scope, h *api.LifecycleHook, msg lifecycleMessage) {
	target := str(h.NotificationTargetARN)
	if target == "" || s.opts.Notifier == nil {
		return
	}
	msg.Service, msg.AccountID, msg.RequestID = "AWS Auto Scaling", sc.Account, awsid.RequestID()
	msg.Time = s.now().Format("2006-01-02T15:04:05.000Z")
	msg.AutoScalingGroupName, msg.LifecycleHookName = str(h.AutoScalingGroupName), str(h.LifecycleHookName)
	msg.NotificationMetadata = str(h.NotificationMetadata)
	body, err := json.Marshal(msg)
	if err != nil {
		return
	}
	if err := s.opts.Notifier.NotifyLifecycle(sc.Context(ctx), target, body); err != nil {
		s.log().Warn("autoscaling: lifecycle notification", "hook", msg.LifecycleHookName, "target", target, "err", err)
	}
}

// notifyWait tells a hook's target that a member entered the hook's wait.
func (r *reconciler) notifyWait(sc scope, g groupRecord, h *api.LifecycleHook, m member, from string) {
	origin, dest := "EC2", "AutoScalingGroup"
	switch {
	case strings.HasPrefix(m.Lifecycle, "Terminating"):
		origin, dest = "AutoScalingGroup", "EC2"
	case strings.HasPrefix(m.Lifecycle, "Warmed:"):
		dest = "WarmPool"
	case from == "WarmPool":
		origin = "WarmPool"
	}
	r.s.notify(r.ctx, sc, h, lifecycleMessage{Origin: origin, Destination: dest, LifecycleActionToken: m.WaitToken,
		AutoScalingGroupARN: g.ARN, EC2InstanceID: m.ID, LifecycleTransition: str(h.LifecycleTransition)})
}

// testNotification is the message a hook's target gets when the hook is
// put.
func (s *Service) testNotification(ctx context.Context, sc scope, h api.LifecycleHook) {
	s.notify(ctx, sc, &h, lifecycleMessage{Event: "autoscaling:TEST_NOTIFICATION"})
}

// DescribeAutoScalingNotificationTypes lists the notification types of
// PutNotificationConfiguration (Amazon SNS notifications, which nephele
// does not send yet: it has no SNS).
func (s *Service) DescribeAutoScalingNotificationTypes(context.Context, *api.DescribeAutoScalingNotificationTypesInput) (*api.DescribeAutoScalingNotificationTypesAnswer, error) {
	return &api.DescribeAutoScalingNotificationTypesAnswer{AutoScalingNotificationTypes: []string{
		"autoscaling:EC2_INSTANCE_LAUNCH", "autoscaling:EC2_INSTANCE_LAUNCH_ERROR",
		"autoscaling:EC2_INSTANCE_TERMINATE", "autoscaling:EC2_INSTANCE_TERMINATE_ERROR", "autoscaling:TEST_NOTIFICATION",
	}}, nil
}
