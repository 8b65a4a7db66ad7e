// Package ec2 serves Amazon EC2: the places instances live (regions,
// Availability Zones, VPCs, subnets, security groups, key pairs), what they
// are made from (instance types, AMIs, launch templates) and the instances
// themselves, which run for real as local process trees.
//
// Every record is regional: store keys are "<account>/<region>/<id>". Each
// region of each account gets, on first use, what AWS gives every new
// account: a default VPC with one default subnet per Availability Zone and
// a default security group (defaults.go). Tags of every resource live in one
// bucket keyed by resource ID (tags.go), so CreateTags, DescribeTags and the
// tag filters of every Describe call share one implementation.
package ec2

import (
	"context"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Service is the EC2 service.
type Service struct {
	st  store.Store
	clk clock.Clock

	// seeded remembers the account/region pairs whose defaults exist, so
	// that only the first request of a region pays for the check.
	seeded sync.Map // "account/region" → struct{}
}

var (
	_ service.Service  = (*Service)(nil)
	_ service.Resetter = (*Service)(nil)
)

// New returns the EC2 service keeping its state in st and reading time
// from clk.
func New(st store.Store, clk clock.Clock) *Service {
	return &Service{st: st, clk: clk}
}

// Name is EC2's signing name.
func (s *Service) Name() string { return "ec2" }

// Model returns the EC2 API model.
func (s *Service) Model() *model.Service { return api.Model() }

// Operations lists every EC2 operation served, from the files that
// implement them.
func (s *Service) Operations() []service.Operation {
	var ops []service.Operation
	for _, family := range [][]service.Operation{
		s.tagOperations(),
		s.vpcOperations(),
	} {
		ops = append(ops, family...)
	}
	return ops
}

// Reset forgets which regions have their defaults; the store itself is
// emptied by the server.
func (s *Service) Reset(context.Context) error {
	s.seeded.Clear()
	return nil
}

// scope is the account and region a request acts in.
type scope struct {
	account string
	region  string
}

func scopeOf(ctx context.Context) scope {
	r := service.RequestFrom(ctx)
	region := r.Region
	if region == "" {
		region = "us-east-1"
	}
	return scope{account: r.AccountID, region: region}
}

// key is the store key of the resource id in this scope.
func (sc scope) key(id string) string { return sc.account + "/" + sc.region + "/" + id }

// prefix is the key prefix of every resource of this scope.
func (sc scope) prefix() string { return sc.account + "/" + sc.region + "/" }

// arn is the ARN of an EC2 resource, e.g.
// arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0abc.
func (sc scope) arn(kind, id string) string {
	return arn.ARN{Partition: arn.Partition(sc.region), Service: "ec2", Region: sc.region, AccountID: sc.account, Resource: kind + "/" + id}.String()
}

// now is the time of a change. EC2 reports milliseconds at most.
func (s *Service) now() time.Time {
	return s.clk.Now().UTC().Truncate(time.Millisecond)
}

// str reads an optional string member; absent is "".
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// boolean reads an optional bool member; absent is false.
func boolean(p *bool) bool { return p != nil && *p }

// ptr returns a pointer to v, for the API shapes' optional members.
func ptr[T any](v T) *T { return &v }
