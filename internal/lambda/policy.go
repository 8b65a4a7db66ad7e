package lambda

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/store"
)

// maxPolicyBytes is the size limit of a function's resource-based policy.
const maxPolicyBytes = 20480

// awsPolicyTooLong is PolicyLengthExceededException.
func awsPolicyTooLong() error {
	return awserr.New(http.StatusBadRequest, "PolicyLengthExceededException", "The final policy size is bigger than the limit (%d).", maxPolicyBytes)
}

var accountID = regexp.MustCompile(`^\d{12}$`)

// principalOf is a permission's Principal as Lambda writes it in the
// policy: a service, an account root, an ARN or everyone.
func principalOf(p string) any {
	switch {
	case p == "*":
		return "*"
	case strings.HasSuffix(p, ".amazonaws.com") || strings.HasSuffix(p, ".amazonaws.com.cn"):
		return map[string]string{"Service": p}
	case accountID.MatchString(p):
		return map[string]string{"AWS": "arn:aws:iam::" + p + ":root"}
	}
	return map[string]string{"AWS": p}
}

// AddPermission adds a statement to the resource-based policy of a
// function, version or alias, granting a principal an action.
func (s *Service) AddPermission(ctx context.Context, in *api.AddPermissionInput) (*api.AddPermissionOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	sid := str(in.StatementId)
	var out api.AddPermissionOutput
	err = s.st.Update(func(tx store.Tx) error {
		f, v, _, err := resolve(tx, sc, ref)
		if err != nil {
			return err
		}
		if r := str(in.RevisionId); r != "" && r != str(v.Config.RevisionId) {
			return revisionMismatch()
		}
		q := ref.qualifier
		for _, st := range f.Policies[q] {
			if st.Sid == sid {
				return conflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", sid)
			}
		}
		st := policyStatement{
			Sid: sid, Effect: "Allow", Principal: principalOf(str(in.Principal)),
			Action: str(in.Action), Resource: sc.qualifiedARN(ref.name, q),
		}
		cond := map[string]map[string]string{}
		add := func(op, key, val string) {
			if val == "" {
				return
			}
			if cond[op] == nil {
				cond[op] = map[string]string{}
			}
			cond[op][key] = val
		}
		add("StringEquals", "AWS:SourceAccount", str(in.SourceAccount))
		add("ArnLike", "AWS:SourceArn", str(in.SourceArn))
		add("StringEquals", "aws:PrincipalOrgID", str(in.PrincipalOrgID))
		add("StringEquals", "lambda:EventSourceToken", str(in.EventSourceToken))
		add("StringEquals", "lambda:FunctionUrlAuthType", str(in.FunctionUrlAuthType))
		if in.InvokedViaFunctionUrl != nil && *in.InvokedViaFunctionUrl {
			add("Bool", "lambda:InvokedViaFunctionUrl", "true")
		}
		if len(cond) > 0 {
			st.Condition = cond
		}
		b, _ := json.Marshal(st)
		stmts := append(slices.Clone(f.Policies[q]), statement{Sid: sid, JSON: string(b)})
		if len(policyDocument(stmts)) > maxPolicyBytes {
			return awsPolicyTooLong()
		}
		if f.Policies == nil {
			f.Policies = map[string][]statement{}
		}
		f.Policies[q] = stmts
		out.Statement = ptr(string(b))
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// policyStatement is a statement in the order of Lambda's members.
type policyStatement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal any                          `json:"Principal"`
	Action    string                       `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// policy is a resource-based policy document in Lambda's member order.
type policy struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id"`
	Statement []json.RawMessage `json:"Statement"`
}

// policyDocument is a policy as GetPolicy returns it.
func policyDocument(stmts []statement) string {
	b, _ := json.Marshal(policy{Version: "2012-10-17", ID: "default", Statement: rawStatements(stmts)})
	return string(b)
}

// RemovePermission removes a statement from a policy.
func (s *Service) RemovePermission(ctx context.Context, in *api.RemovePermissionInput) (*api.RemovePermissionOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	sid := str(in.StatementId)
	err = s.st.Update(func(tx store.Tx) error {
		f, v, _, err := resolve(tx, sc, ref)
		if err != nil {
			return err
		}
		if r := str(in.RevisionId); r != "" && r != str(v.Config.RevisionId) {
			return revisionMismatch()
		}
		q := ref.qualifier
		i := slices.IndexFunc(f.Policies[q], func(st statement) bool { return st.Sid == sid })
		if i < 0 {
			return notFound("Statement %s is not found in resource policy.", sid)
		}
		f.Policies[q] = slices.Delete(f.Policies[q], i, i+1)
		if len(f.Policies[q]) == 0 {
			delete(f.Policies, q)
		}
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	if err != nil {
		return nil, err
	}
	return &api.RemovePermissionOutput{}, nil
}

// GetPolicy returns the resource-based policy of a function, version or
// alias.
func (s *Service) GetPolicy(ctx context.Context, in *api.GetPolicyInput) (*api.GetPolicyOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	var out api.GetPolicyOutput
	err = s.st.View(func(tx store.Tx) error {
		f, v, _, err := resolve(tx, sc, ref)
		if err != nil {
			return err
		}
		stmts := f.Policies[ref.qualifier]
		if len(stmts) == 0 {
			return notFound("The resource you requested does not exist.")
		}
		out.Policy, out.RevisionId = ptr(policyDocument(stmts)), v.Config.RevisionId
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
