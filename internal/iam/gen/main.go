// Command gen writes managed_policies.json.gz, the catalogue of AWS managed
// policies that nephele's IAM serves under arn:aws:iam::aws:policy/...
//
// The documents, paths, version IDs and dates are AWS's published ones, read
// from the snapshot of every AWS managed policy that the moto package ships
// (moto/iam/aws_managed_policies.py). Only the policies named below are
// kept: the ones tutorials, Terraform modules and the AWS docs attach most,
// so the binary stays small. Descriptions are AWS's, written in here because
// the snapshot has none.
//
// Run it with `go generate ./internal/iam`; it needs python3 with moto only
// to find the snapshot (or MOTO_MANAGED_POLICIES pointing at the file).
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// catalogue maps each policy kept to its AWS description ("" when AWS gives
// none).
var catalogue = map[string]string{
	"AdministratorAccess":                         "Provides full access to AWS services and resources.",
	"ReadOnlyAccess":                              "Provides read-only access to AWS services and resources.",
	"PowerUserAccess":                             "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
	"ViewOnlyAccess":                              "This policy grants permissions to view resources and basic metadata across all AWS services.",
	"SystemAdministrator":                         "Grants full access permissions necessary for resources required for application and development operations.",
	"NetworkAdministrator":                        "Grants full access permissions to AWS services and actions required to set up and configure AWS network resources.",
	"DatabaseAdministrator":                       "Grants full access permissions to AWS services and actions required to set up and configure AWS database services.",
	"IAMFullAccess":                               "Provides full access to IAM via the AWS Management Console.",
	"IAMReadOnlyAccess":                           "Provides read only access to IAM via the AWS Management Console.",
	"AmazonEC2FullAccess":                         "Provides full access to Amazon EC2 via the AWS Management Console.",
	"AmazonEC2ReadOnlyAccess":                     "Provides read only access to Amazon EC2 via the AWS Management Console.",
	"AmazonEC2RoleforSSM":                         "This policy will soon be deprecated. Please use AmazonSSMManagedInstanceCore policy to enable AWS Systems Manager service core functionality on EC2 instances.",
	"AmazonEC2ContainerRegistryReadOnly":          "Provides read-only access to Amazon EC2 Container Registry repositories.",
	"AmazonEC2ContainerServiceforEC2Role":         "Default policy for the Amazon EC2 Role for Amazon EC2 Container Service.",
	"AmazonEC2SpotFleetTaggingRole":               "Allows EC2 Spot Fleet to request, terminate and tag Spot Instances on your behalf.",
	"AmazonECSTaskExecutionRolePolicy":            "Provides access to other AWS service resources that are required to run Amazon ECS tasks",
	"AmazonEKSClusterPolicy":                      "This policy provides Kubernetes the permissions it requires to manage resources on your behalf. Kubernetes requires Ec2:CreateTags permissions to place identifying information on EC2 resources including but not limited to Instances, Security Groups, and Elastic Network Interfaces.",
	"AmazonEKSWorkerNodePolicy":                   "This policy allows Amazon EKS worker nodes to connect to Amazon EKS Clusters.",
	"AmazonEKS_CNI_Policy":                        "This policy provides the Amazon VPC CNI Plugin (amazon-vpc-cni-k8s) the permissions it requires to modify the IP address configuration on your EKS worker nodes.",
	"AmazonS3FullAccess":                          "Provides full access to all buckets via the AWS Management Console.",
	"AmazonS3ReadOnlyAccess":                      "Provides read only access to all buckets via the AWS Management Console.",
	"AmazonSSMManagedInstanceCore":                "The policy for Amazon EC2 Role to enable AWS Systems Manager service core functionality.",
	"AmazonSSMFullAccess":                         "Provides full access to Amazon SSM.",
	"AmazonSSMReadOnlyAccess":                     "Provides read only access to Amazon SSM.",
	"AmazonVPCFullAccess":                         "Provides full access to Amazon VPC via the AWS Management Console.",
	"AmazonVPCReadOnlyAccess":                     "Provides read only access to Amazon VPC via the AWS Management Console.",
	"AmazonDynamoDBFullAccess":                    "Provides full access to Amazon DynamoDB via the AWS Management Console.",
	"AmazonRDSFullAccess":                         "Provides full access to Amazon RDS via the AWS Management Console.",
	"AmazonSQSFullAccess":                         "Provides full access to Amazon SQS via the AWS Management Console.",
	"AmazonSNSFullAccess":                         "Provides full access to Amazon SNS via the AWS Management Console.",
	"AmazonKinesisFullAccess":                     "Provides full access to all streams via the AWS Management Console.",
	"AmazonEventBridgeFullAccess":                 "Provides full access to Amazon EventBridge.",
	"AutoScalingFullAccess":                       "Provides full access to Auto Scaling.",
	"AutoScalingReadOnlyAccess":                   "Provides read-only access to Auto Scaling.",
	"AutoScalingConsoleFullAccess":                "Provides full access to Auto Scaling via the AWS Management Console.",
	"ElasticLoadBalancingFullAccess":              "Provides full access to Amazon ElasticLoadBalancing, and limited access to other services necessary to provide ElasticLoadBalancing features.",
	"ElasticLoadBalancingReadOnly":                "Provides read only access to Amazon ElasticLoadBalancing and dependent services",
	"CloudWatchAgentServerPolicy":                 "Permissions required to use AmazonCloudWatchAgent on servers",
	"CloudWatchFullAccess":                        "Provides full access to CloudWatch.",
	"CloudWatchReadOnlyAccess":                    "Provides read only access to CloudWatch.",
	"CloudWatchLogsFullAccess":                    "Provides full access to CloudWatch Logs",
	"CloudWatchLogsReadOnlyAccess":                "Provides read only access to CloudWatch Logs",
	"CloudWatchEventsFullAccess":                  "Provides full access to Amazon CloudWatch Events.",
	"CloudWatchLambdaInsightsExecutionRolePolicy": "Policy for AWS Lambda Insights Extension",
	"AWSLambda_FullAccess":                        "Grants full access to AWS Lambda service, AWS Lambda console features, and other related AWS services.",
	"AWSLambdaExecute":                            "Provides Put, Get access to S3 and full access to CloudWatch Logs.",
	"AWSLambdaRole":                               "Default policy for AWS Lambda service role.",
	"AWSLambdaBasicExecutionRole":                 "Provides write permissions to CloudWatch Logs.",
	"AWSLambdaVPCAccessExecutionRole":             "Provides minimum permissions for a Lambda function to execute while accessing a resource within a VPC - create, describe, delete network interfaces and write permissions to CloudWatch Logs. ",
	"AWSLambdaSQSQueueExecutionRole":              "Provides receive message, delete message, and read attribute access to SQS queues, and write permissions to CloudWatch logs.",
	"AWSLambdaDynamoDBExecutionRole":              "Provides list and read access to DynamoDB streams and write permissions to CloudWatch logs.",
	"AWSLambdaKinesisExecutionRole":               "Provides list and read access to Kinesis streams and write permissions to CloudWatch logs.",
	"AWSXRayDaemonWriteAccess":                    "Allow the AWS X-Ray Daemon to relay raw trace segments data to the service's API and retrieve sampling data (rules, targets, etc.) to be used by the X-Ray SDK.",
	"AWSCloudFormationFullAccess":                 "Provides full access to AWS CloudFormation.",
	"AWSCodeDeployRole":                           "Provides CodeDeploy service access to expand tags and interact with Auto Scaling on your behalf.",
	"SecretsManagerReadWrite":                     "Provides read/write access to AWS Secrets Manager via the AWS Management Console. Note: this exludes IAM actions, so combine with IAMFullAccess if rotation configuration is required.",
}

// snapshot is one entry of moto's snapshot.
type snapshot struct {
	Path             string
	DefaultVersionId string
	CreateDate       string
	UpdateDate       string
	Document         json.RawMessage
}

// Policy is one entry of the catalogue written; the iam package reads the
// same fields.
type Policy struct {
	Name             string
	Path             string
	Description      string `json:",omitempty"`
	DefaultVersionId string
	CreateDate       string
	UpdateDate       string
	Document         string
}

func main() {
	out := flag.String("out", "managed_policies.json.gz", "file to write")
	flag.Parse()
	src, err := snapshotFile()
	if err != nil {
		log.Fatal(err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		log.Fatal(err)
	}
	// The snapshot is a Python module holding one JSON string literal.
	text := string(data)
	start := strings.Index(text, `"""`)
	end := strings.LastIndex(text, `"""`)
	if start < 0 || end <= start {
		log.Fatalf("%s: no JSON literal found", src)
	}
	var all map[string]snapshot
	if err := json.Unmarshal([]byte(text[start+3:end]), &all); err != nil {
		log.Fatalf("%s: %v", src, err)
	}
	var policies []Policy
	for name, desc := range catalogue {
		p, ok := all[name]
		if !ok {
			log.Fatalf("%s is not in the snapshot", name)
		}
		doc, err := document(p.Document)
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		policies = append(policies, Policy{Name: name, Path: p.Path, Description: desc,
			DefaultVersionId: p.DefaultVersionId, CreateDate: p.CreateDate, UpdateDate: p.UpdateDate, Document: doc})
	}
	sort.Slice(policies, func(i, j int) bool { return policies[i].Name < policies[j].Name })
	js, err := json.MarshalIndent(policies, "", " ")
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(js)
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d policies to %s (%d bytes)\n", len(policies), *out, buf.Len())
}

// document renders a policy document as AWS shows managed policies: Version
// first, then Statement, indented with four spaces.
func document(raw json.RawMessage) (string, error) {
	var d struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(d, "", "    ")
	return string(b), err
}

// snapshotFile finds moto's aws_managed_policies.py.
func snapshotFile() (string, error) {
	if f := os.Getenv("MOTO_MANAGED_POLICIES"); f != "" {
		return f, nil
	}
	out, err := exec.Command("python3", "-c",
		"import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec('moto').origin), 'iam', 'aws_managed_policies.py'))").Output()
	if err != nil {
		return "", fmt.Errorf("finding moto (pip install moto, or set MOTO_MANAGED_POLICIES): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
