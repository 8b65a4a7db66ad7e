package lambda

import (
	"net/http"

	"github.com/nephele-dev/nephele/internal/awserr"
)

// The error constructors below carry Lambda's codes and statuses, from the
// error shapes of its model, and AWS's wording where it is known.

// invalidParameter is InvalidParameterValueException: a value the model
// allows but Lambda's rules do not.
func invalidParameter(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

// functionNotFound is ResourceNotFoundException for a function or one of
// its versions, named by its (qualified) ARN as Lambda names it.
func functionNotFound(arn string) error {
	return awserr.New(http.StatusNotFound, "ResourceNotFoundException", "Function not found: %s", arn)
}

// aliasNotFound is ResourceNotFoundException for an alias.
func aliasNotFound(arn string) error {
	return awserr.New(http.StatusNotFound, "ResourceNotFoundException", "Cannot find alias arn: %s", arn)
}

// notFound is ResourceNotFoundException with a message of its own.
func notFound(format string, args ...any) error {
	return awserr.New(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

// conflict is ResourceConflictException (409): a duplicate, or a resource
// whose state forbids the operation for now.
func conflict(format string, args ...any) error {
	return awserr.New(http.StatusConflict, "ResourceConflictException", format, args...)
}

// updateInProgress is the ResourceConflictException Lambda answers a
// change to a function whose last update has not finished.
func updateInProgress(arn string) error {
	return conflict("The operation cannot be performed at this time. An update is in progress for resource: %s", arn)
}

// pendingFunction is the ResourceConflictException for a function still
// being created.
func pendingFunction() error {
	return conflict("The operation cannot be performed at this time. The function is currently in the following state: Pending")
}

// preconditionFailed is PreconditionFailedException (412): a RevisionId or
// CodeSha256 that is not the current one.
func preconditionFailed(msg string) error {
	return awserr.New(http.StatusPreconditionFailed, "PreconditionFailedException", "%s", msg)
}

// revisionMismatch is the PreconditionFailedException of a stale RevisionId.
func revisionMismatch() error {
	return preconditionFailed("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
}

// tooManyRequests is TooManyRequestsException (429), Lambda's throttle,
// with its Reason: ReservedFunctionConcurrentInvocationLimitExceeded or
// ConcurrentInvocationLimitExceeded.
func tooManyRequests(reason string) error {
	e := awserr.New(http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.")
	e.Fields = map[string]string{"Reason": reason}
	return e
}

// requestTooLarge is RequestTooLargeException (413) for an invoke payload
// over the limit of its invocation type.
func requestTooLarge(limit int) error {
	return awserr.New(http.StatusRequestEntityTooLarge, "RequestTooLargeException",
		"Request must be smaller than %d bytes for the InvokeFunction operation", limit)
}

// entityTooLarge is the 413 of a deployment package over the direct
// upload limit.
func entityTooLarge(op string) error {
	return awserr.New(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException",
		"Request must be smaller than 69905067 bytes for the %s operation", op)
}

// invalidContent is InvalidRequestContentException: a payload that is not
// JSON.
func invalidContent(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "InvalidRequestContentException", format, args...)
}

// provisionedNotFound is ProvisionedConcurrencyConfigNotFoundException.
func provisionedNotFound(arn string) error {
	return awserr.New(http.StatusNotFound, "ProvisionedConcurrencyConfigNotFoundException",
		"No Provisioned Concurrency Config found for this function")
}

// serviceError is ServiceException (500) for a failure of nephele itself
// while running a function, such as a missing interpreter.
func serviceError(format string, args ...any) error {
	e := awserr.New(http.StatusInternalServerError, "ServiceException", format, args...)
	e.Receiver = true
	return e
}
