// Package awserr is the one error type that reaches AWS clients: a code, an
// HTTP status, a message and who is at fault. Codecs render it in each
// protocol's shape; the internal cause, if any, goes only to the log.
package awserr

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an AWS API error.
type Error struct {
	// Code is the AWS error code, e.g. "NoSuchEntity" or "InvalidParameterValue".
	Code string
	// Message is what the client sees.
	Message string
	// Status is the HTTP status code.
	Status int
	// Receiver marks a server-side fault (Type "Receiver" in query errors);
	// false means the caller sent something wrong ("Sender").
	Receiver bool
	// Cause is an internal error kept for the log, never shown to clients.
	Cause error
	// Fields are further members of the error's shape, for codecs that
	// render them beside the message (Lambda's TooManyRequestsException
	// carries a Reason, for example).
	Fields map[string]string
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s (%v)", e.Code, e.Message, e.Cause)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }

// New returns a sender-fault error with a formatted message.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// BadRequest returns a 400 sender-fault error.
func BadRequest(code, format string, args ...any) *Error {
	return New(http.StatusBadRequest, code, format, args...)
}

// Internal wraps an unexpected failure: the client sees InternalFailure and
// nothing of the cause.
func Internal(cause error) *Error {
	return &Error{Code: "InternalFailure", Status: http.StatusInternalServerError,
		Message:  "The request processing has failed because of an unknown error, exception or failure.",
		Receiver: true, Cause: cause}
}

// NotImplemented answers an operation that exists in the AWS model but that
// nephele does not serve yet, naming it so the user knows what is missing.
func NotImplemented(service, operation string) *Error {
	return &Error{Code: "NotImplemented", Status: http.StatusNotImplemented,
		Message: fmt.Sprintf("The operation %s of service %s is not implemented by nephele yet.", operation, service)}
}

// As returns err as an *Error: itself if it is one, otherwise InternalFailure.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}
