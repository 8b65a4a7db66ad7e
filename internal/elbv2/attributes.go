package elbv2

import (
	"maps"
	"slices"
	"strconv"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
)

// Attribute defaults, as DescribeLoadBalancerAttributes,
// DescribeTargetGroupAttributes and DescribeListenerAttributes report them
// for a new resource (see LoadBalancerAttribute, TargetGroupAttribute and
// ListenerAttribute in the API reference). Records keep only what was
// modified; a describe merges it over these.

// lbDefaults are a new load balancer's attributes.
func lbDefaults(lbType, scheme string) map[string]string {
	common := map[string]string{
		"access_logs.s3.enabled":      "false",
		"access_logs.s3.bucket":       "",
		"access_logs.s3.prefix":       "",
		"deletion_protection.enabled": "false",
		"zonal_shift.config.enabled":  "false",
		"ipv6.deny_all_igw_traffic":   strconv.FormatBool(scheme == "internal"),
	}
	if lbType == "network" {
		common["load_balancing.cross_zone.enabled"] = "false"
		common["dns_record.client_routing_policy"] = "any_availability_zone"
		common["secondary_ips.auto_assigned.per_subnet"] = "0"
		return common
	}
	maps.Copy(common, map[string]string{
		"load_balancing.cross_zone.enabled":                        "true",
		"idle_timeout.timeout_seconds":                             "60",
		"client_keep_alive.seconds":                                "3600",
		"connection_logs.s3.enabled":                               "false",
		"connection_logs.s3.bucket":                                "",
		"connection_logs.s3.prefix":                                "",
		"health_check_logs.s3.enabled":                             "false",
		"health_check_logs.s3.bucket":                              "",
		"health_check_logs.s3.prefix":                              "",
		"routing.http.desync_mitigation_mode":                      "defensive",
		"routing.http.drop_invalid_header_fields.enabled":          "false",
		"routing.http.preserve_host_header.enabled":                "false",
		"routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
		"routing.http.xff_client_port.enabled":                     "false",
		"routing.http.xff_header_processing.mode":                  "append",
		"routing.http2.enabled":                                    "true",
		"waf.fail_open.enabled":                                    "false",
	})
	return common
}

// tgDefaults are a new target group's attributes: they differ for Lambda
// targets, for ALB (HTTP/HTTPS) and for NLB (TCP, TLS, UDP, TCP_UDP)
// target groups.
func tgDefaults(protocol, targetType string) map[string]string {
	if targetType == "lambda" {
		return map[string]string{"lambda.multi_value_headers.enabled": "false"}
	}
	common := map[string]string{
		"deregistration_delay.timeout_seconds":                                           "300",
		"stickiness.enabled":                                                             "false",
		"load_balancing.cross_zone.enabled":                                              "use_load_balancer_configuration",
		"target_group_health.dns_failover.minimum_healthy_targets.count":                 "1",
		"target_group_health.dns_failover.minimum_healthy_targets.percentage":            "off",
		"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      "1",
		"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
	}
	if isALBProtocol(protocol) {
		maps.Copy(common, map[string]string{
			"stickiness.type":                             "lb_cookie",
			"stickiness.lb_cookie.duration_seconds":       "86400",
			"stickiness.app_cookie.cookie_name":           "",
			"stickiness.app_cookie.duration_seconds":      "86400",
			"slow_start.duration_seconds":                 "0",
			"load_balancing.algorithm.type":               "round_robin",
			"load_balancing.algorithm.anomaly_mitigation": "off",
		})
		return common
	}
	udp := protocol == "UDP" || protocol == "TCP_UDP"
	preserve := !(targetType == "ip" && (protocol == "TCP" || protocol == "TLS"))
	maps.Copy(common, map[string]string{
		"stickiness.type": "source_ip",
		"deregistration_delay.connection_termination.enabled":          strconv.FormatBool(udp),
		"preserve_client_ip.enabled":                                   strconv.FormatBool(preserve),
		"proxy_protocol_v2.enabled":                                    "false",
		"target_health_state.unhealthy.connection_termination.enabled": strconv.FormatBool(!udp),
		"target_health_state.unhealthy.draining_interval_seconds":      "0",
	})
	return common
}

// listenerDefaults are a new listener's attributes.
func listenerDefaults(protocol string) map[string]string {
	switch protocol {
	case "HTTP", "HTTPS":
		out := map[string]string{
			"routing.http.response.server.enabled":                                "true",
			"routing.http.response.strict_transport_security.header_value":        "",
			"routing.http.response.access_control_allow_origin.header_value":      "",
			"routing.http.response.access_control_allow_methods.header_value":     "",
			"routing.http.response.access_control_allow_headers.header_value":     "",
			"routing.http.response.access_control_allow_credentials.header_value": "",
			"routing.http.response.access_control_expose_headers.header_value":    "",
			"routing.http.response.access_control_max_age.header_value":           "",
			"routing.http.response.content_security_policy.header_value":          "",
			"routing.http.response.x_content_type_options.header_value":           "",
			"routing.http.response.x_frame_options.header_value":                  "",
		}
		if protocol == "HTTPS" {
			for _, h := range []string{"serial_number", "issuer", "subject", "validity", "leaf"} {
				out["routing.http.request.x_amzn_mtls_clientcert_"+h+".header_name"] = ""
			}
			out["routing.http.request.x_amzn_mtls_clientcert.header_name"] = ""
			out["routing.http.request.x_amzn_tls_version.header_name"] = ""
			out["routing.http.request.x_amzn_tls_cipher_suite.header_name"] = ""
		}
		return out
	case "TCP", "TLS":
		return map[string]string{"tcp.idle_timeout.seconds": "350"}
	}
	return map[string]string{}
}

// merged is defaults overlaid with what was set.
func merged(defaults, set map[string]string) map[string]string {
	out := maps.Clone(defaults)
	maps.Copy(out, set)
	return out
}

// attrList renders attributes in key order, as AWS lists them stably.
func attrList[T any](attrs map[string]string, mk func(k, v string) T) []T {
	out := make([]T, 0, len(attrs))
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		out = append(out, mk(k, attrs[k]))
	}
	return out
}

func lbAttr(k, v string) api.LoadBalancerAttribute {
	return api.LoadBalancerAttribute{Key: ptr(k), Value: ptr(v)}
}

func tgAttr(k, v string) api.TargetGroupAttribute {
	return api.TargetGroupAttribute{Key: ptr(k), Value: ptr(v)}
}

func listenerAttr(k, v string) api.ListenerAttribute {
	return api.ListenerAttribute{Key: ptr(k), Value: ptr(v)}
}

// attrRule checks one attribute value.
type attrRule func(v string) bool

func boolRule(v string) bool { return v == "true" || v == "false" }

func intRule(lo, hi int) attrRule {
	return func(v string) bool {
		n, err := strconv.Atoi(v)
		return err == nil && n >= lo && n <= hi
	}
}

func oneOf(vals ...string) attrRule {
	return func(v string) bool { return slices.Contains(vals, v) }
}

func anyValue(string) bool { return true }

// offOrInt accepts "off" or an integer in range.
func offOrInt(lo, hi int) attrRule {
	return func(v string) bool { return v == "off" || intRule(lo, hi)(v) }
}

// attrRules are the checks on modified attribute values, for the keys
// named in the API reference; a key not in the defaults of the resource
// is refused.
var attrRules = map[string]attrRule{
	"deletion_protection.enabled":                              boolRule,
	"access_logs.s3.enabled":                                   boolRule,
	"connection_logs.s3.enabled":                               boolRule,
	"health_check_logs.s3.enabled":                             boolRule,
	"zonal_shift.config.enabled":                               boolRule,
	"ipv6.deny_all_igw_traffic":                                boolRule,
	"idle_timeout.timeout_seconds":                             intRule(1, 4000),
	"client_keep_alive.seconds":                                intRule(60, 604800),
	"routing.http.desync_mitigation_mode":                      oneOf("monitor", "defensive", "strictest"),
	"routing.http.drop_invalid_header_fields.enabled":          boolRule,
	"routing.http.preserve_host_header.enabled":                boolRule,
	"routing.http.x_amzn_tls_version_and_cipher_suite.enabled": boolRule,
	"routing.http.xff_client_port.enabled":                     boolRule,
	"routing.http.xff_header_processing.mode":                  oneOf("append", "preserve", "remove"),
	"routing.http2.enabled":                                    boolRule,
	"waf.fail_open.enabled":                                    boolRule,
	"dns_record.client_routing_policy":                         oneOf("availability_zone_affinity", "partial_availability_zone_affinity", "any_availability_zone"),
	"secondary_ips.auto_assigned.per_subnet":                   intRule(0, 7),

	"deregistration_delay.timeout_seconds":                                           intRule(0, 3600),
	"stickiness.enabled":                                                             boolRule,
	"stickiness.lb_cookie.duration_seconds":                                          intRule(1, 604800),
	"stickiness.app_cookie.duration_seconds":                                         intRule(1, 604800),
	"slow_start.duration_seconds":                                                    func(v string) bool { return v == "0" || intRule(30, 900)(v) },
	"load_balancing.algorithm.type":                                                  oneOf("round_robin", "least_outstanding_requests", "weighted_random"),
	"load_balancing.algorithm.anomaly_mitigation":                                    oneOf("on", "off"),
	"target_group_health.dns_failover.minimum_healthy_targets.count":                 offOrInt(1, 1<<30),
	"target_group_health.dns_failover.minimum_healthy_targets.percentage":            offOrInt(1, 100),
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      intRule(1, 1<<30),
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": offOrInt(1, 100),
	"lambda.multi_value_headers.enabled":                                             boolRule,
	"deregistration_delay.connection_termination.enabled":                            boolRule,
	"preserve_client_ip.enabled":                                                     boolRule,
	"proxy_protocol_v2.enabled":                                                      boolRule,
	"target_health_state.unhealthy.connection_termination.enabled":                   boolRule,
	"target_health_state.unhealthy.draining_interval_seconds":                        intRule(0, 360000),
	"load_balancing.cross_zone.enabled":                                              oneOf("true", "false", "use_load_balancer_configuration"),
	"tcp.idle_timeout.seconds":                                                       intRule(60, 6000),
	"routing.http.response.server.enabled":                                           boolRule,
}

// applyAttrs validates changes against the resource's defaults and returns
// the record's new set of modified attributes.
func applyAttrs(defaults, set map[string]string, changes map[string]string) (map[string]string, error) {
	out := maps.Clone(set)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range slices.Sorted(maps.Keys(changes)) {
		v := changes[k]
		if _, ok := defaults[k]; !ok {
			return nil, validation("Attribute '%s' is not supported", k)
		}
		rule := attrRules[k]
		if rule == nil {
			rule = anyValue
		}
		if !rule(v) {
			return nil, validation("Attribute '%s' cannot have value '%s'", k, v)
		}
		out[k] = v
	}
	return out, nil
}
