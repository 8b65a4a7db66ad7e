// Command imdsclient runs inside an instance as its user-data and prints
// what the Go SDK's own IMDS client learns there: the instance's ID and
// region. The e2e tests build it and read its output from the console.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

func main() {
	ctx := context.Background()
	// The client finds the metadata service through
	// AWS_EC2_METADATA_SERVICE_ENDPOINT, as in any AWS environment.
	client := imds.New(imds.Options{})
	doc, err := client.GetInstanceIdentityDocument(ctx, &imds.GetInstanceIdentityDocumentInput{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "imdsclient:", err)
		os.Exit(1)
	}
	region, err := client.GetRegion(ctx, &imds.GetRegionInput{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "imdsclient:", err)
		os.Exit(1)
	}
	fmt.Printf("imdsclient instance=%s region=%s\n", doc.InstanceID, region.Region)
}
