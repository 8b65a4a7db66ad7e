package autoscaling

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	cwapi "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	ec2api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// Instance refresh, as the AWS documentation describes the Rolling
// strategy: the group replaces its instances in batches, keeping at least
// MinHealthyPercentage of desired capacity healthy (and, with
// MaxHealthyPercentage above 100, launching replacements before it
// terminates), waits for each batch to be InService and warmed up before
// the next, pauses at checkpoints, and on success adopts the desired
// configuration. A cancel stops it after the batch in flight; a rollback
// replaces what it replaced with the group's configuration again. The
// reconciler takes each step (refreshStep), so a refresh moves on the
// clock like everything else.

const bucketRefreshes = "autoscaling-instance-refreshes"

// refreshRecord is a stored instance refresh.
type refreshRecord struct {
	ID          string                    `json:"id"`
	Group       string                    `json:"group"`
	Strategy    string                    `json:"strategy"`
	Status      string                    `json:"status"`
	Reason      string                    `json:"reason,omitempty"`
	Start       time.Time                 `json:"start"`
	End         *time.Time                `json:"end,omitempty"`
	Preferences api.RefreshPreferences    `json:"preferences"`
	Desired     *api.DesiredConfiguration `json:"desired,omitempty"`
	// Target is the desired launch template with its version resolved,
	// for SkipMatching.
	TargetTemplate string `json:"targetTemplate,omitempty"`
	TargetVersion  string `json:"targetVersion,omitempty"`
	// Total is how many instances the refresh set out to replace; Done
	// how many it has replaced; Replaced the IDs it took out.
	Total    int      `json:"total"`
	Done     int      `json:"done"`
	Replaced []string `json:"replaced,omitempty"`
	// Batch are the replacements launched for the instances in flight:
	// the refresh waits for them to be InService and warmed up.
	Batch []string `json:"batch,omitempty"`
	// PauseUntil holds the refresh at a checkpoint.
	PauseUntil time.Time `json:"pauseUntil,omitempty"`
	// Checkpoint is the index of the next checkpoint.
	Checkpoint int `json:"checkpoint"`

	RollbackStart  *time.Time `json:"rollbackStart,omitempty"`
	RollbackReason string     `json:"rollbackReason,omitempty"`
	RollbackTotal  int        `json:"rollbackTotal,omitempty"`
	RollbackDone   int        `json:"rollbackDone,omitempty"`
}

func (f refreshRecord) key(sc scope) string {
	return sc.Key(f.Group + "/" + f.Start.UTC().Format("20060102T150405.000000000") + "/" + f.ID)
}

// active reports whether a refresh still has work to do.
func (f refreshRecord) active() bool {
	switch f.Status {
	case "Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking":
		return true
	}
	return false
}

func refreshInProgress() error {
	return awserr.New(http.StatusBadRequest, "InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
}

func noActiveRefresh(group string) error {
	return awserr.New(http.StatusBadRequest, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group %s", group)
}

// StartInstanceRefresh starts replacing a group's instances.
func (s *Service) StartInstanceRefresh(ctx context.Context, in *api.StartInstanceRefreshType) (*api.StartInstanceRefreshAnswer, error) {
	sc := scopeOf(ctx)
	name := str(in.AutoScalingGroupName)
	strategy := "Rolling"
	if in.Strategy != nil {
		strategy = *in.Strategy
	}
	if strategy != "Rolling" {
		return nil, validation("The %s strategy is not supported by nephele; use Rolling.", strategy)
	}
	var g groupRecord
	if err := s.st.View(func(tx store.Tx) error { var err error; g, err = loadGroup(tx, sc, name); return err }); err != nil {
		return nil, err
	}
	p, err := refreshPreferences(g, in.Preferences)
	if err != nil {
		return nil, err
	}
	f := refreshRecord{ID: awsid.RequestID(), Group: name, Strategy: strategy, Status: "Pending", Start: s.now(), Preferences: p, Desired: in.DesiredConfiguration}
	if d := in.DesiredConfiguration; d != nil && (d.LaunchTemplate != nil || d.MixedInstancesPolicy != nil) {
		probe := g
		probe.LaunchTemplate, probe.MixedInstancesPolicy, probe.LaunchConfigurationName = d.LaunchTemplate, d.MixedInstancesPolicy, ""
		if err := s.checkSource(ctx, sc, &probe); err != nil {
			return nil, err
		}
	} else if deref(p.SkipMatching) && launchSpec(g) == nil {
		return nil, validation("SkipMatching is only available for Auto Scaling groups that use a launch template or mixed instances policy.")
	}
	target := g
	if d := in.DesiredConfiguration; d != nil && (d.LaunchTemplate != nil || d.MixedInstancesPolicy != nil) {
		target.LaunchTemplate, target.MixedInstancesPolicy = d.LaunchTemplate, d.MixedInstancesPolicy
	}
	if spec := launchSpec(target); spec != nil {
		v, err := s.opts.Compute.DescribeLaunchTemplateVersions(sc.Context(ctx), &ec2api.DescribeLaunchTemplateVersionsInput{
			LaunchTemplateId: spec.LaunchTemplateId, LaunchTemplateName: spec.LaunchTemplateName, Versions: []string{cmpOr(str(spec.Version), "$Default")}})
		if err == nil && len(v.LaunchTemplateVersions) == 1 {
			lt := v.LaunchTemplateVersions[0]
			f.TargetTemplate, f.TargetVersion = str(lt.LaunchTemplateId)+"|"+str(lt.LaunchTemplateName), fmt.Sprint(deref(lt.VersionNumber))
		}
	}
	err = s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, name)
		if err != nil {
			return err
		}
		if g.RefreshID != "" {
			return refreshInProgress()
		}
		g.RefreshID = f.ID
		if err := tx.Put(bucketRefreshes, f.key(sc), f); err != nil {
			return err
		}
		return putGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	s.rec.wake()
	return &api.StartInstanceRefreshAnswer{InstanceRefreshId: ptr(f.ID)}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// refreshPreferences fills in AWS's defaults and checks the preferences.
func refreshPreferences(g groupRecord, in *api.RefreshPreferences) (api.RefreshPreferences, error) {
	var p api.RefreshPreferences
	if in != nil {
		p = *in
	}
	if p.MinHealthyPercentage == nil {
		p.MinHealthyPercentage = ptr(int32(90))
	}
	if p.MaxHealthyPercentage == nil {
		p.MaxHealthyPercentage = ptr(int32(100))
	}
	minH, maxH := *p.MinHealthyPercentage, *p.MaxHealthyPercentage
	switch {
	case minH < 0 || minH > 100:
		return p, validation("MinHealthyPercentage must be between 0 and 100.")
	case maxH < 100 || maxH > 200:
		return p, validation("MaxHealthyPercentage must be between 100 and 200.")
	case maxH-minH > 100:
		return p, validation("The difference between MaxHealthyPercentage and MinHealthyPercentage must be 100 or less.")
	case minH == 100 && maxH == 100:
		return p, validation("MinHealthyPercentage and MaxHealthyPercentage cannot both be 100.")
	}
	if p.InstanceWarmup == nil {
		w := int32(g.HealthCheckGracePeriod)
		if g.DefaultInstanceWarmup != nil {
			w = *g.DefaultInstanceWarmup
		}
		p.InstanceWarmup = &w
	}
	if p.SkipMatching == nil {
		p.SkipMatching = ptr(false)
	}
	if p.AutoRollback == nil {
		p.AutoRollback = ptr(false)
	}
	if p.ScaleInProtectedInstances == nil {
		p.ScaleInProtectedInstances = ptr("Ignore")
	}
	if p.StandbyInstances == nil {
		p.StandbyInstances = ptr("Ignore")
	}
	if len(p.CheckpointPercentages) > 0 {
		if !slices.IsSorted(p.CheckpointPercentages) || p.CheckpointPercentages[len(p.CheckpointPercentages)-1] > 100 || p.CheckpointPercentages[0] < 1 {
			return p, validation("CheckpointPercentages must be in ascending order, each between 1 and 100.")
		}
		if p.CheckpointDelay == nil {
			p.CheckpointDelay = ptr(int32(3600))
		}
	}
	return p, nil
}

// DescribeInstanceRefreshes lists a group's refreshes, newest first.
func (s *Service) DescribeInstanceRefreshes(ctx context.Context, in *api.DescribeInstanceRefreshesType) (*api.DescribeInstanceRefreshesAnswer, error) {
	sc := scopeOf(ctx)
	name := str(in.AutoScalingGroupName)
	var all []refreshRecord
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketRefreshes, sc.Key(name+"/"), func(_ string, decode func(any) error) error {
			var f refreshRecord
			if err := decode(&f); err != nil {
				return err
			}
			if f.Group == name && (len(in.InstanceRefreshIds) == 0 || slices.Contains(in.InstanceRefreshIds, f.ID)) {
				all = append(all, f)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Start.After(all[j].Start) })
	// Newest first: page by a key that sorts that way.
	key := func(f refreshRecord) string {
		return fmt.Sprintf("%020d/%s", math.MaxInt64-f.Start.UnixNano(), f.ID)
	}
	items, next, err := page.ByKey(all, key, str(in.NextToken), int(deref(in.MaxRecords)), 50, 100)
	if err != nil {
		return nil, awserr.New(http.StatusBadRequest, "InvalidNextToken", "The token is not valid.")
	}
	out := &api.DescribeInstanceRefreshesAnswer{InstanceRefreshes: []api.InstanceRefresh{}, NextToken: optional(next)}
	for _, f := range items {
		out.InstanceRefreshes = append(out.InstanceRefreshes, f.out())
	}
	return out, nil
}

func (f refreshRecord) out() api.InstanceRefresh {
	pct := func(done, total int) int32 {
		if total == 0 {
			if f.Status == "Successful" {
				return 100
			}
			return 0
		}
		return int32(min(100, done*100/total))
	}
	out := api.InstanceRefresh{
		InstanceRefreshId: ptr(f.ID), AutoScalingGroupName: ptr(f.Group), Status: ptr(f.Status), StatusReason: optional(f.Reason),
		StartTime: ptr(f.Start), EndTime: f.End, Strategy: ptr(f.Strategy), Preferences: &f.Preferences, DesiredConfiguration: f.Desired,
		PercentageComplete: ptr(pct(f.Done, f.Total)), InstancesToUpdate: ptr(int32(max(f.Total-f.Done, 0))),
	}
	out.ProgressDetails = &api.InstanceRefreshProgressDetails{LivePoolProgress: &api.InstanceRefreshLivePoolProgress{
		PercentageComplete: out.PercentageComplete, InstancesToUpdate: out.InstancesToUpdate}}
	if f.RollbackStart != nil {
		out.RollbackDetails = &api.RollbackDetails{RollbackStartTime: f.RollbackStart, RollbackReason: optional(f.RollbackReason),
			InstancesToUpdateOnRollback:  ptr(int32(max(f.RollbackTotal-f.RollbackDone, 0))),
			PercentageCompleteOnRollback: ptr(pct(f.RollbackDone, f.RollbackTotal))}
	}
	return out
}

// CancelInstanceRefresh stops a group's refresh after the replacements in
// flight.
func (s *Service) CancelInstanceRefresh(ctx context.Context, in *api.CancelInstanceRefreshType) (*api.CancelInstanceRefreshAnswer, error) {
	f, err := s.changeRefresh(ctx, str(in.AutoScalingGroupName), func(f *refreshRecord) error {
		if f.Status == "Cancelling" || f.Status == "RollbackInProgress" {
			return noActiveRefresh(f.Group)
		}
		f.Status, f.Reason = "Cancelling", ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.CancelInstanceRefreshAnswer{InstanceRefreshId: ptr(f.ID)}, nil
}

// RollbackInstanceRefresh undoes a refresh in progress: the instances it
// replaced are replaced again with the group's own configuration.
func (s *Service) RollbackInstanceRefresh(ctx context.Context, in *api.RollbackInstanceRefreshType) (*api.RollbackInstanceRefreshAnswer, error) {
	now := s.now()
	f, err := s.changeRefresh(ctx, str(in.AutoScalingGroupName), func(f *refreshRecord) error {
		if f.Status == "RollbackInProgress" {
			return noActiveRefresh(f.Group)
		}
		if !f.reversible() {
			return awserr.New(http.StatusBadRequest, "IrreversibleInstanceRefresh", "The instance refresh can't be rolled back because it was started without a desired configuration.")
		}
		f.startRollback(now, "Rollback started by user request.")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.RollbackInstanceRefreshAnswer{InstanceRefreshId: ptr(f.ID)}, nil
}

// reversible reports whether a refresh can be rolled back: it was given
// a desired configuration to undo.
func (f *refreshRecord) reversible() bool {
	return f.Desired != nil && (f.Desired.LaunchTemplate != nil || f.Desired.MixedInstancesPolicy != nil)
}

// alarmFiring is the first of a refresh's alarms in ALARM, or "".
func (r *reconciler) alarmFiring(sc scope, spec *api.AlarmSpecification) string {
	if spec == nil || len(spec.Alarms) == 0 || r.s.opts.Alarms == nil {
		return ""
	}
	out, err := r.s.opts.Alarms.DescribeAlarms(sc.Context(r.ctx), &cwapi.DescribeAlarmsInput{AlarmNames: spec.Alarms,
		AlarmTypes: []string{"MetricAlarm", "CompositeAlarm"}})
	if err != nil {
		r.s.log().Warn("autoscaling: reading an instance refresh's alarms", "err", err)
		return ""
	}
	for _, a := range out.MetricAlarms {
		if str(a.StateValue) == "ALARM" {
			return str(a.AlarmName)
		}
	}
	for _, a := range out.CompositeAlarms {
		if str(a.StateValue) == "ALARM" {
			return str(a.AlarmName)
		}
	}
	return ""
}

func (f *refreshRecord) startRollback(now time.Time, reason string) {
	f.Status, f.Reason = "RollbackInProgress", ""
	f.RollbackStart, f.RollbackReason = &now, reason
	f.RollbackTotal, f.RollbackDone, f.Batch, f.PauseUntil = 0, 0, nil, time.Time{}
}

// changeRefresh changes a group's active refresh.
func (s *Service) changeRefresh(ctx context.Context, group string, change func(*refreshRecord) error) (refreshRecord, error) {
	sc := scopeOf(ctx)
	var f refreshRecord
	err := s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, group)
		if err != nil {
			return err
		}
		key, rec, err := findRefresh(tx, sc, g)
		if err != nil {
			return err
		}
		if rec == nil || !rec.active() {
			return noActiveRefresh(group)
		}
		if err := change(rec); err != nil {
			return err
		}
		f = *rec
		return tx.Put(bucketRefreshes, key, *rec)
	})
	if err == nil {
		s.rec.wake()
	}
	return f, err
}

// findRefresh loads a group's active refresh, if any.
func findRefresh(tx store.Tx, sc scope, g groupRecord) (string, *refreshRecord, error) {
	if g.RefreshID == "" {
		return "", nil, nil
	}
	var key string
	var found *refreshRecord
	err := tx.ForEach(bucketRefreshes, sc.Key(g.Name+"/"), func(k string, decode func(any) error) error {
		if !strings.HasSuffix(k, "/"+g.RefreshID) {
			return nil
		}
		var f refreshRecord
		if err := decode(&f); err != nil {
			return err
		}
		key, found = k, &f
		return nil
	})
	return key, found, err
}

// refreshTarget is the configuration instances are replaced with: the
// desired one, or the group's own while rolling back.
func refreshTarget(g groupRecord, f *refreshRecord) groupRecord {
	t := g
	if f != nil && f.Status != "RollbackInProgress" && f.Desired != nil && (f.Desired.LaunchTemplate != nil || f.Desired.MixedInstancesPolicy != nil) {
		t.LaunchTemplate, t.MixedInstancesPolicy, t.LaunchConfigurationName = f.Desired.LaunchTemplate, f.Desired.MixedInstancesPolicy, ""
	}
	return t
}

// since is when the current phase began: the refresh, or its rollback.
func (f *refreshRecord) since() time.Time {
	if f.Status == "RollbackInProgress" && f.RollbackStart != nil {
		return *f.RollbackStart
	}
	return f.Start
}

// outdated reports whether a member is one the refresh replaces.
func (f *refreshRecord) outdated(m member) bool {
	if f.Status == "RollbackInProgress" {
		// A rollback replaces what the refresh launched.
		return !m.Launched.Before(f.Start) && m.Launched.Before(f.since())
	}
	if slices.Contains(f.Batch, m.ID) || !m.Launched.Before(f.Start) {
		return false // launched by the refresh
	}
	if deref(f.Preferences.SkipMatching) && m.LaunchTemplate != nil && f.TargetTemplate != "" {
		id, name, _ := strings.Cut(f.TargetTemplate, "|")
		same := (str(m.LaunchTemplate.LaunchTemplateId) == id && id != "") || (str(m.LaunchTemplate.LaunchTemplateName) == name && name != "")
		if same && str(m.LaunchTemplate.Version) == f.TargetVersion {
			return false
		}
	}
	return true
}

// refreshStep takes one step of a group's active refresh in a reconciler
// pass: it may mark instances for replacement (returned for termination),
// and reports the effective desired capacity (raised while replacements
// launch ahead of terminations) and the activities.
func (r *reconciler) refreshStep(sc scope, g *groupRecord, f *refreshRecord, now time.Time) (desired int, terminate []string, acts []activityRecord, changed bool) {
	desired = g.Desired
	p := f.Preferences
	warmup := secondsOf(int(deref(p.InstanceWarmup)))
	ready := func(m member) bool {
		return m.Lifecycle == "InService" && m.Health == "Healthy" && now.Sub(m.Launched) >= warmup
	}
	if f.Status == "Pending" {
		f.Status, changed = "InProgress", true
	}
	// An alarm of the AlarmSpecification in ALARM fails the refresh, or
	// rolls it back with AutoRollback.
	if f.Status == "InProgress" {
		if alarm := r.alarmFiring(sc, p.AlarmSpecification); alarm != "" {
			reason := fmt.Sprintf("The instance refresh failed because alarm %s went into ALARM state.", alarm)
			if deref(p.AutoRollback) && f.reversible() {
				f.startRollback(now, reason)
				return g.Desired, nil, nil, true
			}
			end := now
			f.Status, f.Reason, f.End, f.Batch = "Failed", reason, &end, nil
			return g.Desired, nil, nil, true
		}
	}
	// The batch in flight: replacements still coming up or warming.
	var waiting []string
	batch := f.Batch[:0:0]
	for _, id := range f.Batch {
		i := slices.IndexFunc(g.Members, func(m member) bool { return m.ID == id })
		if i < 0 {
			continue
		}
		if !ready(g.Members[i]) {
			waiting = append(waiting, id)
		}
		batch = append(batch, id)
	}
	if len(batch) != len(f.Batch) {
		changed = true
	}
	f.Batch = batch
	// Replacements launched since the last pass join the batch.
	for _, m := range g.Members {
		if m.counts() && !m.Launched.Before(f.since()) && !slices.Contains(f.Batch, m.ID) && !slices.Contains(f.Replaced, m.ID) {
			f.Batch, changed = append(f.Batch, m.ID), true
			if !ready(m) {
				waiting = append(waiting, m.ID)
			}
		}
	}
	var old []member
	for _, m := range g.Members {
		if !m.counts() || slices.Contains(f.Replaced, m.ID) || !f.outdated(m) {
			continue
		}
		if m.Protected && deref(p.ScaleInProtectedInstances) != "Refresh" {
			continue
		}
		old = append(old, m)
	}
	rolling := f.Status == "RollbackInProgress"
	if rolling && f.RollbackTotal == 0 {
		f.RollbackTotal = len(old)
	}
	if !rolling && f.Total == 0 && f.Done == 0 {
		f.Total = len(old)
	}
	setReason := func(reason string) {
		if f.Reason != reason {
			f.Reason, changed = reason, true
		}
	}
	finish := func(status string) {
		end := now
		f.Status, f.End, f.Reason, f.Batch, changed = status, &end, "", nil, true
	}
	if len(waiting) > 0 {
		setReason(fmt.Sprintf("Waiting for instances to warm up before continuing. For example: %s is warming up.", strings.TrimPrefix(waiting[0], "i-")))
		if len(old) > 0 && deref(p.MaxHealthyPercentage) > 100 && f.Status != "Cancelling" {
			desired = g.Desired + min(extraCapacity(g.Desired, p), len(old))
		}
		return desired, nil, nil, changed
	}
	if f.Status == "Cancelling" {
		finish("Cancelled")
		return desired, nil, nil, true
	}
	if len(old) == 0 {
		if rolling {
			finish("RollbackSuccessful")
			return desired, nil, nil, true
		}
		// Success: the group adopts the desired configuration.
		if f.Desired != nil && (f.Desired.LaunchTemplate != nil || f.Desired.MixedInstancesPolicy != nil) {
			g.LaunchTemplate, g.MixedInstancesPolicy, g.LaunchConfigurationName = f.Desired.LaunchTemplate, f.Desired.MixedInstancesPolicy, ""
		}
		f.Done = f.Total
		finish("Successful")
		return desired, nil, nil, true
	}
	if !f.PauseUntil.IsZero() {
		if now.Before(f.PauseUntil) {
			setReason(fmt.Sprintf("Waiting for the checkpoint delay to end at %s.", f.PauseUntil.Format(causeTime)))
			return desired, nil, nil, changed
		}
		f.PauseUntil, changed = time.Time{}, true
	}
	// A checkpoint reached pauses the refresh.
	if cps := p.CheckpointPercentages; !rolling && f.Checkpoint < len(cps) && f.Total > 0 && f.Done*100/f.Total >= int(cps[f.Checkpoint]) {
		f.Checkpoint++
		f.PauseUntil = now.Add(secondsOf(int(deref(p.CheckpointDelay))))
		setReason(fmt.Sprintf("Waiting for the checkpoint delay to end at %s.", f.PauseUntil.Format(causeTime)))
		return desired, nil, nil, true
	}
	// The next batch: as many as keep MinHealthyPercentage of desired
	// capacity healthy, at least one; with MaxHealthyPercentage above 100
	// the replacements launch first (desired is raised) and old ones go
	// once they are ready.
	healthy := 0
	for _, m := range g.Members {
		if m.counts() && ready(m) {
			healthy++
		}
	}
	minHealthy := int(math.Ceil(float64(g.Desired) * float64(deref(p.MinHealthyPercentage)) / 100))
	extra := 0
	if deref(p.MaxHealthyPercentage) > 100 {
		extra = min(extraCapacity(g.Desired, p), len(old))
	}
	n := max(healthy-minHealthy, 1)
	if extra > 0 {
		if capacity := g.capacity(); capacity < g.Desired+extra {
			// Launch the replacements first.
			setReason("")
			return g.Desired + extra, nil, nil, changed
		}
		n = max(healthy-minHealthy, extra)
	}
	n = min(n, len(old))
	// Oldest first.
	slices.SortStableFunc(old, func(a, b member) int { return a.Launched.Compare(b.Launched) })
	for _, m := range old[:n] {
		i := slices.IndexFunc(g.Members, func(x member) bool { return x.ID == m.ID })
		g.Members[i].Lifecycle = "Terminating"
		terminate = append(terminate, m.ID)
		f.Replaced = append(f.Replaced, m.ID)
		if rolling {
			f.RollbackDone++
		} else {
			f.Done++
		}
		cause := fmt.Sprintf("At %s an instance was taken out of service in response to an instance refresh.  At %s instance %s was selected for termination.",
			now.Format(causeTime), now.Format(causeTime), m.ID)
		a := newActivity(*g, now, "Terminating EC2 instance: "+m.ID, cause, "InProgress")
		a.Instance, a.Details = m.ID, details(subnetOf(*g, m.AZ), m.AZ)
		acts = append(acts, a)
	}
	setReason("")
	if extra > 0 {
		desired = g.Desired + min(extra, len(old)-n)
	}
	return desired, terminate, acts, true
}

// extraCapacity is how far above desired capacity MaxHealthyPercentage
// lets a refresh go.
func extraCapacity(desired int, p api.RefreshPreferences) int {
	return max(desired*int(deref(p.MaxHealthyPercentage))/100-desired, 1)
}
