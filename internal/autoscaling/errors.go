package autoscaling

import (
	"net/http"

	"github.com/nephele-dev/nephele/internal/awserr"
)

// validation is ValidationError (400), Auto Scaling's answer to most bad
// input.
func validation(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "ValidationError", format, args...)
}

// alreadyExists is AlreadyExists (400).
func alreadyExists(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "AlreadyExists", format, args...)
}

// inUse is ResourceInUse (400).
func inUse(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "ResourceInUse", format, args...)
}

// activityInProgress is ScalingActivityInProgress (400).
func activityInProgress(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "ScalingActivityInProgress", format, args...)
}

// badToken is InvalidNextToken (400).
func badToken() error {
	return awserr.New(http.StatusBadRequest, "InvalidNextToken", "The token is invalid.")
}

// awserrLimit is LimitExceeded (400).
func awserrLimit(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "LimitExceeded", format, args...)
}
