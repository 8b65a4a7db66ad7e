package catalog

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"strings"
	"time"
)

// Prices here are synthetic. OnDemandPrice is an estimate of the Linux
// on-demand price in us-east-1 from a type's vCPUs, memory, instance store
// and GPUs, calibrated on a few published prices (m5.large $0.096/h,
// c5.large $0.085/h, r5.large $0.126/h, t3.micro $0.0104/h, i3.large
// $0.156/h, g4dn.xlarge $0.526/h, p4d.24xlarge $32.77/h): close enough to
// rank types and to make Spot savings look right, not a bill. SpotPrice
// moves deterministically with the type, the zone and the hour, so two
// runs, or two nephele processes, agree.

// Rates of the on-demand estimate, in USD per hour.
const (
	perVCPU         = 0.037
	perGiB          = 0.00275
	perInstanceGB   = 0.000084 // NVMe instance store
	perBurstableGiB = 0.0104   // t3: $0.0104 per GiB-hour from nano to 2xlarge
)

// gpuPrices is the hourly price of one GPU, by the GPU name
// DescribeInstanceTypes gives; other GPUs are priced by their memory.
var gpuPrices = map[string]float64{"T4": 0.32, "A100": 3.17}

const perGPUGiB = 0.03

// OnDemandPrice returns the estimated on-demand price of an instance type in
// USD per hour, rounded to four decimals, or false for an unknown type.
func OnDemandPrice(instanceType string) (float64, bool) {
	rec, ok := lookupType(instanceType)
	if !ok {
		return 0, false
	}
	s := &rec.summary
	memGiB := float64(s.MemoryInfo.SizeInMiB) / 1024
	var price float64
	if s.BurstablePerformanceSupported {
		price = memGiB * perBurstableGiB
		if family(instanceType) == "t2" {
			price *= 1.115 // t2.micro is $0.0116/h against t3.micro's $0.0104
		}
	} else {
		price = float64(s.VCpuInfo.DefaultVCpus)*perVCPU + memGiB*perGiB +
			float64(s.InstanceStorageInfo.TotalSizeInGB)*perInstanceGB
		for _, g := range s.GpuInfo.Gpus {
			each, ok := gpuPrices[g.Name]
			if !ok {
				each = float64(g.MemoryInfo.SizeInMiB) / 1024 * perGPUGiB
			}
			price += float64(g.Count) * each
		}
	}
	price *= processorFactor(instanceType, s.ProcessorInfo.Manufacturer)
	return math.Round(price*1e4) / 1e4, true
}

// processorFactor discounts AMD and Graviton types as AWS prices them:
// about 10% and 20% below the Intel type of the same size, and Graviton3
// (7g) a little above Graviton2.
func processorFactor(instanceType, manufacturer string) float64 {
	fam := family(instanceType)
	switch {
	case manufacturer == "AWS" && strings.Contains(fam, "7"):
		return 0.85
	case manufacturer == "AWS":
		return 0.8
	case manufacturer == "AMD":
		return 0.9
	case strings.HasSuffix(fam, "-flex"):
		return 0.95
	}
	return 1
}

// SpotPrice returns the synthetic Spot price of an instance type in an
// Availability Zone at time t, in USD per hour rounded to six decimals (as
// DescribeSpotPriceHistory writes them), or 0 for an unknown type.
//
// The price is a fraction of OnDemandPrice between 0.3 and 0.7: a level
// drawn for each type and zone, moved by a slow random walk that changes
// once an hour, so the price is constant within an hour, drifts over a day
// and differs between zones. It never exceeds the on-demand price.
func SpotPrice(instanceType, az string, t time.Time) float64 {
	onDemand, ok := OnDemandPrice(instanceType)
	if !ok {
		return 0
	}
	level := 0.35 + 0.25*unit(instanceType, az, "level") // 0.35–0.60
	hour := t.UTC().Truncate(time.Hour).Unix() / 3600
	// The mean of the last six hourly draws: each hour replaces one of
	// six, so the price moves by small steps.
	var walk float64
	const window = 6
	for h := hour - window + 1; h <= hour; h++ {
		walk += 2*unitAt(instanceType, az, h) - 1 // −1..1
	}
	fraction := level + 0.1*walk/window
	fraction = min(max(fraction, 0.3), 0.7)
	return math.Round(onDemand*fraction*1e6) / 1e6
}

// unit is a number in [0, 1) drawn from a hash of its arguments.
func unit(parts ...string) float64 {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

func unitAt(instanceType, az string, hour int64) float64 {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(hour))
	return unit(instanceType, az, "hour", string(b[:]))
}
