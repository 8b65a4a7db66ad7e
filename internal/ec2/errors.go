package ec2

import (
	"errors"
	"strings"

	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/page"
)

// EC2 answers every client error with HTTP 400 and a code naming what went
// wrong; the codes and wording below are those of the EC2 API reference's
// "Error codes for the Amazon EC2 API".

// invalidParameterValue is InvalidParameterValue: a value EC2's rules
// refuse.
func invalidParameterValue(format string, args ...any) error {
	return awserr.BadRequest("InvalidParameterValue", format, args...)
}

// invalidParameterCombination is InvalidParameterCombination: parameters
// that cannot be used together.
func invalidParameterCombination(format string, args ...any) error {
	return awserr.BadRequest("InvalidParameterCombination", format, args...)
}

// missingParameter is MissingParameter: a parameter EC2's rules need that
// the model does not mark required.
func missingParameter(format string, args ...any) error {
	return awserr.BadRequest("MissingParameter", format, args...)
}

// notFound is the "<Kind>.NotFound" error for one or more IDs, in EC2's
// words: "The vpc ID 'vpc-1' does not exist", or for several, "The
// instance IDs 'i-1, i-2' do not exist".
func notFound(code, noun string, ids ...string) error {
	if len(ids) == 1 {
		return awserr.BadRequest(code, "The %s ID '%s' does not exist", noun, ids[0])
	}
	return awserr.BadRequest(code, "The %s IDs '%s' do not exist", noun, strings.Join(ids, ", "))
}

// malformed is the "<Kind>.Malformed" error for an ID that does not have
// its resource's shape, e.g. `Invalid id: "abc" (expecting "i-...")`.
func malformed(code, id, prefix string) error {
	return awserr.BadRequest(code, "Invalid id: \"%s\" (expecting \"%s-...\")", id, prefix)
}

// pageError turns a pagination failure into EC2's errors.
func pageError(err error, token string, limit int) error {
	switch {
	case errors.Is(err, page.ErrBadToken):
		return awserr.BadRequest("InvalidNextToken", "The token '%s' is invalid", token)
	case errors.Is(err, page.ErrBadMax):
		return invalidParameterValue("Value for parameter MaxResults is invalid. Must be at most %d", limit)
	}
	return err
}
