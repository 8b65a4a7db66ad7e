package ec2

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/service"
)

// Instance types and their offerings come from the catalogue
// (catalog/instancetypes.go): AWS's own records of each type, and where each
// is offered.

func (s *Service) instanceTypeOperations() []service.Operation {
	return []service.Operation{
		service.Handle("DescribeInstanceTypes", s.DescribeInstanceTypes),
		service.Handle("DescribeInstanceTypeOfferings", s.DescribeInstanceTypeOfferings),
	}
}

// Page limits, from the model: DescribeInstanceTypes pages hold 5 to 100
// types, DescribeInstanceTypeOfferings pages 5 to 1000 offerings.
const (
	maxInstanceTypesPage = 100
	maxOfferingsPage     = 1000
)

// The filter field builders of DescribeInstanceTypes: each reads one member
// of a type's record, absent (nil) meaning the type has no value for it.

func typeBool(get func(api.InstanceTypeInfo) *bool) func(api.InstanceTypeInfo) []string {
	return func(t api.InstanceTypeInfo) []string {
		if v := get(t); v != nil {
			return []string{strconv.FormatBool(*v)}
		}
		return nil
	}
}

func typeString(get func(api.InstanceTypeInfo) *string) func(api.InstanceTypeInfo) []string {
	return func(t api.InstanceTypeInfo) []string {
		if v := get(t); v != nil {
			return []string{*v}
		}
		return nil
	}
}

func typeNumber[N int32 | int64 | float64](get func(api.InstanceTypeInfo) *N) func(api.InstanceTypeInfo) []string {
	return func(t api.InstanceTypeInfo) []string {
		if v := get(t); v != nil {
			return []string{fmt.Sprint(*v)}
		}
		return nil
	}
}

func typeList[E any](get func(api.InstanceTypeInfo) []E) func(api.InstanceTypeInfo) []string {
	return func(t api.InstanceTypeInfo) []string {
		var out []string
		for _, v := range get(t) {
			out = append(out, fmt.Sprint(v))
		}
		return out
	}
}

// ebs, network, storage, processor and vcpu return a record's nested
// structure, or an empty one, so the field functions need no nil checks.
func ebs(t api.InstanceTypeInfo) api.EbsInfo {
	if t.EbsInfo == nil {
		return api.EbsInfo{}
	}
	return *t.EbsInfo
}

func ebsOptimized(t api.InstanceTypeInfo) api.EbsOptimizedInfo {
	if e := ebs(t); e.EbsOptimizedInfo != nil {
		return *e.EbsOptimizedInfo
	}
	return api.EbsOptimizedInfo{}
}

func network(t api.InstanceTypeInfo) api.NetworkInfo {
	if t.NetworkInfo == nil {
		return api.NetworkInfo{}
	}
	return *t.NetworkInfo
}

func storage(t api.InstanceTypeInfo) api.InstanceStorageInfo {
	if t.InstanceStorageInfo == nil {
		return api.InstanceStorageInfo{}
	}
	return *t.InstanceStorageInfo
}

func processor(t api.InstanceTypeInfo) api.ProcessorInfo {
	if t.ProcessorInfo == nil {
		return api.ProcessorInfo{}
	}
	return *t.ProcessorInfo
}

func vcpu(t api.InstanceTypeInfo) api.VCpuInfo {
	if t.VCpuInfo == nil {
		return api.VCpuInfo{}
	}
	return *t.VCpuInfo
}

// disks lists one value per local disk of a type.
func disks(get func(api.DiskInfo) string) func(api.InstanceTypeInfo) []string {
	return func(t api.InstanceTypeInfo) []string {
		var out []string
		for _, d := range storage(t).Disks {
			out = append(out, get(d))
		}
		return out
	}
}

// instanceTypeFields are DescribeInstanceTypes's filters, as the EC2 API
// reference lists them.
var instanceTypeFields = filter.Fields[api.InstanceTypeInfo]{
	"auto-recovery-supported":         typeBool(func(t api.InstanceTypeInfo) *bool { return t.AutoRecoverySupported }),
	"bare-metal":                      typeBool(func(t api.InstanceTypeInfo) *bool { return t.BareMetal }),
	"burstable-performance-supported": typeBool(func(t api.InstanceTypeInfo) *bool { return t.BurstablePerformanceSupported }),
	"current-generation":              typeBool(func(t api.InstanceTypeInfo) *bool { return t.CurrentGeneration }),
	"dedicated-hosts-supported":       typeBool(func(t api.InstanceTypeInfo) *bool { return t.DedicatedHostsSupported }),
	"free-tier-eligible":              typeBool(func(t api.InstanceTypeInfo) *bool { return t.FreeTierEligible }),
	"hibernation-supported":           typeBool(func(t api.InstanceTypeInfo) *bool { return t.HibernationSupported }),
	"instance-storage-supported":      typeBool(func(t api.InstanceTypeInfo) *bool { return t.InstanceStorageSupported }),
	"hypervisor":                      typeString(func(t api.InstanceTypeInfo) *string { return t.Hypervisor }),
	"instance-type":                   typeString(func(t api.InstanceTypeInfo) *string { return t.InstanceType }),
	"nitro-enclaves-support":          typeString(func(t api.InstanceTypeInfo) *string { return t.NitroEnclavesSupport }),
	"nitro-tpm-support":               typeString(func(t api.InstanceTypeInfo) *string { return t.NitroTpmSupport }),
	"reboot-migration-support":        typeString(func(t api.InstanceTypeInfo) *string { return t.RebootMigrationSupport }),
	"memory-info.size-in-mib":         typeNumber(func(t api.InstanceTypeInfo) *int64 { return memorySize(t) }),
	"supported-boot-mode":             typeList(func(t api.InstanceTypeInfo) []string { return t.SupportedBootModes }),
	"supported-root-device-type":      typeList(func(t api.InstanceTypeInfo) []string { return t.SupportedRootDeviceTypes }),
	"supported-usage-class":           typeList(func(t api.InstanceTypeInfo) []string { return t.SupportedUsageClasses }),
	"supported-virtualization-type":   typeList(func(t api.InstanceTypeInfo) []string { return t.SupportedVirtualizationTypes }),

	"ebs-info.attachment-limit-type":   typeString(func(t api.InstanceTypeInfo) *string { return ebs(t).AttachmentLimitType }),
	"ebs-info.maximum-ebs-attachments": typeNumber(func(t api.InstanceTypeInfo) *int32 { return ebs(t).MaximumEbsAttachments }),
	"ebs-info.ebs-optimized-support":   typeString(func(t api.InstanceTypeInfo) *string { return ebs(t).EbsOptimizedSupport }),
	"ebs-info.encryption-support":      typeString(func(t api.InstanceTypeInfo) *string { return ebs(t).EncryptionSupport }),
	"ebs-info.nvme-support":            typeString(func(t api.InstanceTypeInfo) *string { return ebs(t).NvmeSupport }),
	"ebs-info.ebs-optimized-info.baseline-bandwidth-in-mbps": typeNumber(func(t api.InstanceTypeInfo) *int32 {
		return ebsOptimized(t).BaselineBandwidthInMbps
	}),
	"ebs-info.ebs-optimized-info.baseline-iops": typeNumber(func(t api.InstanceTypeInfo) *int32 { return ebsOptimized(t).BaselineIops }),
	"ebs-info.ebs-optimized-info.baseline-throughput-in-mbps": typeNumber(func(t api.InstanceTypeInfo) *float64 {
		return ebsOptimized(t).BaselineThroughputInMBps
	}),
	"ebs-info.ebs-optimized-info.maximum-bandwidth-in-mbps": typeNumber(func(t api.InstanceTypeInfo) *int32 {
		return ebsOptimized(t).MaximumBandwidthInMbps
	}),
	"ebs-info.ebs-optimized-info.maximum-iops": typeNumber(func(t api.InstanceTypeInfo) *int32 { return ebsOptimized(t).MaximumIops }),
	"ebs-info.ebs-optimized-info.maximum-throughput-in-mbps": typeNumber(func(t api.InstanceTypeInfo) *float64 {
		return ebsOptimized(t).MaximumThroughputInMBps
	}),

	"instance-storage-info.disk.count":         disks(func(d api.DiskInfo) string { return fmt.Sprint(deref(d.Count)) }),
	"instance-storage-info.disk.size-in-gb":    disks(func(d api.DiskInfo) string { return fmt.Sprint(deref(d.SizeInGB)) }),
	"instance-storage-info.disk.type":          disks(func(d api.DiskInfo) string { return str(d.Type) }),
	"instance-storage-info.encryption-support": typeString(func(t api.InstanceTypeInfo) *string { return storage(t).EncryptionSupport }),
	"instance-storage-info.nvme-support":       typeString(func(t api.InstanceTypeInfo) *string { return storage(t).NvmeSupport }),
	"instance-storage-info.total-size-in-gb":   typeNumber(func(t api.InstanceTypeInfo) *int64 { return storage(t).TotalSizeInGB }),

	"network-info.bandwidth-weightings": typeList(func(t api.InstanceTypeInfo) []string { return network(t).BandwidthWeightings }),
	"network-info.efa-info.maximum-efa-interfaces": typeNumber(func(t api.InstanceTypeInfo) *int32 {
		if e := network(t).EfaInfo; e != nil {
			return e.MaximumEfaInterfaces
		}
		return nil
	}),
	"network-info.efa-supported":                   typeBool(func(t api.InstanceTypeInfo) *bool { return network(t).EfaSupported }),
	"network-info.ena-support":                     typeString(func(t api.InstanceTypeInfo) *string { return network(t).EnaSupport }),
	"network-info.flexible-ena-queues-support":     typeString(func(t api.InstanceTypeInfo) *string { return network(t).FlexibleEnaQueuesSupport }),
	"network-info.encryption-in-transit-supported": typeBool(func(t api.InstanceTypeInfo) *bool { return network(t).EncryptionInTransitSupported }),
	"network-info.ipv4-addresses-per-interface":    typeNumber(func(t api.InstanceTypeInfo) *int32 { return network(t).Ipv4AddressesPerInterface }),
	"network-info.ipv6-addresses-per-interface":    typeNumber(func(t api.InstanceTypeInfo) *int32 { return network(t).Ipv6AddressesPerInterface }),
	"network-info.ipv6-supported":                  typeBool(func(t api.InstanceTypeInfo) *bool { return network(t).Ipv6Supported }),
	"network-info.maximum-network-cards":           typeNumber(func(t api.InstanceTypeInfo) *int32 { return network(t).MaximumNetworkCards }),
	"network-info.maximum-network-interfaces":      typeNumber(func(t api.InstanceTypeInfo) *int32 { return network(t).MaximumNetworkInterfaces }),
	"network-info.network-performance":             typeString(func(t api.InstanceTypeInfo) *string { return network(t).NetworkPerformance }),

	"nitro-tpm-info.supported-versions": typeList(func(t api.InstanceTypeInfo) []string {
		if n := t.NitroTpmInfo; n != nil {
			return n.SupportedVersions
		}
		return nil
	}),
	"processor-info.supported-architecture":       typeList(func(t api.InstanceTypeInfo) []string { return processor(t).SupportedArchitectures }),
	"processor-info.supported-features":           typeList(func(t api.InstanceTypeInfo) []string { return processor(t).SupportedFeatures }),
	"processor-info.sustained-clock-speed-in-ghz": typeNumber(func(t api.InstanceTypeInfo) *float64 { return processor(t).SustainedClockSpeedInGhz }),
	"processor-info.manufacturer":                 typeString(func(t api.InstanceTypeInfo) *string { return processor(t).Manufacturer }),

	"vcpu-info.default-cores":            typeNumber(func(t api.InstanceTypeInfo) *int32 { return vcpu(t).DefaultCores }),
	"vcpu-info.default-threads-per-core": typeNumber(func(t api.InstanceTypeInfo) *int32 { return vcpu(t).DefaultThreadsPerCore }),
	"vcpu-info.default-vcpus":            typeNumber(func(t api.InstanceTypeInfo) *int32 { return vcpu(t).DefaultVCpus }),
	"vcpu-info.valid-cores":              typeList(func(t api.InstanceTypeInfo) []int32 { return vcpu(t).ValidCores }),
	"vcpu-info.valid-threads-per-core":   typeList(func(t api.InstanceTypeInfo) []int32 { return vcpu(t).ValidThreadsPerCore }),
}

func memorySize(t api.InstanceTypeInfo) *int64 {
	if t.MemoryInfo == nil {
		return nil
	}
	return t.MemoryInfo.SizeInMiB
}

// DescribeInstanceTypes describes the instance types offered in the
// request's Region, or the types named (each must exist: EC2 answers
// InvalidInstanceType naming those that do not), with the filters of the
// EC2 API reference (values may use wildcards, "c5*") and pages of at most
// 100.
func (s *Service) DescribeInstanceTypes(ctx context.Context, in *api.DescribeInstanceTypesInput) (*api.DescribeInstanceTypesOutput, error) {
	sc := scopeOf(ctx)
	var types []api.InstanceTypeInfo
	if len(in.InstanceTypes) > 0 {
		var missing []string
		for _, name := range in.InstanceTypes {
			info, ok := catalog.InstanceType(name)
			if !ok {
				missing = append(missing, name)
				continue
			}
			types = append(types, info)
		}
		if len(missing) > 0 {
			return nil, awserr.BadRequest("InvalidInstanceType", "The following supplied instance types do not exist: [%s]", strings.Join(missing, ", "))
		}
	} else {
		offered, _ := catalog.InstanceTypeOfferings(catalog.LocationRegion, sc.region)
		for _, o := range offered {
			if info, ok := catalog.InstanceType(str(o.InstanceType)); ok {
				types = append(types, info)
			}
		}
	}
	matched, err := filter.Apply(types, toFilters(in.Filters), instanceTypeFields, nil)
	if err != nil {
		return nil, err
	}
	if m := deref(in.MaxResults); in.MaxResults != nil && (m < 5 || m > maxInstanceTypesPage) {
		return nil, invalidParameterValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and %d.", m, maxInstanceTypesPage)
	}
	out, next, err := page.ByKey(matched, func(t api.InstanceTypeInfo) string { return str(t.InstanceType) },
		str(in.NextToken), int(deref(in.MaxResults)), maxInstanceTypesPage, maxInstanceTypesPage)
	if err != nil {
		return nil, pageError(err, str(in.NextToken), maxInstanceTypesPage)
	}
	return &api.DescribeInstanceTypesOutput{InstanceTypes: nonNil(out), NextToken: optional(next)}, nil
}

// offeringFields are DescribeInstanceTypeOfferings's filters.
var offeringFields = filter.Fields[api.InstanceTypeOffering]{
	"instance-type": func(o api.InstanceTypeOffering) []string { return []string{str(o.InstanceType)} },
	"location":      func(o api.InstanceTypeOffering) []string { return []string{str(o.Location)} },
}

// DescribeInstanceTypeOfferings lists where instance types are offered in
// the request's Region: per Region (the default), per Availability Zone or
// per AZ ID, as LocationType says, ordered by location then type, in pages
// of at most 1000.
func (s *Service) DescribeInstanceTypeOfferings(ctx context.Context, in *api.DescribeInstanceTypeOfferingsInput) (*api.DescribeInstanceTypeOfferingsOutput, error) {
	sc := scopeOf(ctx)
	locationType := str(in.LocationType)
	if locationType == "" {
		locationType = catalog.LocationRegion
	}
	offerings, ok := catalog.InstanceTypeOfferings(locationType, sc.region)
	if !ok {
		return nil, invalidParameterValue("Value (%s) for parameter locationType is invalid.", locationType)
	}
	matched, err := filter.Apply(offerings, toFilters(in.Filters), offeringFields, nil)
	if err != nil {
		return nil, err
	}
	if m := deref(in.MaxResults); in.MaxResults != nil && (m < 5 || m > maxOfferingsPage) {
		return nil, invalidParameterValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and %d.", m, maxOfferingsPage)
	}
	out, next, err := page.ByKey(matched, func(o api.InstanceTypeOffering) string { return str(o.Location) + "\x00" + str(o.InstanceType) },
		str(in.NextToken), int(deref(in.MaxResults)), maxOfferingsPage, maxOfferingsPage)
	if err != nil {
		return nil, pageError(err, str(in.NextToken), maxOfferingsPage)
	}
	return &api.DescribeInstanceTypeOfferingsOutput{InstanceTypeOfferings: nonNil(out), NextToken: optional(next)}, nil
}
