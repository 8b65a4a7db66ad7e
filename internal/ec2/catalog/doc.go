// Package catalog is the static data EC2 serves: Regions and Availability
// Zones, instance types and where they are offered, the public AMIs of
// Amazon Linux, Ubuntu and Debian with the SSM public parameters that name
// the latest of each, and synthetic Spot prices.
//
// Everything here is pure: functions of their arguments over data embedded
// in the binary, parsed on first use so start-up stays fast. Every call
// returns fresh values, so callers may modify what they get.
//
// The instance type figures and offerings are AWS's own, from the snapshot
// of DescribeInstanceTypes and DescribeInstanceTypeOfferings answers that the
// moto package ships, kept for a set of popular families by `go generate`
// (see gen/main.go). AMIs are a hand-written catalogue of real name patterns
// and releases (images.go); prices are estimates (prices.go).
package catalog

//go:generate go run ./gen
