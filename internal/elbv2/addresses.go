package elbv2

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/nephele-dev/nephele/internal/store"
)

// Each load balancer listens on a loopback address of its own, in
// 127.255.0.0/16 (127.255.0.1 to 127.255.255.254). EC2 gives an instance
// the loopback image of its subnet address (172.31.16.4 becomes
// 127.31.16.4, 10.0.1.5 becomes 127.0.1.5), so this range meets an
// instance's only in a VPC whose CIDR starts with x.255, which AWS's
// usual ranges (10.0-254, 172.16-31, 192.168) never do by default.
var lbRange = netip.MustParsePrefix("127.255.0.0/16")

// allocateIP takes a free address of lbRange for the load balancer whose
// store key is holder. It starts at a random point, so names do not
// predict addresses and freed ones are not reused at once.
func allocateIP(tx store.Tx, holder string) (string, error) {
	const size = 1 << 16
	start := rand.IntN(size)
	base := lbRange.Addr().As4()
	for i := range size {
		n := (start + i) % size
		if n == 0 || n == size-1 {
			continue // the network and broadcast addresses
		}
		a := base
		a[2], a[3] = byte(n>>8), byte(n)
		ip := netip.AddrFrom4(a).String()
		var taken string
		err := tx.Get(bucketAddresses, ip, &taken)
		if errors.Is(err, store.ErrNotFound) {
			return ip, tx.Put(bucketAddresses, ip, holder)
		}
		if err != nil {
			return "", err
		}
	}
	return "", errors.New("no free load balancer address in " + lbRange.String())
}

// releaseIP frees a load balancer's address.
func releaseIP(tx store.Tx, ip string) error {
	if ip == "" {
		return nil
	}
	return tx.Delete(bucketAddresses, ip)
}

// dnsName is a load balancer's DNS name, shaped as AWS's with
// "amazonaws.com" replaced by "localhost" (which resolves to loopback):
// an ALB's is NAME-DIGITS.REGION.elb.localhost (internal- in front for an
// internal one), an NLB's NAME-HEX.elb.REGION.localhost, as
// my-lb-1234567890.us-east-1.elb.amazonaws.com and
// my-nlb-0123456789abcdef.elb.us-east-1.amazonaws.com. The name keeps
// its case, as AWS's DNS names do.
func dnsName(lbType, scheme, name, region string) string {
	if lbType == "network" {
		return fmt.Sprintf("%s-%s.elb.%s.localhost", name, newID(), region)
	}
	prefix := ""
	if scheme == "internal" {
		prefix = "internal-"
	}
	return fmt.Sprintf("%s%s-%d.%s.elb.localhost", prefix, name, 1000000000+rand.IntN(1000000000), region)
}

// hostedZones are the Route 53 hosted zone IDs of ELB DNS names per
// region, for application and network load balancers (the "Elastic Load
// Balancing endpoints" table of the AWS General Reference).
var hostedZones = map[string][2]string{
	"us-east-1":      {"Z35SXDOTRQ7X7K", "Z26RNL4JYFTOTI"},
	"us-east-2":      {"Z3AADJGX6KTTL2", "ZLMOA37VPKANP"},
	"us-west-1":      {"Z368ELLRRE2KJ0", "Z24FKFUX50B4VW"},
	"us-west-2":      {"Z1H1FL5HABSF5", "Z18D5FSROUN65G"},
	"ca-central-1":   {"ZQSVJUPU6J1EY", "Z2EPGBW3API2WT"},
	"eu-west-1":      {"Z32O12XQLNTSW2", "Z2IFOLAFXWLO4F"},
	"eu-west-2":      {"ZHURV8PSTC4K8", "ZD4D7Y8KGAS4G"},
	"eu-west-3":      {"Z3Q77PNBQS71R4", "Z1CMS0P5QUZ6D5"},
	"eu-central-1":   {"Z215JYRZR1TBD5", "Z3F0SRJ5LGBH90"},
	"eu-north-1":     {"Z23TAZ7KBOOQQ", "Z1UDT6IFJ4EJM"},
	"ap-south-1":     {"ZP97RAFLXTNZK", "ZVDDRBQ08TROA"},
	"ap-northeast-1": {"Z14GRHDCWA56QT", "Z31USIVHYNEOWT"},
	"ap-northeast-2": {"ZWKZPGTI48KDX", "ZIBE1TIR4HY56"},
	"ap-southeast-1": {"Z1LMS91P8CMLE5", "ZKVM4W9LS7TM"},
	"ap-southeast-2": {"Z1GM3OXH4ZPM65", "ZCT6FZBF4DROD"},
	"sa-east-1":      {"Z2P70J7HTTTPLU", "ZTK26PT1VY4CU"},
}

// hostedZone is the CanonicalHostedZoneId of a load balancer; regions
// missing from the table get us-east-1's.
func hostedZone(lbType, region string) string {
	z, ok := hostedZones[region]
	if !ok {
		z = hostedZones["us-east-1"]
	}
	if lbType == "network" {
		return z[1]
	}
	return z[0]
}
