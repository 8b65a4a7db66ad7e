package gateway

import (
	"github.com/nephele-dev/nephele/internal/api/autoscaling"
	"github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/api/logs"
	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/api/sts"
)

// Spec is what the gateway knows of a service before any request: enough to
// route without parsing its model, so start-up stays cheap. A test checks
// these facts against the models.
type Spec struct {
	// SigningName is the service in the SigV4 credential scope.
	SigningName string
	// TargetPrefix is the X-Amz-Target prefix of the JSON protocols.
	TargetPrefix string
	// APIVersion is the query protocols' Version parameter.
	APIVersion string
	// Model parses the service model on first use.
	Model func() *model.Service
	// MaxBody is the largest request body accepted.
	MaxBody int64
	// Validation builds the service's error for input that breaks the model.
	Validation func(vs []violation) error
}

// Catalog lists every service nephele routes, served or not yet.
var Catalog = []Spec{
	{SigningName: "autoscaling", APIVersion: "2011-01-01", Model: autoscaling.Model},
	{SigningName: "monitoring", TargetPrefix: "GraniteServiceVersion20100801", APIVersion: "2010-08-01", Model: cloudwatch.Model},
	{SigningName: "ec2", APIVersion: "2016-11-15", Model: ec2.Model, Validation: ec2Validation},
	{SigningName: "elasticloadbalancing", APIVersion: "2015-12-01", Model: elbv2.Model},
	{SigningName: "iam", APIVersion: "2010-05-08", Model: iam.Model},
	// A function's zip may be 50 MB, base64-encoded in the JSON body.
	{SigningName: "lambda", Model: lambda.Model, MaxBody: 70 << 20, Validation: codedValidation("ValidationException")},
	{SigningName: "logs", TargetPrefix: "Logs_20140328", Model: logs.Model, Validation: codedValidation("InvalidParameterException")},
	{SigningName: "sts", APIVersion: "2011-06-15", Model: sts.Model},
}
