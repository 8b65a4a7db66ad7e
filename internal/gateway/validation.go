package gateway

import (
	"net/http"

	"github.com/nephele-dev/nephele/internal/api/validate"
	"github.com/nephele-dev/nephele/internal/awserr"
)

type violation = validate.Violation

// codedValidation answers broken model constraints the Coral way that the
// query and JSON services share, under the service's own error code.
func codedValidation(code string) func([]violation) error {
	return func(vs []violation) error {
		return awserr.New(http.StatusBadRequest, code, "%s", validate.Message(vs))
	}
}

// defaultValidation is what the query-protocol services answer.
var defaultValidation = codedValidation("ValidationError")

// ec2Validation follows EC2, which reports one problem at a time: a missing
// required parameter as MissingParameter, anything else as
// InvalidParameterValue.
func ec2Validation(vs []violation) error {
	v := vs[0]
	if v.Missing {
		return awserr.BadRequest("MissingParameter", "The request must contain the parameter %s", v.Member)
	}
	return awserr.BadRequest("InvalidParameterValue", "Value %s for parameter %s is invalid. %s", v.Value, v.Member, v.Constraint)
}
