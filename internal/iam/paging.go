package iam

import "github.com/nephele-dev/nephele/internal/page"

// defaultMaxItems is how many items IAM's List operations return when the
// request has no MaxItems; IAM's documented default is 100.
const defaultMaxItems = 100

// maxMaxItems is the largest MaxItems IAM accepts; the codec checks the
// model's range before a handler runs, so this is a second guard.
const maxMaxItems = 1000

// paginate returns one page of items, ordered by key, in IAM's
// MaxItems/Marker style: IsTruncated is always set (IAM always sends it) and
// Marker only when there is more to fetch.
func paginate[T any](items []T, key func(T) string, marker *string, maxItems *int32) (pg []T, truncated *bool, next *string, err error) {
	max := 0
	if maxItems != nil {
		max = int(*maxItems)
	}
	pg, token, err := page.ByKey(items, key, str(marker), max, defaultMaxItems, maxMaxItems)
	switch err {
	case nil:
	case page.ErrBadMax:
		return nil, nil, nil, invalidInput("MaxItems must be between 1 and %d.", maxMaxItems)
	default:
		return nil, nil, nil, invalidInput("Invalid Marker.")
	}
	return pg, ptr(token != ""), optional(token), nil
}
