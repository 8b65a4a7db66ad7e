// Package awsid makes resource identifiers and credentials in the formats AWS
// clients see, drawn from crypto/rand so that IDs never repeat across runs and
// cannot be predicted.
//
// The formats matter because clients validate them: the EC2 console and
// Terraform check the "i-" + 17 hex shape, and SDKs recognise temporary
// credentials by their "ASIA" prefix.
package awsid

import (
	"crypto/rand"
	"encoding/hex"
)

const (
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	// secretChars is the alphabet of real secret access keys: base64 with
	// '+' and '/', no padding.
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// SessionTokenLen is the length of the tokens SessionToken returns, that of
// a typical STS AssumeRole session token.
const SessionTokenLen = 356

// sessionTokenPrefix is how STS session tokens begin: it is the base64 of
// the token's fixed binary header.
const sessionTokenPrefix = "FwoGZXIvYXdzE"

// New returns an EC2-style ID: prefix, a dash and 17 lowercase hex digits,
// the "long ID" format EC2 uses for all resources since 2018, e.g.
// New("i") → "i-0a1b2c3d4e5f60718" and New("subnet") → "subnet-…".
func New(prefix string) string {
	var b [9]byte
	rand.Read(b[:])
	// 9 bytes give 18 hex digits; the first is dropped to keep 17.
	return prefix + "-" + hex.EncodeToString(b[:])[1:]
}

// IAM returns an IAM unique ID: a 4-letter prefix that names the kind of
// entity followed by 17 characters from [A-Z0-9], 21 in all. The prefixes
// IAM uses are AROA (role), AIDA (user), ANPA (managed policy), AIPA
// (instance profile) and AGPA (group).
func IAM(prefix string) string {
	return prefix + choose(upperDigits, 17)
}

// AccessKeyID returns an access key ID: "AKIA" for a long-term IAM user key,
// or "ASIA" for temporary credentials from STS, followed by 16 characters
// from [A-Z0-9], 20 in all.
func AccessKeyID(temporary bool) string {
	if temporary {
		return "ASIA" + choose(upperDigits, 16)
	}
	return "AKIA" + choose(upperDigits, 16)
}

// SecretAccessKey returns a 40-character secret access key from
// [A-Za-z0-9/+], the shape IAM and STS return.
func SecretAccessKey() string {
	return choose(secretChars, 40)
}

// SessionToken returns an STS session token of SessionTokenLen characters
// that starts with "FwoGZXIvYXdzE" as real tokens do. The whole token is
// valid unpadded-length base64 (its length is a multiple of 4), so clients
// that decode it to inspect it do not fail.
func SessionToken() string {
	return sessionTokenPrefix + choose(secretChars, SessionTokenLen-len(sessionTokenPrefix))
}

// RequestID returns a random (version 4) UUID in its 8-4-4-4-12 lowercase
// hex form, the shape of the x-amzn-RequestId every AWS response carries.
func RequestID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// choose returns n characters drawn uniformly from alphabet, which must have
// at most 256 characters. Bytes that would bias the draw (those at or above
// the largest multiple of len(alphabet) that fits in a byte) are rejected.
func choose(alphabet string, n int) string {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, c := range buf {
			if int(c) >= limit {
				continue
			}
			out = append(out, alphabet[int(c)%len(alphabet)])
			if len(out) == n {
				break
			}
		}
	}
	return string(out)
}
