package ec2

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/store"
)

// bucketRegions marks the account/region pairs whose defaults exist, so a
// restart with --data-dir does not make a second default VPC.
const bucketRegions = "ec2/regions"

// regionRecord is what a region's defaults are.
type regionRecord struct {
	DefaultVPC string
}

// defaultVPCCIDR is the CIDR block of every default VPC; each default
// subnet takes the next /20 of it, one per Availability Zone.
var defaultVPCCIDR = netip.MustParsePrefix("172.31.0.0/16")

// seed makes sure the region of sc has what AWS gives every account in
// every region: a default VPC, a default subnet in each Availability Zone
// and the VPC's default security group. It runs once per region; later
// calls return at once.
func (s *Service) seed(sc scope) error {
	mark := sc.account + "/" + sc.region
	if _, ok := s.seeded.Load(mark); ok {
		return nil
	}
	err := s.st.Update(func(tx store.Tx) error {
		var r regionRecord
		err := tx.Get(bucketRegions, mark, &r)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return err
		}
		vpc := newVPC(sc, defaultVPCCIDR, true, awsid.New("dopt"))
		if err := tx.Put(vpcKind.bucket, sc.key(str(vpc.VpcId)), vpc); err != nil {
			return err
		}
		for i, zone := range catalog.AvailabilityZones(sc.region) {
			cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 31, byte(16 * i), 0}), 20)
			sn := newSubnet(sc, str(vpc.VpcId), cidr, zone, true)
			if err := tx.Put(subnetKind.bucket, sc.key(str(sn.SubnetId)), sn); err != nil {
				return err
			}
		}
		sg := newDefaultSecurityGroup(sc, str(vpc.VpcId))
		if err := putSecurityGroup(tx, sc, sg); err != nil {
			return err
		}
		return tx.Put(bucketRegions, mark, regionRecord{DefaultVPC: str(vpc.VpcId)})
	})
	if err != nil {
		return fmt.Errorf("ec2: default VPC of %s: %w", mark, err)
	}
	s.seeded.Store(mark, struct{}{})
	return nil
}
