package elbv2

import (
	"context"
	"slices"
	"strconv"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/page"
)

// accountLimits are ELB's default quotas, as DescribeAccountLimits lists
// them for a new account.
var accountLimits = []struct {
	name string
	max  int
}{
	{"application-load-balancers", maxLoadBalancers},
	{"condition-values-per-alb-rule", maxConditionValues},
	{"condition-wildcards-per-alb-rule", 5},
	{"gateway-load-balancers", 100},
	{"gateway-load-balancers-per-vpc", 100},
	{"geneve-target-groups", 100},
	{"listeners-per-application-load-balancer", maxListenersPerLB},
	{"listeners-per-network-load-balancer", maxListenersPerLB},
	{"network-load-balancers", maxLoadBalancers},
	{"rules-per-application-load-balancer", maxRulesPerLB},
	{"target-groups", maxTargetGroups},
	{"target-groups-per-action-on-application-load-balancer", maxGroupsPerForward},
	{"target-groups-per-action-on-network-load-balancer", 1},
	{"target-groups-per-application-load-balancer", 100},
	{"targets-per-application-load-balancer", maxTargets},
	{"targets-per-availability-zone-per-gateway-load-balancer", 300},
	{"targets-per-availability-zone-per-network-load-balancer", 500},
	{"targets-per-network-load-balancer", 3000},
}

// DescribeAccountLimits lists the default quotas.
func (s *Service) DescribeAccountLimits(ctx context.Context, in *api.DescribeAccountLimitsInput) (*api.DescribeAccountLimitsOutput, error) {
	all := make([]api.Limit, 0, len(accountLimits))
	for _, l := range accountLimits {
		all = append(all, api.Limit{Name: ptr(l.name), Max: ptr(strconv.Itoa(l.max))})
	}
	pg, next, err := page.ByKey(all, func(l api.Limit) string { return *l.Name }, str(in.Marker), int(deref(in.PageSize)), 0, 400)
	if err != nil {
		return nil, badMarker()
	}
	out := &api.DescribeAccountLimitsOutput{Limits: pg}
	if next != "" {
		out.NextMarker = ptr(next)
	}
	return out, nil
}

// Cipher suites of the security policies, in the policies' preference
// order, by OpenSSL name as ELB lists them.
var (
	tls13Ciphers = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
	fsGCM        = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"}
	fsCBC        = []string{"ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384"}
	fsSHA1       = []string{"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA"}
	rsaGCM       = []string{"AES128-GCM-SHA256", "AES256-GCM-SHA384"}
	rsaCBC       = []string{"AES128-SHA256", "AES256-SHA256"}
	rsaSHA1      = []string{"AES128-SHA", "AES256-SHA"}
)

func ciphers(groups ...[]string) []string { return slices.Concat(groups...) }

// sslPolicies are the predefined security policies of ALB and NLB
// listeners (the "Security policies" pages of their user guides).
var sslPolicies = []struct {
	name      string
	protocols []string
	ciphers   []string
}{
	{"ELBSecurityPolicy-TLS13-1-2-2021-06", []string{"TLSv1.2", "TLSv1.3"}, ciphers(tls13Ciphers, fsGCM, fsCBC)},
	{"ELBSecurityPolicy-TLS13-1-2-Res-2021-06", []string{"TLSv1.2", "TLSv1.3"}, ciphers(tls13Ciphers, fsGCM)},
	{"ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06", []string{"TLSv1.2", "TLSv1.3"}, ciphers(tls13Ciphers, fsGCM, fsCBC, fsSHA1)},
	{"ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06", []string{"TLSv1.2", "TLSv1.3"}, ciphers(tls13Ciphers, fsGCM, fsCBC, fsSHA1, rsaGCM, rsaCBC, rsaSHA1)},
	{"ELBSecurityPolicy-TLS13-1-1-2021-06", []string{"TLSv1.1", "TLSv1.2", "TLSv1.3"}, ciphers(tls13Ciphers, fsGCM, fsCBC, fsSHA1, rsaGCM, rsaCBC, rsaSHA1)},
	{"ELBSecurityPolicy-TLS13-1-0-2021-06", []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}, ciphers(tls13Ciphers, fsGCM, fsCBC, fsSHA1, rsaGCM, rsaCBC, rsaSHA1)},
	{"ELBSecurityPolicy-TLS13-1-3-2021-06", []string{"TLSv1.3"}, tls13Ciphers},
	{"ELBSecurityPolicy-2016-08", []string{"TLSv1", "TLSv1.1", "TLSv1.2"}, ciphers(fsGCM, fsCBC, fsSHA1, rsaGCM, rsaCBC, rsaSHA1)},
	{"ELBSecurityPolicy-TLS-1-2-2017-01", []string{"TLSv1.2"}, ciphers(fsGCM, fsCBC, rsaGCM, rsaCBC)},
	{"ELBSecurityPolicy-TLS-1-2-Ext-2018-06", []string{"TLSv1.2"}, ciphers(fsGCM, fsCBC, fsSHA1, rsaGCM, rsaCBC, rsaSHA1)},
	{"ELBSecurityPolicy-TLS-1-1-2017-01", []string{"TLSv1.1", "TLSv1.2"}, ciphers(fsGCM, fsCBC, fsSHA1, rsaGCM, rsaCBC, rsaSHA1)},
	{"ELBSecurityPolicy-FS-2018-06", []string{"TLSv1", "TLSv1.1", "TLSv1.2"}, ciphers(fsGCM, fsCBC, fsSHA1)},
	{"ELBSecurityPolicy-FS-1-1-2019-08", []string{"TLSv1.1", "TLSv1.2"}, ciphers(fsGCM, fsCBC, fsSHA1)},
	{"ELBSecurityPolicy-FS-1-2-2019-08", []string{"TLSv1.2"}, ciphers(fsGCM, fsCBC, fsSHA1)},
	{"ELBSecurityPolicy-FS-1-2-Res-2019-08", []string{"TLSv1.2"}, ciphers(fsGCM, fsCBC)},
	{"ELBSecurityPolicy-FS-1-2-Res-2020-10", []string{"TLSv1.2"}, fsGCM},
	{"ELBSecurityPolicy-2015-05", []string{"TLSv1", "TLSv1.1", "TLSv1.2"}, ciphers(fsGCM, fsCBC, fsSHA1, rsaGCM, rsaCBC, rsaSHA1)},
	{"ELBSecurityPolicy-TLS-1-0-2015-04", []string{"TLSv1", "TLSv1.1", "TLSv1.2"}, ciphers(fsGCM, fsCBC, fsSHA1, rsaGCM, rsaCBC, rsaSHA1, []string{"DES-CBC3-SHA"})},
}

// findSSLPolicy returns a predefined policy by name, or nil.
func findSSLPolicy(name string) *api.SslPolicy {
	for _, p := range sslPolicies {
		if p.name == name {
			out := api.SslPolicy{Name: ptr(p.name), SslProtocols: slices.Clone(p.protocols),
				SupportedLoadBalancerTypes: []string{"application", "network"}}
			for i, c := range p.ciphers {
				out.Ciphers = append(out.Ciphers, api.Cipher{Name: ptr(c), Priority: ptr(int32(i + 1))})
			}
			return &out
		}
	}
	return nil
}

// DescribeSSLPolicies lists the predefined security policies, or those
// named.
func (s *Service) DescribeSSLPolicies(ctx context.Context, in *api.DescribeSSLPoliciesInput) (*api.DescribeSSLPoliciesOutput, error) {
	var all []api.SslPolicy
	if len(in.Names) > 0 {
		for _, n := range in.Names {
			p := findSSLPolicy(n)
			if p == nil {
				return nil, apiErr("SSLPolicyNotFound", "One or more of the specified SSL policies could not be found")
			}
			all = append(all, *p)
		}
	} else {
		for _, p := range sslPolicies {
			all = append(all, *findSSLPolicy(p.name))
		}
	}
	pg, next, err := page.ByKey(all, func(p api.SslPolicy) string { return *p.Name }, str(in.Marker), int(deref(in.PageSize)), 0, 400)
	if err != nil {
		return nil, badMarker()
	}
	out := &api.DescribeSSLPoliciesOutput{SslPolicies: pg}
	if next != "" {
		out.NextMarker = ptr(next)
	}
	return out, nil
}
