package autoscaling

import (
	"context"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	"github.com/nephele-dev/nephele/internal/store"
)

// groupDeleted removes what a deleted group leaves behind, as deleting a
// group does in AWS: its scaling policies (and the alarms target tracking
// policies own), lifecycle hooks, scheduled actions and instance
// refreshes, in one transaction.
func (s *Service) groupDeleted(ctx context.Context, sc scope, group string) {
	var policies []policyRecord
	err := s.st.Update(func(tx store.Tx) error {
		var err error
		policies, err = deleteGroupRecords(tx, sc, bucketPolicies, group, func(r policyRecord) string { return str(r.Policy.AutoScalingGroupName) })
		if err != nil {
			return err
		}
		if _, err = deleteGroupRecords(tx, sc, bucketHooks, group, func(h api.LifecycleHook) string { return str(h.AutoScalingGroupName) }); err != nil {
			return err
		}
		if _, err = deleteGroupRecords(tx, sc, bucketScheduled, group, func(r scheduledRecord) string { return r.Group }); err != nil {
			return err
		}
		_, err = deleteGroupRecords(tx, sc, bucketRefreshes, group, func(r refreshRecord) string { return r.Group })
		return err
	})
	if err != nil {
		s.log().Error("autoscaling: deleting what a deleted group left", "group", group, "err", err)
		return
	}
	for _, r := range policies {
		s.deletePolicyAlarms(ctx, sc, r)
	}
}

// deleteGroupRecords deletes a group's records from a bucket keyed by
// scope, group and name, and returns them. groupOf names a record's group:
// a group whose name extends another's ("web" and "web/blue") shares its
// key prefix, so the prefix alone does not decide.
func deleteGroupRecords[T any](tx store.Tx, sc scope, bucket, group string, groupOf func(T) string) ([]T, error) {
	var recs []T
	var keys []string
	err := tx.ForEach(bucket, sc.Key(group+"/"), func(k string, decode func(any) error) error {
		var r T
		if err := decode(&r); err != nil {
			return err
		}
		if groupOf(r) == group {
			recs, keys = append(recs, r), append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := tx.Delete(bucket, k); err != nil {
			return nil, err
		}
	}
	return recs, nil
}
