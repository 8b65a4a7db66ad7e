// Package page paginates list APIs (MaxResults/NextToken, MaxRecords/
// NextToken, MaxItems/Marker ...) over items ordered by a unique key.
//
// A token names the last key returned rather than an offset, so a walk
// through the pages neither repeats nor skips an item that existed for the
// whole walk when other items are created or deleted between calls, as AWS
// promises for its paginated APIs.
package page

import (
	"encoding/base64"
	"errors"
	"slices"
	"sort"
	"strings"
)

// ErrBadToken reports a token that this package did not issue. Services map
// it to their own error, e.g. EC2's InvalidNextToken or IAM's
// InvalidInput.
var ErrBadToken = errors.New("page: invalid pagination token")

// ErrBadMax reports a page size above the service's limit. Services map it
// to their own validation error, e.g. EC2's InvalidParameterValue for
// MaxResults.
var ErrBadMax = errors.New("page: page size above the limit")

// tokenVersion starts every decoded token. It keeps an empty key from
// encoding to "" (which means "no more pages") and lets Decode reject most
// strings a client makes up.
const tokenVersion = "1"

// Encode returns the opaque token that resumes a listing after key.
func Encode(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenVersion + key))
}

// Decode returns the key a token from Encode resumes after, or ErrBadToken.
func Decode(token string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", ErrBadToken
	}
	key, ok := strings.CutPrefix(string(b), tokenVersion)
	if !ok {
		return "", ErrBadToken
	}
	return key, nil
}

// ByKey returns one page of items in ascending order of key, which must be
// unique per item, and the token for the next page ("" on the last page).
//
// token is "" for the first page, otherwise a next token from an earlier
// call; the page starts at the first item whose key sorts after the one the
// token names, whether or not that item still exists. max is the page size
// the client asked for: max <= 0 means defaultMax, and max > limit returns
// ErrBadMax (limit <= 0 means no limit). If both max and defaultMax are
// <= 0, the page holds every remaining item.
//
// items is not modified; if it is not already sorted by key, a sorted copy
// is used. The page returned is a new slice.
func ByKey[T any](items []T, key func(T) string, token string, max, defaultMax, limit int) (page []T, next string, err error) {
	if limit > 0 && max > limit {
		return nil, "", ErrBadMax
	}
	n := max
	if n <= 0 {
		n = defaultMax
	}
	after := ""
	if token != "" {
		if after, err = Decode(token); err != nil {
			return nil, "", err
		}
	}
	byKey := func(a, b T) int { return strings.Compare(key(a), key(b)) }
	if !slices.IsSortedFunc(items, byKey) {
		items = slices.Clone(items)
		slices.SortStableFunc(items, byKey)
	}
	start := 0
	if token != "" {
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > after })
	}
	end := len(items)
	if n > 0 && start+n < end {
		end = start + n
	}
	page = slices.Clone(items[start:end])
	if end < len(items) {
		next = Encode(key(items[end-1]))
	}
	return page, next, nil
}
