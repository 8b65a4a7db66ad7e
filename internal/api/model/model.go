// Package model is the runtime form of an AWS service model: the operations,
// shapes and wire metadata that botocore ships as service-2.json, trimmed of
// documentation by the generator and embedded in each generated API package.
//
// Codecs walk typed Go values alongside these shapes, so the model, not
// guesswork, decides every member's wire name, type and list shape.
package model

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// Service is one AWS service's API model.
type Service struct {
	Metadata   Metadata
	Operations map[string]*Operation
	Shapes     map[string]*Shape

	// opNames is the sorted list of operation names.
	opNames []string
	// errorsByCode maps an error code (the query-compatible code where the
	// model gives one, else the shape name) to its exception shape.
	errorsByCode map[string]*Shape
}

// Metadata is the service-wide wire metadata.
type Metadata struct {
	APIVersion         string          `json:"apiVersion"`
	EndpointPrefix     string          `json:"endpointPrefix"`
	JSONVersion        string          `json:"jsonVersion"`
	Protocol           string          `json:"protocol"`
	Protocols          []string        `json:"protocols"`
	ServiceFullName    string          `json:"serviceFullName"`
	ServiceID          string          `json:"serviceId"`
	SignatureVersion   string          `json:"signatureVersion"`
	SigningName        string          `json:"signingName"`
	TargetPrefix       string          `json:"targetPrefix"`
	XMLNamespace       string          `json:"xmlNamespace"`
	AWSQueryCompatible json.RawMessage `json:"awsQueryCompatible"`
}

// QueryCompatible reports whether JSON and CBOR errors must also carry the
// query protocol's error code (the x-amzn-query-error header).
func (m Metadata) QueryCompatible() bool { return len(m.AWSQueryCompatible) > 0 }

// Operation is one API operation.
type Operation struct {
	Name   string   `json:"name"`
	HTTP   HTTP     `json:"http"`
	Input  *Ref     `json:"input"`
	Output *Ref     `json:"output"`
	Errors []*Ref   `json:"errors"`
	Auth   []string `json:"auth"`
}

// HTTP is an operation's REST binding.
type HTTP struct {
	Method       string `json:"method"`
	RequestURI   string `json:"requestUri"`
	ResponseCode int    `json:"responseCode"`
}

// Ref points at a shape, with the member-level wire traits that may decorate
// the reference.
type Ref struct {
	ShapeName        string `json:"shape"`
	LocationName     string `json:"locationName"`
	QueryName        string `json:"queryName"`
	Location         string `json:"location"`
	ResultWrapper    string `json:"resultWrapper"`
	IdempotencyToken bool   `json:"idempotencyToken"`
	JSONValue        bool   `json:"jsonvalue"`

	// Shape is resolved by Load.
	Shape *Shape `json:"-"`
}

// Member is a named member of a structure.
type Member struct {
	Ref
	Name     string
	Required bool
}

// Shape is a type in the model.
type Shape struct {
	Name      string          `json:"-"`
	Type      string          `json:"type"`
	RawMember map[string]*Ref `json:"members"`
	Required  []string        `json:"required"`
	Member    *Ref            `json:"member"`
	Key       *Ref            `json:"key"`
	Value     *Ref            `json:"value"`
	Enum      []string        `json:"enum"`
	Min       *float64        `json:"min"`
	Max       *float64        `json:"max"`
	Pattern   string          `json:"pattern"`
	Exception bool            `json:"exception"`
	Fault     bool            `json:"fault"`
	Error     *ErrorTrait     `json:"error"`
	Payload   string          `json:"payload"`
	Streaming bool            `json:"streaming"`
	Document  bool            `json:"document"`
	Union     bool            `json:"union"`
	Sensitive bool            `json:"sensitive"`

	// Members are the structure's members in model order, resolved by Load.
	Members []*Member `json:"-"`
	// byName indexes Members.
	byName map[string]*Member
	// enumSet indexes Enum.
	enumSet map[string]struct{}
}

// ErrorTrait is the query-protocol identity of an exception shape.
type ErrorTrait struct {
	Code           string `json:"code"`
	HTTPStatusCode int    `json:"httpStatusCode"`
	SenderFault    bool   `json:"senderFault"`
}

// rawService mirrors service-2.json for decoding.
type rawService struct {
	Metadata   Metadata              `json:"metadata"`
	Operations map[string]*Operation `json:"operations"`
	Shapes     map[string]*Shape     `json:"shapes"`
}

// MemberByName returns the structure member called name, or nil.
func (s *Shape) MemberByName(name string) *Member { return s.byName[name] }

// HasEnumValue reports whether v is one of the shape's enum values.
func (s *Shape) HasEnumValue(v string) bool {
	_, ok := s.enumSet[v]
	return ok
}

// OperationNames returns every operation in the model, sorted.
func (s *Service) OperationNames() []string { return s.opNames }

// ErrorShape returns the exception shape for an error code, or nil.
func (s *Service) ErrorShape(code string) *Shape { return s.errorsByCode[code] }

// Load parses a model, gzip-compressed or plain JSON, and resolves every
// shape reference.
func Load(data []byte) (*Service, error) {
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("model: gunzip: %w", err)
		}
		data, err = io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("model: gunzip: %w", err)
		}
	}
	var raw rawService
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("model: decode: %w", err)
	}
	svc := &Service{
		Metadata:     raw.Metadata,
		Operations:   raw.Operations,
		Shapes:       raw.Shapes,
		errorsByCode: map[string]*Shape{},
	}
	resolve := func(r *Ref, where string) error {
		if r == nil {
			return nil
		}
		sh, ok := svc.Shapes[r.ShapeName]
		if !ok {
			return fmt.Errorf("model: %s refers to unknown shape %q", where, r.ShapeName)
		}
		r.Shape = sh
		return nil
	}
	for name, sh := range svc.Shapes {
		sh.Name = name
	}
	for name, sh := range svc.Shapes {
		for _, r := range []*Ref{sh.Member, sh.Key, sh.Value} {
			if err := resolve(r, name); err != nil {
				return nil, err
			}
		}
		if sh.Type == "structure" {
			if err := sh.resolveMembers(resolve); err != nil {
				return nil, err
			}
		}
		if len(sh.Enum) > 0 {
			sh.enumSet = make(map[string]struct{}, len(sh.Enum))
			for _, v := range sh.Enum {
				sh.enumSet[v] = struct{}{}
			}
		}
		if sh.Exception {
			svc.errorsByCode[name] = sh
		}
	}
	// Several shapes may share one query code (CloudWatch's
	// DashboardNotFoundError and ResourceNotFound): the shape named like the
	// code wins, else the first by name, so the mapping is stable.
	names := make([]string, 0, len(svc.errorsByCode))
	for name := range svc.errorsByCode {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sh := svc.errorsByCode[name]
		if sh.Error != nil && sh.Error.Code != "" {
			if _, taken := svc.errorsByCode[sh.Error.Code]; !taken {
				svc.errorsByCode[sh.Error.Code] = sh
			}
		}
	}
	for name, op := range svc.Operations {
		for _, r := range append([]*Ref{op.Input, op.Output}, op.Errors...) {
			if err := resolve(r, "operation "+name); err != nil {
				return nil, err
			}
		}
		svc.opNames = append(svc.opNames, name)
	}
	sort.Strings(svc.opNames)
	return svc, nil
}

// resolveMembers orders the members and resolves their shapes. JSON objects
// lose their order in Go maps, so the generator writes members sorted and the
// model keeps that order; wire formats here do not depend on member order
// except EC2/query XML, where AWS clients accept any order.
func (s *Shape) resolveMembers(resolve func(*Ref, string) error) error {
	names := make([]string, 0, len(s.RawMember))
	for n := range s.RawMember {
		names = append(names, n)
	}
	sort.Strings(names)
	req := make(map[string]bool, len(s.Required))
	for _, r := range s.Required {
		req[r] = true
	}
	s.byName = make(map[string]*Member, len(names))
	for _, n := range names {
		r := s.RawMember[n]
		if err := resolve(r, s.Name+"."+n); err != nil {
			return err
		}
		m := &Member{Ref: *r, Name: n, Required: req[n]}
		s.Members = append(s.Members, m)
		s.byName[n] = m
	}
	return nil
}
