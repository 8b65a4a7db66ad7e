package e2e

import (
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestBoto3ComputeServices drives Auto Scaling, ELBv2 and Lambda through
// boto3: a Lambda function created from a zip and invoked (payload,
// executed version, error shape), a target group, load balancer and
// listener with their errors, and a warm pool and instance refresh on a
// group; botocore's own parsers read every answer.
func TestBoto3ComputeServices(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	env := testenv.Start(t, server.Config{TimeScale: 10})
	script := `
import boto3, io, json, time, zipfile
out = {}
lam = boto3.client("lambda")
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("app.py", "def handler(event, context):\n    return {'got': event, 'fn': context.function_name}\n")
lam.create_function(FunctionName="py-fn", Runtime="python3.12", Handler="app.handler",
    Role="arn:aws:iam::000000000000:role/lambda", Code={"ZipFile": buf.getvalue()})
lam.get_waiter("function_active_v2").wait(FunctionName="py-fn", WaiterConfig={"Delay": 1})
r = lam.invoke(FunctionName="py-fn", Payload=json.dumps({"n": 1}))
out["invoke"] = json.loads(r["Payload"].read())
out["version"] = r["ExecutedVersion"]
try:
    lam.get_function(FunctionName="nope")
except lam.exceptions.ResourceNotFoundException as e:
    out["missing"] = e.response["Error"]["Code"]

ec2 = boto3.client("ec2")
subnets = [s for s in ec2.describe_subnets()["Subnets"] if s["DefaultForAz"]]
elb = boto3.client("elbv2")
tg = elb.create_target_group(Name="py-tg", Protocol="HTTP", Port=8080, VpcId=subnets[0]["VpcId"])["TargetGroups"][0]
lb = elb.create_load_balancer(Name="py-lb", Subnets=[s["SubnetId"] for s in subnets[:2]])["LoadBalancers"][0]
elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
    DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain", "MessageBody": "hi"}}])
out["lb"] = elb.describe_load_balancers(Names=["py-lb"])["LoadBalancers"][0]["Type"]
out["hc"] = elb.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])["TargetGroups"][0]["HealthCheckPath"]
try:
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
except elb.exceptions.DuplicateListenerException as e:
    out["dup"] = e.response["Error"]["Code"]

image = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-2023.*-x86_64"]}])["Images"][0]["ImageId"]
ec2.create_launch_template(LaunchTemplateName="py-lt", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"})
asg = boto3.client("autoscaling")
asg.create_auto_scaling_group(AutoScalingGroupName="py-asg", MinSize=0, MaxSize=3, DesiredCapacity=1,
    LaunchTemplate={"LaunchTemplateName": "py-lt"}, AvailabilityZones=["us-east-1a"], TargetGroupARNs=[tg["TargetGroupArn"]])
asg.put_warm_pool(AutoScalingGroupName="py-asg", MinSize=1)
out["pool"] = asg.describe_warm_pool(AutoScalingGroupName="py-asg")["WarmPoolConfiguration"]["PoolState"]
rid = asg.start_instance_refresh(AutoScalingGroupName="py-asg")["InstanceRefreshId"]
out["refresh"] = asg.describe_instance_refreshes(AutoScalingGroupName="py-asg")["InstanceRefreshes"][0]["InstanceRefreshId"] == rid
out["tgs"] = asg.describe_load_balancer_target_groups(AutoScalingGroupName="py-asg")["LoadBalancerTargetGroups"][0]["LoadBalancerTargetGroupARN"] == tg["TargetGroupArn"]
asg.delete_auto_scaling_group(AutoScalingGroupName="py-asg", ForceDelete=True)
print(json.dumps(out))
`
	cmd := exec.Command("python3", "-c", script)
	cmd.Env = env.ClientEnv(t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	var res struct {
		Invoke                   map[string]any
		Version, Missing, LB, HC string
		Dup, Pool                string
		Refresh, TGs             bool
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("boto3 output %s: %v", out, err)
	}
	if res.Invoke["fn"] != "py-fn" || res.Version != "$LATEST" || res.Missing != "ResourceNotFoundException" ||
		res.LB != "application" || res.HC != "/" || res.Dup != "DuplicateListener" || res.Pool != "Stopped" || !res.Refresh || !res.TGs {
		t.Errorf("boto3 saw %s", out)
	}
}
