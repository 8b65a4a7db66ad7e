package autoscaling

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// activityRetention is how long activities are kept: "Auto Scaling keeps
// scaling activities for six weeks".
const activityRetention = 6 * 7 * 24 * time.Hour

// activityRecord is a stored scaling activity.
type activityRecord struct {
	ID          string     `json:"id"`
	Group       string     `json:"group"`
	GroupARN    string     `json:"groupArn"`
	Description string     `json:"description"`
	Cause       string     `json:"cause"`
	Details     string     `json:"details"`
	Status      string     `json:"status"`
	Message     string     `json:"message,omitempty"`
	Start       time.Time  `json:"start"`
	End         *time.Time `json:"end,omitempty"`
	Progress    int        `json:"progress"`
	// Instance is the instance the activity launches or terminates.
	Instance string `json:"instance,omitempty"`
}

func newActivity(g groupRecord, now time.Time, description, cause, status string) activityRecord {
	return activityRecord{ID: awsid.RequestID(), Group: g.Name, GroupARN: g.ARN, Description: description, Cause: cause,
		Details: "{}", Status: status, Start: now}
}

// key orders a group's activities by start time.
func (a activityRecord) key(sc scope) string {
	return sc.Key(a.Group + "/" + fmt.Sprintf("%020d", a.Start.UnixNano()) + "/" + a.ID)
}

func putActivity(tx store.Tx, sc scope, a activityRecord) error {
	return tx.Put(bucketActivities, a.key(sc), a)
}

// finish ends an activity with a status.
func (a *activityRecord) finish(now time.Time, status, message string) {
	a.Status, a.Message, a.End, a.Progress = status, message, &now, 100
}

// details is an activity's Details JSON for an instance in a subnet.
func details(subnet, az string) string {
	b, _ := json.Marshal(map[string]string{"Subnet ID": subnet, "Availability Zone": az})
	return string(b)
}

func (a activityRecord) out() api.Activity {
	out := api.Activity{
		ActivityId: ptr(a.ID), AutoScalingGroupName: ptr(a.Group), AutoScalingGroupARN: ptr(a.GroupARN),
		Description: ptr(a.Description), Cause: ptr(a.Cause), Details: ptr(a.Details), StatusCode: ptr(a.Status),
		StartTime: ptr(a.Start), EndTime: a.End, Progress: ptr(int32(a.Progress)),
	}
	if a.Message != "" {
		out.StatusMessage = ptr(a.Message)
	}
	return out
}

// DescribeScalingActivities lists a group's activities (or all), newest
// first.
func (s *Service) DescribeScalingActivities(ctx context.Context, in *api.DescribeScalingActivitiesType) (*api.ActivitiesType, error) {
	sc := scopeOf(ctx)
	prefix := sc.Prefix()
	if in.AutoScalingGroupName != nil {
		prefix = sc.Key(*in.AutoScalingGroupName + "/")
	}
	var all []activityRecord
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketActivities, prefix, func(_ string, decode func(any) error) error {
			var a activityRecord
			if err := decode(&a); err != nil {
				return err
			}
			if (in.AutoScalingGroupName == nil || a.Group == *in.AutoScalingGroupName) && (len(in.ActivityIds) == 0 || slices.Contains(in.ActivityIds, a.ID)) {
				all = append(all, a)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	// Newest first: pages walk keys counting down from the newest.
	key := func(a activityRecord) string {
		return fmt.Sprintf("%020d/%s", int64(1<<62)-a.Start.UnixNano(), a.ID)
	}
	pg, next, err := page.ByKey(all, key, str(in.NextToken), int(deref(in.MaxRecords)), 100, 100)
	if err != nil {
		if strings.Contains(err.Error(), "size") {
			return nil, validation("Max records must be between 1 and 100")
		}
		return nil, badToken()
	}
	out := &api.ActivitiesType{Activities: []api.Activity{}}
	for _, a := range pg {
		out.Activities = append(out.Activities, a.out())
	}
	if next != "" {
		out.NextToken = &next
	}
	return out, nil
}

func secondsOf(n int) time.Duration { return time.Duration(n) * time.Second }
