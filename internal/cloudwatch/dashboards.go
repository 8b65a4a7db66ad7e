package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// bucketDashboards holds dashboards, keyed by account and name:
// dashboards are global, not regional.
const bucketDashboards = "cloudwatch-dashboards"

// dashboardRecord is a stored dashboard.
type dashboardRecord struct {
	Name         string    `json:"name"`
	Body         string    `json:"body"`
	LastModified time.Time `json:"lastModified"`
	Tags         []api.Tag `json:"tags,omitempty"`
}

// dashboardName is the form of a dashboard name: "can contain only
// alphanumerics, dash (-) and underscore (_)", up to 255 of them.
var dashboardName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// dashboardARN is a dashboard's ARN, which has no region.
func dashboardARN(account, name string) string {
	return arn.ARN{Partition: "aws", Service: "cloudwatch", AccountID: account, Resource: "dashboard/" + name}.String()
}

func dashboardKey(account, name string) string { return account + "/" + name }

// PutDashboard creates or replaces a dashboard. The body must be a JSON
// object whose widgets, if any, are objects with a type.
func (s *Service) PutDashboard(ctx context.Context, in *api.PutDashboardInput) (*api.PutDashboardOutput, error) {
	name := str(in.DashboardName)
	switch {
	case name == "":
		return nil, missing("DashboardName")
	case in.DashboardBody == nil:
		return nil, missing("DashboardBody")
	}
	if !dashboardName.MatchString(name) {
		return nil, dashboardInvalid("The value %s for parameter DashboardName is invalid. It can contain only alphanumerics, dash (-) and underscore (_).", name)
	}
	if err := checkDashboardBody(*in.DashboardBody); err != nil {
		return nil, err
	}
	account := scopeOf(ctx).Account
	now := s.now()
	err := s.st.Update(func(tx store.Tx) error {
		var old dashboardRecord
		err := tx.Get(bucketDashboards, dashboardKey(account, name), &old)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		rec := dashboardRecord{Name: name, Body: *in.DashboardBody, LastModified: now, Tags: old.Tags}
		if err != nil && len(in.Tags) > 0 {
			if err := checkTags(in.Tags, 0); err != nil {
				return err
			}
			rec.Tags = in.Tags
		}
		return tx.Put(bucketDashboards, dashboardKey(account, name), rec)
	})
	if err != nil {
		return nil, err
	}
	return &api.PutDashboardOutput{DashboardValidationMessages: []api.DashboardValidationMessage{}}, nil
}

// checkDashboardBody applies the dashboard body structure's rules that
// matter for storing it: a JSON object, widgets a list of objects with a
// type.
func checkDashboardBody(body string) error {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return dashboardInvalid("The field DashboardBody must be a valid JSON object")
	}
	raw, ok := doc["widgets"]
	if !ok {
		return dashboardInvalid("The input for the dashboard body is invalid: should have required property 'widgets'")
	}
	var widgets []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &widgets); err != nil {
		return dashboardInvalid("The input for the dashboard body is invalid: /widgets should be array of objects")
	}
	for i, w := range widgets {
		var typ string
		if err := json.Unmarshal(w["type"], &typ); err != nil || typ == "" {
			return dashboardInvalid("The input for the dashboard body is invalid: /widgets/%d should have required property 'type'", i)
		}
	}
	return nil
}

// GetDashboard returns a dashboard's body.
func (s *Service) GetDashboard(ctx context.Context, in *api.GetDashboardInput) (*api.GetDashboardOutput, error) {
	if str(in.DashboardName) == "" {
		return nil, missing("DashboardName")
	}
	account := scopeOf(ctx).Account
	var rec dashboardRecord
	err := s.st.View(func(tx store.Tx) error {
		return tx.Get(bucketDashboards, dashboardKey(account, *in.DashboardName), &rec)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Dashboard %s does not exist", *in.DashboardName)
	}
	if err != nil {
		return nil, err
	}
	return &api.GetDashboardOutput{DashboardArn: ptr(dashboardARN(account, rec.Name)), DashboardBody: &rec.Body, DashboardName: &rec.Name}, nil
}

// listDashboardsPage is ListDashboards' page size: "returns up to 1000
// results on one page".
const listDashboardsPage = 1000

// ListDashboards lists dashboards by name prefix.
func (s *Service) ListDashboards(ctx context.Context, in *api.ListDashboardsInput) (*api.ListDashboardsOutput, error) {
	account := scopeOf(ctx).Account
	var all []dashboardRecord
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketDashboards, account+"/", func(_ string, decode func(any) error) error {
			var r dashboardRecord
			if err := decode(&r); err != nil {
				return err
			}
			if strings.HasPrefix(r.Name, str(in.DashboardNamePrefix)) {
				all = append(all, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	pg, next, err := page.ByKey(all, func(r dashboardRecord) string { return r.Name }, str(in.NextToken), listDashboardsPage, listDashboardsPage, 0)
	if err != nil {
		return nil, badToken()
	}
	out := &api.ListDashboardsOutput{DashboardEntries: []api.DashboardEntry{}}
	for _, r := range pg {
		out.DashboardEntries = append(out.DashboardEntries, api.DashboardEntry{
			DashboardArn: ptr(dashboardARN(account, r.Name)), DashboardName: ptr(r.Name),
			LastModified: ptr(r.LastModified), Size: ptr(int64(len(r.Body))),
		})
	}
	if next != "" {
		out.NextToken = &next
	}
	return out, nil
}

// DeleteDashboards deletes dashboards; if any does not exist, none is
// deleted.
func (s *Service) DeleteDashboards(ctx context.Context, in *api.DeleteDashboardsInput) (*api.DeleteDashboardsOutput, error) {
	if len(in.DashboardNames) == 0 {
		return nil, missing("DashboardNames")
	}
	account := scopeOf(ctx).Account
	err := s.st.Update(func(tx store.Tx) error {
		for _, name := range in.DashboardNames {
			var r dashboardRecord
			if err := tx.Get(bucketDashboards, dashboardKey(account, name), &r); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return notFound("Dashboard %s does not exist", name)
				}
				return err
			}
		}
		for _, name := range in.DashboardNames {
			if err := tx.Delete(bucketDashboards, dashboardKey(account, name)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteDashboardsOutput{}, nil
}
