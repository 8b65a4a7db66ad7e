// Package arn builds and parses Amazon Resource Names,
// arn:partition:service:region:account-id:resource, as described in the IAM
// User Guide's "IAM identifiers" and the AWS General Reference's "Amazon
// Resource Names (ARNs)".
package arn

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error Parse returns, so callers can map any
// malformed ARN to their service's own validation error with errors.Is.
var ErrInvalid = errors.New("invalid ARN")

// ARN is a parsed Amazon Resource Name. Region and AccountID are empty for
// global or account-less resources (IAM roles have no region; S3 buckets
// have neither).
type ARN struct {
	// Partition is "aws", "aws-cn", "aws-us-gov", ...
	Partition string
	// Service is the service namespace, e.g. "ec2", "iam", "autoscaling".
	Service string
	// Region is the region code, e.g. "us-east-1", or empty.
	Region string
	// AccountID is the 12-digit owner account, or empty.
	AccountID string
	// Resource is everything after the fifth colon; it may itself contain
	// ':' and '/' (e.g. "role/path/name" or
	// "autoScalingGroup:uuid:autoScalingGroupName/name").
	Resource string
}

// String renders the ARN in its canonical colon-separated form.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.AccountID + ":" + a.Resource
}

// Parse splits s into its fields. The partition, service and resource must
// be non-empty; region and account may be empty.
func Parse(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 {
		return ARN{}, fmt.Errorf("%w %q: want arn:partition:service:region:account-id:resource", ErrInvalid, s)
	}
	if parts[0] != "arn" {
		return ARN{}, fmt.Errorf("%w %q: does not start with \"arn:\"", ErrInvalid, s)
	}
	a := ARN{Partition: parts[1], Service: parts[2], Region: parts[3], AccountID: parts[4], Resource: parts[5]}
	switch {
	case a.Partition == "":
		return ARN{}, fmt.Errorf("%w %q: empty partition", ErrInvalid, s)
	case a.Service == "":
		return ARN{}, fmt.Errorf("%w %q: empty service", ErrInvalid, s)
	case a.Resource == "":
		return ARN{}, fmt.Errorf("%w %q: empty resource", ErrInvalid, s)
	}
	return a, nil
}

// Partition returns the partition that region belongs to: "aws-cn" for the
// China regions (cn-*), "aws-us-gov" for GovCloud (us-gov-*), the ISO
// partitions for their regions, and "aws" for everything else.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-isof-"):
		return "aws-iso-f"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "eu-isoe-"):
		return "aws-iso-e"
	}
	return "aws"
}
