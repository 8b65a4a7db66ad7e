package autoscaling

import (
	"errors"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	"github.com/nephele-dev/nephele/internal/store"
)

// Buckets, keyed by account/region/name (activities by
// account/region/group/time).
const (
	bucketGroups        = "autoscaling-groups"
	bucketLaunchConfigs = "autoscaling-launch-configurations"
	bucketActivities    = "autoscaling-activities"
)

// groupRecord is a stored Auto Scaling group.
type groupRecord struct {
	Name    string    `json:"name"`
	ARN     string    `json:"arn"`
	Created time.Time `json:"created"`

	LaunchTemplate          *api.LaunchTemplateSpecification `json:"launchTemplate,omitempty"`
	LaunchConfigurationName string                           `json:"launchConfigurationName,omitempty"`
	MixedInstancesPolicy    *api.MixedInstancesPolicy        `json:"mixedInstancesPolicy,omitempty"`

	Min     int `json:"min"`
	Max     int `json:"max"`
	Desired int `json:"desired"`

	DefaultCooldown        int    `json:"defaultCooldown"`
	DefaultInstanceWarmup  *int32 `json:"defaultInstanceWarmup,omitempty"`
	HealthCheckType        string `json:"healthCheckType"`
	HealthCheckGracePeriod int    `json:"healthCheckGracePeriod"`
	MaxInstanceLifetime    int    `json:"maxInstanceLifetime,omitempty"`
	CapacityRebalance      bool   `json:"capacityRebalance,omitempty"`
	ProtectNew             bool   `json:"protectNew,omitempty"`

	// Zones are the group's Availability Zones, each with the subnet its
	// instances launch in.
	Zones             []zone `json:"zones"`
	VPCZoneIdentifier string `json:"vpcZoneIdentifier,omitempty"`
	// Sources are the target groups the group registers its instances
	// with (traffic.go).
	Sources             []trafficSource `json:"sources,omitempty"`
	TerminationPolicies []string        `json:"terminationPolicies"`
	PlacementGroup      string          `json:"placementGroup,omitempty"`

	Tags      []api.TagDescription   `json:"tags,omitempty"`
	Suspended []api.SuspendedProcess `json:"suspended,omitempty"`

	Members []member `json:"members,omitempty"`
	// Deleting is set by DeleteAutoScalingGroup with ForceDelete: the
	// reconciler terminates the instances, then removes the group.
	Deleting bool `json:"deleting,omitempty"`
	// RefreshID is the group's active instance refresh (refresh.go).
	RefreshID string `json:"refreshId,omitempty"`
	// Metrics are the group metrics collected (groupmetrics.go).
	Metrics []string `json:"metrics,omitempty"`
	// WarmPool is the group's warm pool, if any (warmpool.go).
	WarmPool *warmPool `json:"warmPool,omitempty"`
	// Cause is why desired capacity last changed, the first sentence of
	// the next activities' causes.
	Cause string `json:"cause,omitempty"`
}

// zone is an Availability Zone of a group and the subnet it launches in.
type zone struct {
	Name   string `json:"name"`
	Subnet string `json:"subnet"`
}

// member is an instance of a group.
type member struct {
	ID                      string                           `json:"id"`
	AZ                      string                           `json:"az"`
	InstanceType            string                           `json:"instanceType"`
	LaunchTemplate          *api.LaunchTemplateSpecification `json:"launchTemplate,omitempty"`
	LaunchConfigurationName string                           `json:"launchConfigurationName,omitempty"`
	// Lifecycle is the LifecycleState: Pending, InService, Terminating,
	// Standby...
	Lifecycle string    `json:"lifecycle"`
	Health    string    `json:"health"`
	Protected bool      `json:"protected,omitempty"`
	Launched  time.Time `json:"launched"`
	// UnhealthyWhy is the health check that failed, for the activity.
	UnhealthyWhy string `json:"unhealthyWhy,omitempty"`

	// A wait on a lifecycle hook (Pending:Wait, Terminating:Wait): the
	// hook, the action token, when it began, when the heartbeat runs out,
	// the hook's default result, and the result once completed.
	WaitHook     string    `json:"waitHook,omitempty"`
	WaitToken    string    `json:"waitToken,omitempty"`
	WaitStart    time.Time `json:"waitStart,omitempty"`
	WaitDeadline time.Time `json:"waitDeadline,omitempty"`
	WaitDefault  string    `json:"waitDefault,omitempty"`
	WaitResult   string    `json:"waitResult,omitempty"`

	// Registered are the target groups the instance is registered with;
	// Draining holds its termination while a target group drains it.
	Registered []string `json:"registered,omitempty"`
	Draining   bool     `json:"draining,omitempty"`
	// NotAdded marks an instance that entered service while
	// AddToLoadBalancer was suspended: it is never registered.
	NotAdded bool `json:"notAdded,omitempty"`
	// From is "WarmPool" for an instance taken from the warm pool, for
	// its lifecycle notifications.
	From string `json:"from,omitempty"`
	// Market is "spot" for a Spot Instance, "" for On-Demand.
	Market string `json:"market,omitempty"`
	// Weight is the capacity units the instance counts for, from its
	// type's WeightedCapacity; 0 means 1 (a group without weights).
	Weight int `json:"weight,omitempty"`
	// Replacing says why the instance is being replaced (replacement.go):
	// it no longer counts toward capacity, and goes once its replacement
	// is InService.
	Replacing string `json:"replacing,omitempty"`
}

// counts reports whether a member counts toward the group's capacity.
func (m member) counts() bool {
	return (m.Lifecycle == "Pending" || m.Lifecycle == "Pending:Wait" || m.Lifecycle == "InService") && m.Replacing == ""
}

// suspended reports whether a process is suspended.
func (g *groupRecord) suspended(process string) bool {
	for _, p := range g.Suspended {
		if str(p.ProcessName) == process {
			return true
		}
	}
	return false
}

// units is the capacity a member counts for.
func (m member) units() int { return max(m.Weight, 1) }

// capacity is the capacity units of the members that count toward
// desired capacity: the number of instances, unless the group's types
// have weights.
func (g *groupRecord) capacity() int {
	n := 0
	for _, m := range g.Members {
		if m.counts() {
			n += m.units()
		}
	}
	return n
}

func loadGroup(tx store.Tx, sc scope, name string) (groupRecord, error) {
	var g groupRecord
	err := tx.Get(bucketGroups, sc.Key(name), &g)
	if errors.Is(err, store.ErrNotFound) {
		return g, validation("AutoScalingGroup name not found - AutoScalingGroup '%s' not found", name)
	}
	return g, err
}

func putGroup(tx store.Tx, sc scope, g groupRecord) error {
	return tx.Put(bucketGroups, sc.Key(g.Name), g)
}
