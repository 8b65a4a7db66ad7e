package elbv2

import (
	"net/http"

	"github.com/nephele-dev/nephele/internal/awserr"
)

// The errors of the Elastic Load Balancing v2 API, with the codes and HTTP
// statuses of the AWS model (every one a 400 sender fault).

func apiErr(code, format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, code, format, args...)
}

// validation is ValidationError, the answer to most malformed input.
func validation(format string, args ...any) error { return apiErr("ValidationError", format, args...) }

// invalidConfig is InvalidConfigurationRequest.
func invalidConfig(format string, args ...any) error {
	return apiErr("InvalidConfigurationRequest", format, args...)
}

func lbNotFound() error {
	return apiErr("LoadBalancerNotFound", "One or more load balancers not found")
}

func tgNotFound() error { return apiErr("TargetGroupNotFound", "One or more target groups not found") }

func tgARNsNotFound(arn string) error {
	return apiErr("TargetGroupNotFound", "Target groups '%s' not found", arn)
}

func listenerNotFound() error { return apiErr("ListenerNotFound", "One or more listeners not found") }

func ruleNotFound() error { return apiErr("RuleNotFound", "One or more rules not found") }

func invalidTarget(format string, args ...any) error { return apiErr("InvalidTarget", format, args...) }

func notPermitted(format string, args ...any) error {
	return apiErr("OperationNotPermitted", format, args...)
}

func inUse(format string, args ...any) error { return apiErr("ResourceInUse", format, args...) }

func priorityInUse(p int) error {
	return apiErr("PriorityInUse", "Priority '%d' is currently in use", p)
}

func incompatible(format string, args ...any) error {
	return apiErr("IncompatibleProtocols", format, args...)
}

func invalidAction(format string, args ...any) error {
	return apiErr("InvalidLoadBalancerAction", format, args...)
}

func badMarker() error { return validation("Invalid value for parameter Marker") }
