package ec2

import (
	"errors"
	"net/netip"

	"github.com/nephele-dev/nephele/internal/store"
)

// An instance's private address is a loopback address, so that a server
// its user-data starts can bind it and anything on the machine can reach
// it, without root. The address keeps the last three octets of the address
// the instance would have had in its subnet: a subnet 172.31.16.0/20 gives
// addresses 127.31.16.4 to 127.31.31.254. Two subnets whose blocks map to
// the same loopback range (the default VPCs of two regions, say) share it:
// addresses are unique across the whole machine, and an address in use
// elsewhere is skipped.

// bucketAddresses maps every loopback address in use to the key of the
// instance holding it; the keys are the addresses, unscoped, because the
// loopback network is one for all accounts and regions.
const bucketAddresses = "ec2/addresses"

// reservedAddresses are the loopback addresses never given to an
// instance: the first ones of 127.0.0.0/8 are where nephele and most local
// servers listen.
func reservedAddress(a netip.Addr) bool {
	b := a.As4()
	return b[1] == 0 && b[2] == 0 && b[3] < 16
}

// loopbackOf maps an address of a subnet to the loopback network.
func loopbackOf(a netip.Addr) netip.Addr {
	b := a.As4()
	b[0] = 127
	return netip.AddrFrom4(b)
}

// allocateAddress takes the first free loopback address of a subnet's
// block for the instance whose store key is holder. AWS keeps the first
// four addresses of a subnet and the last one; so does nephele.
func allocateAddress(tx store.Tx, subnet netip.Prefix, holder string) (netip.Addr, error) {
	subnet = subnet.Masked()
	size := uint64(1) << (32 - subnet.Bits())
	a := subnet.Addr()
	for i := uint64(0); i < size-1; i, a = i+1, a.Next() {
		if i < 4 {
			continue
		}
		lo := loopbackOf(a)
		if reservedAddress(lo) {
			continue
		}
		var taken string
		err := tx.Get(bucketAddresses, lo.String(), &taken)
		if errors.Is(err, store.ErrNotFound) {
			return lo, tx.Put(bucketAddresses, lo.String(), holder)
		}
		if err != nil {
			return netip.Addr{}, err
		}
	}
	return netip.Addr{}, errNoAddress
}

// errNoAddress reports a subnet with no free address.
var errNoAddress = errors.New("no free address in the subnet")

// releaseAddress frees an address, if holder still holds it.
func releaseAddress(tx store.Tx, addr, holder string) error {
	var taken string
	err := tx.Get(bucketAddresses, addr, &taken)
	if errors.Is(err, store.ErrNotFound) || (err == nil && taken != holder) {
		return nil
	}
	if err != nil {
		return err
	}
	return tx.Delete(bucketAddresses, addr)
}
