package logs

import (
	"net/http"

	"github.com/nephele-dev/nephele/internal/awserr"
)

// The error constructors below carry CloudWatch Logs' codes, from the error
// shapes of its model. Every one is a 400: the JSON protocol tells them
// apart by __type, not by status.

// invalidParameter is InvalidParameterException: a value the model allows
// but the service's rules do not.
func invalidParameter(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

// groupNotFound is ResourceNotFoundException for a log group.
func groupNotFound() error {
	return awserr.New(http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist.")
}

// streamNotFound is ResourceNotFoundException for a log stream.
func streamNotFound() error {
	return awserr.New(http.StatusBadRequest, "ResourceNotFoundException", "The specified log stream does not exist.")
}

// resourceNotFound is ResourceNotFoundException for a resource named by an
// ARN that is not a log group nephele keeps (a destination, say).
func resourceNotFound() error {
	return awserr.New(http.StatusBadRequest, "ResourceNotFoundException", "The specified resource does not exist.")
}

// groupExists is ResourceAlreadyExistsException for a log group: names are
// unique per account and region.
func groupExists() error {
	return awserr.New(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log group already exists")
}

// streamExists is ResourceAlreadyExistsException for a log stream: names
// are unique in their group.
func streamExists() error {
	return awserr.New(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log stream already exists")
}

// tooManyTags is TooManyTagsException: a resource may carry at most 50
// tags.
func tooManyTags(msg string) error {
	return awserr.New(http.StatusBadRequest, "TooManyTagsException", "%s", msg)
}

// deletionProtected is the ValidationException that DeleteLogGroup (and,
// as protection "blocks all deletion operations", DeleteLogStream) answers
// while the group's deletion protection is on, in the words of "Protecting
// log groups from deletion".
func deletionProtected() error {
	return awserr.New(http.StatusBadRequest, "ValidationException",
		"Cannot delete log group with deletion protection enabled. Disable deletion protection first.")
}

// badToken answers a nextToken that this service did not issue.
func badToken() error {
	return invalidParameter("The specified nextToken is invalid.")
}
