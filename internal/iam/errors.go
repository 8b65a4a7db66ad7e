package iam

import (
	"net/http"

	"github.com/nephele-dev/nephele/internal/awserr"
)

// The error constructors below carry IAM's codes and HTTP statuses, from
// the error shapes of the IAM model.

// noSuchEntity is NoSuchEntity (404): the named resource does not exist.
func noSuchEntity(format string, args ...any) error {
	return awserr.New(http.StatusNotFound, "NoSuchEntity", format, args...)
}

// alreadyExists is EntityAlreadyExists (409): names are unique per account.
func alreadyExists(format string, args ...any) error {
	return awserr.New(http.StatusConflict, "EntityAlreadyExists", format, args...)
}

// deleteConflict is DeleteConflict (409): IAM refuses to delete a resource
// that other resources still depend on, rather than cascading.
func deleteConflict(format string, args ...any) error {
	return awserr.New(http.StatusConflict, "DeleteConflict", format, args...)
}

// limitExceeded is LimitExceeded (409): an IAM quota would be exceeded.
func limitExceeded(format string, args ...any) error {
	return awserr.New(http.StatusConflict, "LimitExceeded", format, args...)
}

// quotaExceeded is LimitExceeded in the words IAM uses for its quotas.
func quotaExceeded(quota string, limit int) error {
	return limitExceeded("Cannot exceed quota for %s: %d", quota, limit)
}

// malformedPolicy is MalformedPolicyDocument (400).
func malformedPolicy(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "MalformedPolicyDocument", format, args...)
}

// invalidInput is InvalidInput (400): a value the model allows but IAM's
// rules do not.
func invalidInput(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "InvalidInput", format, args...)
}

// accessDenied is AccessDenied (403), what IAM answers for changes to AWS
// managed policies, which belong to AWS and not to the caller's account.
func accessDenied(format string, args ...any) error {
	return awserr.New(http.StatusForbidden, "AccessDenied", format, args...)
}
