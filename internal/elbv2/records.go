package elbv2

import (
	"errors"
	"fmt"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/store"
)

// Buckets. Load balancers and target groups are keyed by
// account/region/name, listeners and rules by account/region/ARN (a rule's
// ARN starts with its listener's path, so one prefix scan finds a
// listener's rules), tags by account/region/ARN of the tagged resource.
// Addresses are keyed by the loopback address alone: the loopback network
// is one for every account and region.
const (
	bucketLoadBalancers = "elbv2-load-balancers"
	bucketTargetGroups  = "elbv2-target-groups"
	bucketListeners     = "elbv2-listeners"
	bucketRules         = "elbv2-rules"
	bucketTags          = "elbv2-tags"
	bucketAddresses     = "elbv2-addresses"
)

// lbRecord is a stored load balancer.
type lbRecord struct {
	ARN            string            `json:"arn"`
	Name           string            `json:"name"`
	Type           string            `json:"type"` // application | network
	Scheme         string            `json:"scheme"`
	IPAddressType  string            `json:"ipAddressType"`
	VpcID          string            `json:"vpcId"`
	DNSName        string            `json:"dnsName"`
	IP             string            `json:"ip"`
	Created        time.Time         `json:"created"`
	Zones          []zoneRecord      `json:"zones"`
	SecurityGroups []string          `json:"securityGroups,omitempty"`
	Attributes     map[string]string `json:"attributes,omitempty"`
	// CapacityUnits is the minimum capacity reserved (0 for none), and
	// CapacityModified when it last changed.
	CapacityUnits    int32     `json:"capacityUnits,omitempty"`
	CapacityModified time.Time `json:"capacityModified,omitempty"`
}

// zoneRecord is an enabled Availability Zone and its subnet.
type zoneRecord struct {
	Zone   string `json:"zone"`
	ZoneID string `json:"zoneId,omitempty"`
	Subnet string `json:"subnet"`
}

// tgRecord is a stored target group.
type tgRecord struct {
	ARN             string            `json:"arn"`
	Name            string            `json:"name"`
	Protocol        string            `json:"protocol,omitempty"`
	ProtocolVersion string            `json:"protocolVersion,omitempty"`
	Port            int32             `json:"port,omitempty"`
	VpcID           string            `json:"vpcId,omitempty"`
	TargetType      string            `json:"targetType"`
	IPAddressType   string            `json:"ipAddressType,omitempty"`
	HealthCheck     healthCheck       `json:"healthCheck"`
	Attributes      map[string]string `json:"attributes,omitempty"`
	Targets         []targetRecord    `json:"targets,omitempty"`
	Created         time.Time         `json:"created"`
}

// healthCheck is a target group's health check settings, defaults
// resolved.
type healthCheck struct {
	Enabled   bool   `json:"enabled"`
	Protocol  string `json:"protocol,omitempty"`
	Port      string `json:"port,omitempty"`
	Path      string `json:"path,omitempty"`
	Interval  int32  `json:"interval"`
	Timeout   int32  `json:"timeout"`
	Healthy   int32  `json:"healthy"`
	Unhealthy int32  `json:"unhealthy"`
	HTTPCode  string `json:"httpCode,omitempty"`
	GrpcCode  string `json:"grpcCode,omitempty"`
}

// targetRecord is a registered target.
type targetRecord struct {
	ID   string `json:"id"`
	Port int32  `json:"port"`
	// AZ is the Availability Zone given at registration (IP targets
	// outside the VPC, "all"), else empty: instance zones come from EC2.
	AZ string `json:"az,omitempty"`
}

// listenerRecord is a stored listener; its default actions are its
// default rule's.
type listenerRecord struct {
	ARN            string            `json:"arn"`
	LoadBalancer   string            `json:"loadBalancer"`
	Protocol       string            `json:"protocol"`
	Port           int32             `json:"port"`
	SslPolicy      string            `json:"sslPolicy,omitempty"`
	Certificate    string            `json:"certificate,omitempty"`
	ExtraCerts     []string          `json:"extraCerts,omitempty"`
	AlpnPolicy     []string          `json:"alpnPolicy,omitempty"`
	DefaultActions []api.Action      `json:"defaultActions"`
	DefaultRule    string            `json:"defaultRule"`
	Attributes     map[string]string `json:"attributes,omitempty"`
}

// ruleRecord is a stored non-default listener rule.
type ruleRecord struct {
	ARN        string              `json:"arn"`
	Listener   string              `json:"listener"`
	Priority   int                 `json:"priority"`
	Conditions []api.RuleCondition `json:"conditions"`
	Actions    []api.Action        `json:"actions"`
}

// resourceID is the last path element of an ELB ARN, the 16 hex digits
// that follow the name.
func resourceID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// resourcePath is an ELB ARN's resource part: "loadbalancer/app/NAME/ID",
// "listener/app/NAME/LBID/ID", "targetgroup/NAME/ID".
func resourcePath(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[5]
}

// lbNameOf returns the name inside a load balancer, listener or rule ARN.
func lbNameOf(arn string) string {
	p := strings.Split(resourcePath(arn), "/")
	if len(p) < 4 {
		return ""
	}
	return p[2]
}

// tgNameOf returns the name inside a target group ARN.
func tgNameOf(arn string) string {
	p := strings.Split(resourcePath(arn), "/")
	if len(p) != 3 || p[0] != "targetgroup" {
		return ""
	}
	return p[1]
}

// lbDimension is a load balancer's CloudWatch LoadBalancer dimension,
// "app/NAME/ID", and also the path its listeners' ARNs continue.
func lbDimension(arn string) string {
	return strings.TrimPrefix(resourcePath(arn), "loadbalancer/")
}

// tgDimension is a target group's TargetGroup dimension,
// "targetgroup/NAME/ID".
func tgDimension(arn string) string { return resourcePath(arn) }

// listenerPrefix is the ARN prefix of a load balancer's listeners.
func listenerPrefix(lbARN string) string {
	i := strings.Index(lbARN, ":loadbalancer/")
	return lbARN[:i] + ":listener/" + lbDimension(lbARN) + "/"
}

// rulePrefix is the ARN prefix of a listener's rules.
func rulePrefix(listenerARN string) string {
	return strings.Replace(listenerARN, ":listener/", ":listener-rule/", 1) + "/"
}

// loadLB reads a load balancer by ARN.
func loadLB(tx store.Tx, sc scope, arn string) (lbRecord, error) {
	var lb lbRecord
	name := lbNameOf(arn)
	if name == "" || !strings.Contains(arn, ":loadbalancer/") {
		return lb, validation("'%s' is not a valid load balancer ARN", arn)
	}
	err := tx.Get(bucketLoadBalancers, sc.Key(name), &lb)
	if errors.Is(err, store.ErrNotFound) || (err == nil && lb.ARN != arn) {
		return lb, lbNotFound()
	}
	return lb, err
}

// loadTG reads a target group by ARN.
func loadTG(tx store.Tx, sc scope, arn string) (tgRecord, error) {
	var tg tgRecord
	name := tgNameOf(arn)
	if name == "" {
		return tg, validation("'%s' is not a valid target group ARN", arn)
	}
	err := tx.Get(bucketTargetGroups, sc.Key(name), &tg)
	if errors.Is(err, store.ErrNotFound) || (err == nil && tg.ARN != arn) {
		return tg, tgNotFound()
	}
	return tg, err
}

// loadListener reads a listener by ARN.
func loadListener(tx store.Tx, sc scope, arn string) (listenerRecord, error) {
	var l listenerRecord
	if !strings.Contains(arn, ":listener/") {
		return l, validation("'%s' is not a valid listener ARN", arn)
	}
	err := tx.Get(bucketListeners, sc.Key(arn), &l)
	if errors.Is(err, store.ErrNotFound) {
		return l, listenerNotFound()
	}
	return l, err
}

// allOf reads every record of a bucket under prefix.
func allOf[T any](tx store.Tx, bucket, prefix string) ([]T, error) {
	var out []T
	err := tx.ForEach(bucket, prefix, func(_ string, decode func(any) error) error {
		var v T
		if err := decode(&v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// listenersOf reads a load balancer's listeners, in ARN order.
func listenersOf(tx store.Tx, sc scope, lbARN string) ([]listenerRecord, error) {
	return allOf[listenerRecord](tx, bucketListeners, sc.Key(listenerPrefix(lbARN)))
}

// rulesOf reads a listener's non-default rules, in ARN order.
func rulesOf(tx store.Tx, sc scope, listenerARN string) ([]ruleRecord, error) {
	return allOf[ruleRecord](tx, bucketRules, sc.Key(rulePrefix(listenerARN)))
}

// usage maps each target group ARN to the load balancers whose listeners
// or rules forward to it, in one scope.
func usage(tx store.Tx, sc scope) (map[string][]string, error) {
	out := map[string][]string{}
	add := func(tg, lb string) {
		for _, x := range out[tg] {
			if x == lb {
				return
			}
		}
		out[tg] = append(out[tg], lb)
	}
	ls, err := allOf[listenerRecord](tx, bucketListeners, sc.Prefix())
	if err != nil {
		return nil, err
	}
	lbOf := map[string]string{}
	for _, l := range ls {
		lbOf[l.ARN] = l.LoadBalancer
		for _, tg := range actionGroups(l.DefaultActions) {
			add(tg, l.LoadBalancer)
		}
	}
	rs, err := allOf[ruleRecord](tx, bucketRules, sc.Prefix())
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		for _, tg := range actionGroups(r.Actions) {
			add(tg, lbOf[r.Listener])
		}
	}
	return out, nil
}

// actionGroups lists the target groups actions forward to.
func actionGroups(actions []api.Action) []string {
	var out []string
	for _, a := range actions {
		if a.ForwardConfig != nil {
			for _, t := range a.ForwardConfig.TargetGroups {
				out = append(out, str(t.TargetGroupArn))
			}
		} else if a.TargetGroupArn != nil {
			out = append(out, *a.TargetGroupArn)
		}
	}
	return out
}

// deleteTags drops a resource's tags.
func deleteTags(tx store.Tx, sc scope, arn string) error {
	return tx.Delete(bucketTags, sc.Key(arn))
}

// errf is fmt.Errorf, for internal errors.
var errf = fmt.Errorf
