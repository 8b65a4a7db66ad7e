// Package metrics is how services publish their built-in CloudWatch
// metrics (AWS/EC2 CPUUtilization, AWS/ApplicationELB RequestCount, ...)
// without importing the CloudWatch service: a publisher holds a Sink, and
// main wires CloudWatch in as the Sink.
package metrics

import (
	"context"
	"time"
)

// Datum is one data point of a metric.
type Datum struct {
	// Namespace is the metric's namespace, e.g. "AWS/EC2".
	Namespace string
	// Name is the metric's name, e.g. "CPUUtilization".
	Name string
	// Dimensions identify the series, e.g. {"InstanceId": "i-..."}.
	Dimensions map[string]string
	// Unit is a CloudWatch unit name, e.g. "Percent", "Count", "Bytes".
	Unit string
	// Value is the point's value.
	Value float64
	// Timestamp is when the value was measured, on the simulated clock.
	Timestamp time.Time
	// StorageResolution is 1 for a high-resolution metric, else 60.
	StorageResolution int
}

// Sink receives data points for one account and region.
type Sink interface {
	Publish(ctx context.Context, account, region string, data []Datum) error
}

// Discard is a Sink that drops everything: what publishers use until a
// metrics service is wired in.
var Discard Sink = discard{}

type discard struct{}

func (discard) Publish(context.Context, string, string, []Datum) error { return nil }
