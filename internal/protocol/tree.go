package protocol

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/nephele-dev/nephele/internal/api/model"
)

// TreeOptions say how the document protocols (JSON, CBOR) differ in their
// scalars when a typed value becomes a generic tree of maps, slices and
// scalars.
type TreeOptions struct {
	// Time renders a timestamp: epoch seconds for JSON, a tagged time for CBOR.
	Time func(time.Time) any
	// Blob renders bytes: base64 text for JSON, a byte string for CBOR.
	Blob func([]byte) any
	// BodyOnly skips members bound to headers, URI labels or the query
	// string (REST protocols bind those outside the body).
	BodyOnly bool
}

// ToTree converts v, a value of shape sh, into a generic tree. Nil pointers,
// slices and maps are omitted, as AWS omits absent members.
func ToTree(v reflect.Value, sh *model.Shape, opt *TreeOptions) any {
	v = Indirect(v)
	if !v.IsValid() {
		return nil
	}
	switch sh.Type {
	case "structure":
		if v.Kind() != reflect.Struct {
			return v.Interface() // document
		}
		out := make(map[string]any, len(sh.Members))
		for _, m := range sh.Members {
			if opt.BodyOnly && m.Location != "" {
				continue
			}
			f := Field(v, m.Name)
			if !f.IsValid() || isNil(f) {
				continue
			}
			if t := ToTree(f, m.Shape, opt); t != nil {
				out[m.Name] = t
			}
		}
		return out
	case "list":
		out := make([]any, v.Len())
		for i := range out {
			out[i] = ToTree(v.Index(i), sh.Member.Shape, opt)
		}
		return out
	case "map":
		out := make(map[string]any, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			out[iter.Key().String()] = ToTree(iter.Value(), sh.Value.Shape, opt)
		}
		return out
	case "timestamp":
		return opt.Time(v.Interface().(time.Time))
	case "blob":
		return opt.Blob(v.Bytes())
	case "double", "float":
		f := v.Float()
		switch {
		case math.IsNaN(f):
			return "NaN"
		case math.IsInf(f, 1):
			return "Infinity"
		case math.IsInf(f, -1):
			return "-Infinity"
		}
		return f
	}
	return v.Interface()
}

func isNil(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// DecodeError is a request body whose value does not fit its shape.
type DecodeError struct {
	Path string
	Msg  string
}

func (e *DecodeError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// FromTree stores tree, a generic value decoded from JSON or CBOR, into v,
// a settable value of shape sh. Unknown members are ignored, as AWS does.
func FromTree(tree any, sh *model.Shape, v reflect.Value, opt *TreeOptions, path string) error {
	if tree == nil {
		return nil
	}
	bad := func() error {
		return &DecodeError{Path: path, Msg: fmt.Sprintf("expected %s, got %T", sh.Type, tree)}
	}
	switch sh.Type {
	case "structure":
		if v.Kind() == reflect.Interface { // document
			v.Set(reflect.ValueOf(tree))
			return nil
		}
		obj, ok := tree.(map[string]any)
		if !ok {
			return bad()
		}
		sv := Alloc(v)
		for _, m := range sh.Members {
			if opt.BodyOnly && m.Location != "" {
				continue
			}
			child, present := obj[m.Name]
			if !present {
				continue
			}
			f := Field(sv, m.Name)
			if !f.IsValid() {
				continue
			}
			if err := FromTree(child, m.Shape, f, opt, join(path, m.Name)); err != nil {
				return err
			}
		}
	case "list":
		arr, ok := tree.([]any)
		if !ok {
			return bad()
		}
		s := reflect.MakeSlice(v.Type(), len(arr), len(arr))
		for i, el := range arr {
			if err := FromTree(el, sh.Member.Shape, s.Index(i), opt, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
	case "map":
		obj, ok := tree.(map[string]any)
		if !ok {
			return bad()
		}
		mv := reflect.MakeMapWithSize(v.Type(), len(obj))
		for k, el := range obj {
			ev := reflect.New(v.Type().Elem()).Elem()
			if err := FromTree(el, sh.Value.Shape, ev, opt, join(path, k)); err != nil {
				return err
			}
			mv.SetMapIndex(reflect.ValueOf(k), ev)
		}
		v.Set(mv)
	case "string":
		s, ok := tree.(string)
		if !ok {
			return bad()
		}
		Alloc(v).SetString(s)
	case "boolean":
		b, ok := tree.(bool)
		if !ok {
			return bad()
		}
		Alloc(v).SetBool(b)
	case "integer", "long":
		n, ok := toInt(tree)
		if !ok || (sh.Type == "integer" && (n > math.MaxInt32 || n < math.MinInt32)) {
			return bad()
		}
		Alloc(v).SetInt(n)
	case "double", "float":
		f, ok := toFloat(tree)
		if !ok {
			return bad()
		}
		Alloc(v).SetFloat(f)
	case "timestamp":
		t, ok := toTime(tree)
		if !ok {
			return bad()
		}
		Alloc(v).Set(reflect.ValueOf(t))
	case "blob":
		switch b := tree.(type) {
		case []byte:
			v.SetBytes(b)
		case string:
			raw, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return &DecodeError{Path: path, Msg: "invalid base64"}
			}
			v.SetBytes(raw)
		default:
			return bad()
		}
	default:
		return bad()
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func toInt(x any) (int64, bool) {
	switch n := x.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case int64:
		return n, true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case int:
		return int64(n), true
	case float64:
		return int64(n), n == math.Trunc(n) && math.Abs(n) < 1<<63
	}
	return 0, false
}

func toFloat(x any) (float64, bool) {
	switch n := x.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case string:
		switch n {
		case "NaN":
			return math.NaN(), true
		case "Infinity":
			return math.Inf(1), true
		case "-Infinity":
			return math.Inf(-1), true
		}
	}
	return 0, false
}

func toTime(x any) (time.Time, bool) {
	switch t := x.(type) {
	case time.Time:
		return t.UTC(), true
	case string:
		return ParseTime(t)
	}
	if f, ok := toFloat(x); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return EpochTime(f), true
	}
	return time.Time{}, false
}

// EpochTime converts fractional epoch seconds to a UTC time, to the millisecond.
func EpochTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC()
}

// EpochSeconds renders t as epoch seconds with millisecond precision.
func EpochSeconds(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

// ParseTime accepts the timestamp forms AWS clients send in text: ISO 8601
// (with or without fractional seconds or zone) and epoch seconds.
func ParseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02", time.RFC1123} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return EpochTime(f), true
	}
	return time.Time{}, false
}

// ISO8601 renders t as the query and EC2 protocols do.
func ISO8601(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
