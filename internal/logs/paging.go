package logs

import (
	"slices"
	"strings"

	"github.com/nephele-dev/nephele/internal/page"
)

// paginate returns one page of items in order of key (unique per item),
// ascending or descending, and the nextToken for the page after it (nil on
// the last page). The token names the last key returned, so a walk neither
// repeats nor skips items that exist throughout it. limit defaults to
// maxDescribe; the model's range has already checked it.
func paginate[T any](items []T, key func(T) string, token *string, limit *int32, descending bool) ([]T, *string, error) {
	n := maxDescribe
	if limit != nil && *limit > 0 {
		n = int(*limit)
	}
	cmp := func(a, b T) int { return strings.Compare(key(a), key(b)) }
	if descending {
		cmp = func(a, b T) int { return strings.Compare(key(b), key(a)) }
	}
	items = slices.Clone(items)
	slices.SortStableFunc(items, cmp)
	start := 0
	if token != nil {
		after, err := page.Decode(*token)
		if err != nil {
			return nil, nil, badToken()
		}
		start = len(items)
		for i, it := range items {
			if c := strings.Compare(key(it), after); (c > 0 && !descending) || (c < 0 && descending) {
				start = i
				break
			}
		}
	}
	end := min(start+n, len(items))
	pg := items[start:end]
	if end < len(items) {
		return pg, ptr(page.Encode(key(items[end-1]))), nil
	}
	return pg, nil, nil
}
