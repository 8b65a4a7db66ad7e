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

// ec2Seeds are EC2 query forms of the network, tag, key pair and Describe
// calls; launches are left out of the fuzzing (see FuzzEC2).
var ec2Seeds = []string{
	"Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=is-default&Filter.1.Value.1=true",
	"Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16&TagSpecification.1.ResourceType=vpc&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=x",
	"Action=CreateSubnet&Version=2016-11-15&VpcId=vpc-0123456789abcdef0&CidrBlock=10.0.1.0%2F24",
	"Action=DescribeSubnets&Version=2016-11-15&MaxResults=5",
	"Action=CreateSecurityGroup&Version=2016-11-15&GroupName=web&GroupDescription=web",
	"Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupName=web&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=80&IpPermissions.1.ToPort=80&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0%2F0",
	"Action=DescribeSecurityGroups&Version=2016-11-15&GroupName.1=web",
	"Action=CreateKeyPair&Version=2016-11-15&KeyName=k&KeyType=ed25519",
	"Action=DescribeKeyPairs&Version=2016-11-15",
	"Action=CreateTags&Version=2016-11-15&ResourceId.1=vpc-0123456789abcdef0&Tag.1.Key=a&Tag.1.Value=b",
	"Action=DescribeTags&Version=2016-11-15&Filter.1.Name=resource-type&Filter.1.Value.1=vpc",
	"Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0",
	"Action=DescribeImages&Version=2016-11-15&Owner.1=amazon&Filter.1.Name=name&Filter.1.Value.1=al2023-*",
	"Action=DescribeInstanceTypes&Version=2016-11-15&InstanceType.1=t3.micro",
	"Action=CreateLaunchTemplate&Version=2016-11-15&LaunchTemplateName=lt&LaunchTemplateData.InstanceType=t3.micro",
	"Action=DescribeLaunchTemplateVersions&Version=2016-11-15&LaunchTemplateName=lt&LaunchTemplateVersion.1=%24Latest",
	"Action=CreateVolume&Version=2016-11-15&AvailabilityZone=us-east-1a&Size=8",
	"Action=DescribeSpotPriceHistory&Version=2016-11-15&InstanceType.1=t3.micro",
	"Action=CreatePlacementGroup&Version=2016-11-15&GroupName=pg&Strategy=spread",
}

// launches are the EC2 actions FuzzEC2 does not send: each would start
// real processes for every input.
var launches = map[string]bool{
	"runinstances": true, "requestspotinstances": true, "requestspotfleet": true, "createfleet": true,
	"startinstances": true, "rebootinstances": true, "modifyfleet": true, "modifyspotfleetrequest": true,
}

// FuzzEC2 sends arbitrary EC2 query forms to the real EC2 service, keeping
// state between inputs: the answer is a success or an AWS client error,
// never a 5xx.
func FuzzEC2(f *testing.F) {
	for _, s := range ec2Seeds {
		f.Add(s)
	}
	srv, err := New(Config{Listen: "127.0.0.1:0", Clock: clock.NewFake(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, form string) {
		values, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		for _, a := range values["Action"] {
			if launches[strings.ToLower(a)] {
				return
			}
		}
		req := httptest.NewRequest("POST", "/", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240301/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != 501 {
			t.Fatalf("ec2 %s: status %d: %s", form, rec.Code, rec.Body.String())
		}
	})
}

// cloudWatchSeeds are CloudWatch query forms: metrics, math, alarms and
// dashboards.
var cloudWatchSeeds = []string{
	"Action=PutMetricData&Version=2010-08-01&Namespace=App&MetricData.member.1.MetricName=Latency&MetricData.member.1.Value=12&MetricData.member.1.Timestamp=2024-03-01T11%3A58%3A00Z",
	"Action=PutMetricData&Version=2010-08-01&Namespace=App&MetricData.member.1.MetricName=Latency&MetricData.member.1.Values.member.1=1&MetricData.member.1.Values.member.2=2&MetricData.member.1.Counts.member.1=3&MetricData.member.1.Counts.member.2=1",
	"Action=PutMetricData&Version=2010-08-01&Namespace=App&MetricData.member.1.MetricName=Q&MetricData.member.1.StorageResolution=1&MetricData.member.1.StatisticValues.SampleCount=2&MetricData.member.1.StatisticValues.Sum=3&MetricData.member.1.StatisticValues.Minimum=1&MetricData.member.1.StatisticValues.Maximum=2",
	"Action=GetMetricStatistics&Version=2010-08-01&Namespace=App&MetricName=Latency&StartTime=2024-03-01T11%3A00%3A00Z&EndTime=2024-03-01T12%3A00%3A00Z&Period=60&Statistics.member.1=Average&ExtendedStatistics.member.1=p99",
	"Action=GetMetricData&Version=2010-08-01&StartTime=2024-03-01T11%3A00%3A00Z&EndTime=2024-03-01T12%3A00%3A00Z&MetricDataQueries.member.1.Id=m1&MetricDataQueries.member.1.MetricStat.Metric.Namespace=App&MetricDataQueries.member.1.MetricStat.Metric.MetricName=Latency&MetricDataQueries.member.1.MetricStat.Period=60&MetricDataQueries.member.1.MetricStat.Stat=Sum&MetricDataQueries.member.2.Id=e1&MetricDataQueries.member.2.Expression=FILL(m1%2C0)*2%2BRATE(m1)",
	"Action=ListMetrics&Version=2010-08-01&Namespace=App&RecentlyActive=PT3H",
	"Action=PutMetricAlarm&Version=2010-08-01&AlarmName=a&Namespace=App&MetricName=Latency&Statistic=Average&Period=60&EvaluationPeriods=3&DatapointsToAlarm=2&Threshold=10&ComparisonOperator=GreaterThanThreshold&AlarmActions.member.1=arn%3Aaws%3Aautomate%3Aus-east-1%3Aec2%3Astop",
	"Action=PutCompositeAlarm&Version=2010-08-01&AlarmName=c&AlarmRule=ALARM(a)%20AND%20NOT%20OK(%22a%22)",
	"Action=DescribeAlarms&Version=2010-08-01&AlarmTypes.member.1=CompositeAlarm&MaxRecords=1",
	"Action=SetAlarmState&Version=2010-08-01&AlarmName=a&StateValue=ALARM&StateReason=x&StateReasonData=%7B%7D",
	"Action=DescribeAlarmHistory&Version=2010-08-01&AlarmName=a&ScanBy=TimestampAscending",
	"Action=DeleteAlarms&Version=2010-08-01&AlarmNames.member.1=c&AlarmNames.member.2=a",
	"Action=PutDashboard&Version=2010-08-01&DashboardName=d&DashboardBody=%7B%22widgets%22%3A%5B%5D%7D",
}

// FuzzCloudWatch sends arbitrary CloudWatch query forms to the real
// service, keeping state between inputs, and evaluates the alarms after
// each: the answer is a success or an AWS client error, never a 5xx.
func FuzzCloudWatch(f *testing.F) {
	for _, s := range cloudWatchSeeds {
		f.Add(s)
	}
	srv, err := New(Config{Listen: "127.0.0.1:0", Clock: clock.NewFake(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, form string) {
		if _, err := url.ParseQuery(form); err != nil {
			return
		}
		req := httptest.NewRequest("POST", "/", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240301/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=00")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != 501 {
			t.Fatalf("monitoring %s: status %d: %s", form, rec.Code, rec.Body.String())
		}
		srv.cloudwatch.EvaluateNow()
	})
}
