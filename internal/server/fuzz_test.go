package server

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// fuzzSeeds are query forms of the IAM and STS calls clients make, so the
// fuzzer starts from requests that reach the handlers rather than from
// ones the decoder refuses.
var fuzzSeeds = []struct{ service, form string }{
	{"iam", "Action=CreateRole&Version=2010-05-08&RoleName=web&AssumeRolePolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D"},
	{"iam", "Action=GetRole&Version=2010-05-08&RoleName=web"},
	{"iam", "Action=ListRoles&Version=2010-05-08&MaxItems=1&Marker=MXdlYg"},
	{"iam", "Action=CreatePolicy&Version=2010-05-08&PolicyName=p&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"},
	{"iam", "Action=AttachRolePolicy&Version=2010-05-08&RoleName=web&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"},
	{"iam", "Action=CreatePolicyVersion&Version=2010-05-08&PolicyArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Apolicy%2Fp&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D&SetAsDefault=true"},
	{"iam", "Action=CreateInstanceProfile&Version=2010-05-08&InstanceProfileName=web&Path=%2Fa%2F"},
	{"iam", "Action=AddRoleToInstanceProfile&Version=2010-05-08&InstanceProfileName=web&RoleName=web"},
	{"iam", "Action=CreateUser&Version=2010-05-08&UserName=u&Tags.member.1.Key=k&Tags.member.1.Value=v"},
	{"iam", "Action=CreateAccessKey&Version=2010-05-08&UserName=u"},
	{"iam", "Action=PutUserPolicy&Version=2010-05-08&UserName=u&PolicyName=i&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"},
	{"iam", "Action=CreateGroup&Version=2010-05-08&GroupName=g"},
	{"iam", "Action=AddUserToGroup&Version=2010-05-08&GroupName=g&UserName=u"},
	{"iam", "Action=DeleteRole&Version=2010-05-08&RoleName=web"},
	{"iam", "Action=GetAccountSummary&Version=2010-05-08"},
	{"sts", "Action=GetCallerIdentity&Version=2011-06-15"},
	{"sts", "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fweb&RoleSessionName=s1&DurationSeconds=900&Policy=%7B%7D"},
	{"sts", "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fweb&RoleSessionName=s1&WebIdentityToken=a.eyJzdWIiOiJ4In0.c"},
	{"sts", "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=3600"},
	{"sts", "Action=GetFederationToken&Version=2011-06-15&Name=bob"},
	{"sts", "Action=GetAccessKeyInfo&Version=2011-06-15&AccessKeyId=AKIAIOSFODNN7EXAMPLE"},
}

// FuzzIAMAndSTS sends arbitrary query forms to the real IAM and STS
// services, keeping state between inputs so that later requests meet the
// resources earlier ones made: whatever arrives, the answer is a success
// or an AWS client error, never a 5xx (a handler panic or an internal
// error becomes InternalFailure 500).
func FuzzIAMAndSTS(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s.service == "sts", s.form, "")
	}
	srv, err := New(Config{Listen: "127.0.0.1:0", Clock: clock.NewFake(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, toSTS bool, form, accessKey string) {
		if _, err := url.ParseQuery(form); err != nil {
			return
		}
		svc := "iam"
		if toSTS {
			svc = "sts"
		}
		if accessKey == "" || strings.ContainsAny(accessKey, "/, \r\n") {
			accessKey = "AKIDEXAMPLE"
		}
		req := httptest.NewRequest("POST", "/", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+accessKey+"/20240301/us-east-1/"+svc+"/aws4_request, SignedHeaders=host, Signature=00")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != 501 {
			t.Fatalf("%s %s: status %d: %s", svc, form, rec.Code, rec.Body.String())
		}
	})
}
