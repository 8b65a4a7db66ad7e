package elbv2

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// maxLoadBalancers is the default quota of load balancers of each type
// per region (DescribeAccountLimits' application-load-balancers and
// network-load-balancers).
const maxLoadBalancers = 50

// elbName is the shape of load balancer and target group names: 1 to 32
// alphanumerics and hyphens, not beginning or ending with a hyphen.
var elbName = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$`)

// checkLBName applies CreateLoadBalancer's rules for Name.
func checkLBName(name string) error {
	switch {
	case len(name) > 32:
		return validation("The load balancer name '%s' cannot be longer than '32' characters", name)
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return validation("The load balancer name '%s' cannot begin or end with a hyphen", name)
	case !elbName.MatchString(name):
		return validation("The load balancer name '%s' can only contain characters that are alphanumeric characters and hyphens(-)", name)
	case strings.HasPrefix(strings.ToLower(name), "internal-"):
		return validation("The load balancer name '%s' cannot begin with 'internal-'", name)
	}
	return nil
}

// CreateLoadBalancer creates an Application or Network Load Balancer with
// its own loopback address and DNS name. Creating one with the name and
// settings of an existing one returns it (the call is idempotent); the
// same name with other settings is DuplicateLoadBalancerName.
func (s *Service) CreateLoadBalancer(ctx context.Context, in *api.CreateLoadBalancerInput) (*api.CreateLoadBalancerOutput, error) {
	sc := scopeOf(ctx)
	name := str(in.Name)
	if err := checkLBName(name); err != nil {
		return nil, err
	}
	lbType := deref(in.Type)
	if lbType == "" {
		lbType = "application"
	}
	if lbType == "gateway" {
		return nil, apiErr("InvalidConfigurationRequest", "Gateway Load Balancers are not supported by nephele")
	}
	scheme := deref(in.Scheme)
	if scheme == "" {
		scheme = "internet-facing"
	}
	ipType := deref(in.IpAddressType)
	if ipType == "" {
		ipType = "ipv4"
	}
	if scheme == "internal" && ipType == "dualstack-without-public-ipv4" {
		return nil, validation("Internal load balancers cannot use the IP address type 'dualstack-without-public-ipv4'")
	}
	if lbType == "network" && ipType == "dualstack-without-public-ipv4" {
		return nil, validation("Network Load Balancers do not support the IP address type 'dualstack-without-public-ipv4'")
	}
	var mappings []subnetMapping
	for _, m := range in.SubnetMappings {
		if lbType == "application" && m.AllocationId != nil {
			return nil, invalidConfig("You cannot specify Elastic IP addresses for Application Load Balancers")
		}
		mappings = append(mappings, subnetMapping{SubnetID: str(m.SubnetId)})
	}
	zones, vpc, err := s.resolveSubnets(ctx, lbType, in.Subnets, mappings)
	if err != nil {
		return nil, err
	}
	sgs, err := s.resolveSecurityGroups(ctx, lbType, vpc, in.SecurityGroups)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags, 0); err != nil {
		return nil, err
	}
	kind := "app"
	if lbType == "network" {
		kind = "net"
	}
	lb := lbRecord{
		ARN:  fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/%s/%s/%s", sc.Region, sc.Account, kind, name, newID()),
		Name: name, Type: lbType, Scheme: scheme, IPAddressType: ipType, VpcID: vpc,
		DNSName: dnsName(lbType, scheme, name, sc.Region), Created: s.now(), Zones: zones, SecurityGroups: sgs,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err = s.st.Update(func(tx store.Tx) error {
		var old lbRecord
		err := tx.Get(bucketLoadBalancers, sc.Key(name), &old)
		if err == nil {
			if old.Type == lb.Type && old.Scheme == lb.Scheme && slices.Equal(old.Zones, lb.Zones) &&
				(len(in.SecurityGroups) == 0 || slices.Equal(old.SecurityGroups, lb.SecurityGroups)) {
				lb = old
				return nil
			}
			return apiErr("DuplicateLoadBalancerName", "A load balancer with the same name '%s' exists, but with different settings", name)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		all, err := allOf[lbRecord](tx, bucketLoadBalancers, sc.Prefix())
		if err != nil {
			return err
		}
		n := 0
		for _, o := range all {
			if o.Type == lb.Type {
				n++
			}
		}
		if n >= maxLoadBalancers {
			return apiErr("TooManyLoadBalancers", "The maximum number of load balancers '%d' has been reached", maxLoadBalancers)
		}
		if lb.IP, err = allocateIP(tx, sc.Key(name)); err != nil {
			return err
		}
		if err := putTags(tx, sc, lb.ARN, nil, in.Tags); err != nil {
			return err
		}
		return tx.Put(bucketLoadBalancers, sc.Key(name), lb)
	})
	if err != nil {
		return nil, err
	}
	s.syncScopeLocked(ctx, sc)
	return &api.CreateLoadBalancerOutput{LoadBalancers: []api.LoadBalancer{lbOut(lb)}}, nil
}

// lbOut renders a load balancer as the API shows it. A load balancer is
// active as soon as it exists: its listeners open with it.
func lbOut(lb lbRecord) api.LoadBalancer {
	out := api.LoadBalancer{
		LoadBalancerArn: ptr(lb.ARN), LoadBalancerName: ptr(lb.Name), DNSName: ptr(lb.DNSName),
		CanonicalHostedZoneId: ptr(hostedZone(lb.Type, regionOf(lb.ARN))), CreatedTime: ptr(lb.Created),
		Scheme: ptr(lb.Scheme), Type: ptr(lb.Type), VpcId: ptr(lb.VpcID), IpAddressType: ptr(lb.IPAddressType),
		State: &api.LoadBalancerState{Code: ptr("active")}, AvailabilityZones: []api.AvailabilityZone{},
	}
	if len(lb.SecurityGroups) > 0 {
		out.SecurityGroups = slices.Clone(lb.SecurityGroups)
	}
	for _, z := range lb.Zones {
		out.AvailabilityZones = append(out.AvailabilityZones, api.AvailabilityZone{
			ZoneName: ptr(z.Zone), SubnetId: ptr(z.Subnet), LoadBalancerAddresses: []api.LoadBalancerAddress{},
		})
	}
	return out
}

// regionOf is an ARN's region.
func regionOf(arn string) string {
	p := strings.SplitN(arn, ":", 6)
	if len(p) < 6 {
		return ""
	}
	return p[3]
}

// DescribeLoadBalancers lists load balancers, all of the region or those
// named by name or ARN, in name order, a page at a time.
func (s *Service) DescribeLoadBalancers(ctx context.Context, in *api.DescribeLoadBalancersInput) (*api.DescribeLoadBalancersOutput, error) {
	sc := scopeOf(ctx)
	if len(in.Names) > 0 && len(in.LoadBalancerArns) > 0 {
		return nil, validation("Load balancer names and load balancer ARNs cannot be specified at the same time")
	}
	var found []lbRecord
	err := s.st.View(func(tx store.Tx) error {
		switch {
		case len(in.Names) > 0:
			var missing []string
			for _, n := range in.Names {
				var lb lbRecord
				err := tx.Get(bucketLoadBalancers, sc.Key(n), &lb)
				if errors.Is(err, store.ErrNotFound) {
					missing = append(missing, n)
					continue
				}
				if err != nil {
					return err
				}
				found = append(found, lb)
			}
			if len(missing) > 0 {
				return apiErr("LoadBalancerNotFound", "Load balancers '[%s]' not found", strings.Join(missing, ", "))
			}
		case len(in.LoadBalancerArns) > 0:
			for _, arn := range in.LoadBalancerArns {
				lb, err := loadLB(tx, sc, arn)
				if err != nil {
					return err
				}
				found = append(found, lb)
			}
		default:
			var err error
			found, err = allOf[lbRecord](tx, bucketLoadBalancers, sc.Prefix())
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	found = slices.CompactFunc(found, func(a, b lbRecord) bool { return a.ARN == b.ARN })
	pg, next, err := page.ByKey(found, func(l lbRecord) string { return l.Name }, str(in.Marker), int(deref(in.PageSize)), 0, 400)
	if err != nil {
		return nil, badMarker()
	}
	out := &api.DescribeLoadBalancersOutput{LoadBalancers: []api.LoadBalancer{}}
	for _, lb := range pg {
		out.LoadBalancers = append(out.LoadBalancers, lbOut(lb))
	}
	if next != "" {
		out.NextMarker = ptr(next)
	}
	return out, nil
}

// DeleteLoadBalancer deletes a load balancer with its listeners and rules
// and closes its listeners. Deleting one that does not exist succeeds;
// one with deletion protection on is OperationNotPermitted. Registered
// targets stay registered in their target groups.
func (s *Service) DeleteLoadBalancer(ctx context.Context, in *api.DeleteLoadBalancerInput) (*api.DeleteLoadBalancerOutput, error) {
	sc := scopeOf(ctx)
	arn := str(in.LoadBalancerArn)
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.st.Update(func(tx store.Tx) error {
		lb, err := loadLB(tx, sc, arn)
		if err != nil {
			if awsCode(err) == "LoadBalancerNotFound" {
				return nil
			}
			return err
		}
		if merged(lbDefaults(lb.Type, lb.Scheme), lb.Attributes)["deletion_protection.enabled"] == "true" {
			return notPermitted("Load balancer '%s' cannot be deleted because deletion protection is enabled", arn)
		}
		listeners, err := listenersOf(tx, sc, arn)
		if err != nil {
			return err
		}
		for _, l := range listeners {
			if err := deleteListenerRecords(tx, sc, l); err != nil {
				return err
			}
		}
		if err := releaseIP(tx, lb.IP); err != nil {
			return err
		}
		if err := deleteTags(tx, sc, arn); err != nil {
			return err
		}
		return tx.Delete(bucketLoadBalancers, sc.Key(lb.Name))
	})
	if err != nil {
		return nil, err
	}
	s.syncScopeLocked(ctx, sc)
	return &api.DeleteLoadBalancerOutput{}, nil
}

// DescribeLoadBalancerAttributes lists a load balancer's attributes, the
// defaults of its type with whatever was modified.
func (s *Service) DescribeLoadBalancerAttributes(ctx context.Context, in *api.DescribeLoadBalancerAttributesInput) (*api.DescribeLoadBalancerAttributesOutput, error) {
	sc := scopeOf(ctx)
	var lb lbRecord
	err := s.st.View(func(tx store.Tx) (err error) {
		lb, err = loadLB(tx, sc, str(in.LoadBalancerArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &api.DescribeLoadBalancerAttributesOutput{
		Attributes: attrList(merged(lbDefaults(lb.Type, lb.Scheme), lb.Attributes), lbAttr),
	}, nil
}

// ModifyLoadBalancerAttributes changes attributes; the idle timeout and
// NLB cross-zone load balancing reach the data plane at once.
func (s *Service) ModifyLoadBalancerAttributes(ctx context.Context, in *api.ModifyLoadBalancerAttributesInput) (*api.ModifyLoadBalancerAttributesOutput, error) {
	sc := scopeOf(ctx)
	changes := map[string]string{}
	for _, a := range in.Attributes {
		changes[str(a.Key)] = str(a.Value)
	}
	var lb lbRecord
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.st.Update(func(tx store.Tx) error {
		var err error
		if lb, err = loadLB(tx, sc, str(in.LoadBalancerArn)); err != nil {
			return err
		}
		if v, ok := changes["load_balancing.cross_zone.enabled"]; ok && lb.Type == "application" && v != "true" {
			return invalidConfig("Cross-zone load balancing cannot be disabled for Application Load Balancers")
		}
		defaults := lbDefaults(lb.Type, lb.Scheme)
		if lb.Attributes, err = applyAttrs(defaults, lb.Attributes, changes); err != nil {
			return err
		}
		a := merged(defaults, lb.Attributes)
		for _, log := range []string{"access_logs", "connection_logs", "health_check_logs"} {
			if a[log+".s3.enabled"] == "true" && a[log+".s3.bucket"] == "" {
				return invalidConfig("The value of '%s.s3.bucket' cannot be empty when '%s.s3.enabled' is true", log, log)
			}
		}
		return tx.Put(bucketLoadBalancers, sc.Key(lb.Name), lb)
	})
	if err != nil {
		return nil, err
	}
	s.syncScopeLocked(ctx, sc)
	return &api.ModifyLoadBalancerAttributesOutput{
		Attributes: attrList(merged(lbDefaults(lb.Type, lb.Scheme), lb.Attributes), lbAttr),
	}, nil
}

// SetSubnets replaces a load balancer's subnets (and so its Availability
// Zones); they must be in its VPC.
func (s *Service) SetSubnets(ctx context.Context, in *api.SetSubnetsInput) (*api.SetSubnetsOutput, error) {
	sc := scopeOf(ctx)
	var lb lbRecord
	err := s.st.View(func(tx store.Tx) (err error) {
		lb, err = loadLB(tx, sc, str(in.LoadBalancerArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	var mappings []subnetMapping
	for _, m := range in.SubnetMappings {
		mappings = append(mappings, subnetMapping{SubnetID: str(m.SubnetId)})
	}
	zones, vpc, err := s.resolveSubnets(ctx, lb.Type, in.Subnets, mappings)
	if err != nil {
		return nil, err
	}
	if vpc != lb.VpcID {
		return nil, invalidConfig("The subnets must belong to the VPC of the load balancer '%s'", lb.VpcID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err = s.st.Update(func(tx store.Tx) error {
		cur, err := loadLB(tx, sc, lb.ARN)
		if err != nil {
			return err
		}
		cur.Zones = zones
		if in.IpAddressType != nil {
			cur.IPAddressType = *in.IpAddressType
		}
		lb = cur
		return tx.Put(bucketLoadBalancers, sc.Key(cur.Name), cur)
	})
	if err != nil {
		return nil, err
	}
	s.syncScopeLocked(ctx, sc)
	return &api.SetSubnetsOutput{AvailabilityZones: lbOut(lb).AvailabilityZones, IpAddressType: ptr(lb.IPAddressType)}, nil
}

// SetSecurityGroups replaces a load balancer's security groups. A Network
// Load Balancer created without security groups cannot get any later.
func (s *Service) SetSecurityGroups(ctx context.Context, in *api.SetSecurityGroupsInput) (*api.SetSecurityGroupsOutput, error) {
	sc := scopeOf(ctx)
	var lb lbRecord
	err := s.st.View(func(tx store.Tx) (err error) {
		lb, err = loadLB(tx, sc, str(in.LoadBalancerArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	if lb.Type == "network" && len(lb.SecurityGroups) == 0 && len(in.SecurityGroups) > 0 {
		return nil, invalidConfig("You cannot set security groups on a Network Load Balancer which was created without any security groups.")
	}
	if lb.Type == "application" && len(in.SecurityGroups) == 0 {
		return nil, validation("At least one security group must be specified for an Application Load Balancer")
	}
	sgs, err := s.resolveSecurityGroups(ctx, "network", lb.VpcID, in.SecurityGroups)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err = s.st.Update(func(tx store.Tx) error {
		cur, err := loadLB(tx, sc, lb.ARN)
		if err != nil {
			return err
		}
		cur.SecurityGroups = sgs
		return tx.Put(bucketLoadBalancers, sc.Key(cur.Name), cur)
	})
	if err != nil {
		return nil, err
	}
	out := &api.SetSecurityGroupsOutput{SecurityGroupIds: sgs}
	if sgs == nil {
		out.SecurityGroupIds = []string{}
	}
	if lb.Type == "network" {
		out.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic = ptr(deref(in.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic))
		if *out.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic == "" {
			*out.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic = "on"
		}
	}
	return out, nil
}

// SetIpAddressType sets a load balancer's IP address type. Internal load
// balancers keep ipv4 or dualstack.
func (s *Service) SetIpAddressType(ctx context.Context, in *api.SetIpAddressTypeInput) (*api.SetIpAddressTypeOutput, error) {
	sc := scopeOf(ctx)
	t := str(in.IpAddressType)
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.st.Update(func(tx store.Tx) error {
		lb, err := loadLB(tx, sc, str(in.LoadBalancerArn))
		if err != nil {
			return err
		}
		if t == "dualstack-without-public-ipv4" && (lb.Type != "application" || lb.Scheme == "internal") {
			return validation("IP address type 'dualstack-without-public-ipv4' is only supported by internet-facing Application Load Balancers")
		}
		lb.IPAddressType = t
		return tx.Put(bucketLoadBalancers, sc.Key(lb.Name), lb)
	})
	if err != nil {
		return nil, err
	}
	return &api.SetIpAddressTypeOutput{IpAddressType: ptr(t)}, nil
}
