package cloudwatch

import (
	"fmt"
	"net/http"

	"github.com/nephele-dev/nephele/internal/awserr"
)

// The error constructors below carry CloudWatch's query-compatible codes
// (the model's awsQueryError codes), which every protocol reports: the
// JSON and CBOR codecs also send them in x-amzn-query-error, as AWS does.

// invalidValue is InvalidParameterValue (400).
func invalidValue(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "InvalidParameterValue", format, args...)
}

// invalidCombination is InvalidParameterCombination (400): parameters that
// are each valid but not together.
func invalidCombination(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "InvalidParameterCombination", format, args...)
}

// missing is MissingParameter (400).
func missing(param string) error {
	return awserr.New(http.StatusBadRequest, "MissingParameter", "The parameter %s is required.", param)
}

// notFound is ResourceNotFound (404).
func notFound(format string, args ...any) error {
	return awserr.New(http.StatusNotFound, "ResourceNotFound", format, args...)
}

// resourceNotFoundException is ResourceNotFoundException (404), the
// tagging operations' not-found error.
func resourceNotFoundException(format string, args ...any) error {
	return awserr.New(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

// limitExceeded is LimitExceeded (400).
func limitExceeded(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "LimitExceeded", format, args...)
}

// badToken is InvalidNextToken (400).
func badToken() error {
	return awserr.New(http.StatusBadRequest, "InvalidNextToken", "The service cannot process the NextToken.")
}

// validation is ValidationError (400), what CloudWatch answers for rules
// the model does not express, such as a malformed metric math expression.
func validation(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "ValidationError", format, args...)
}

// dashboardInvalid is InvalidParameterInput (400), the dashboard
// operations' validation error.
func dashboardInvalid(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "InvalidParameterInput", format, args...)
}

// member names the Nth (1-based) member of a list parameter the way
// CloudWatch's messages do: MetricData.member.3.
func member(list string, i int) string { return fmt.Sprintf("%s.member.%d", list, i+1) }

// awserrInvalidFormat is InvalidFormat (400): a parameter that must be
// JSON is not.
func awserrInvalidFormat(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "InvalidFormat", format, args...)
}
