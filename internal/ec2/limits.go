package ec2

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/store"
)

// Limits that protect the machine: a cap on live instances and on their
// vCPUs per region, each answered with AWS's error, and a fault switch
// that makes an instance type unavailable in an Availability Zone, to
// rehearse InsufficientInstanceCapacity.

// DefaultMaxVCPUs is the default cap on the vCPUs of a region's live
// instances.
const DefaultMaxVCPUs = 1024

// capacityFaults is the set of instance type and Availability Zone pairs
// the admin API has made unavailable.
type capacityFaults struct {
	mu  sync.Mutex
	out map[[2]string]bool // {type, az}
}

// set makes a type unavailable in an AZ, or available again.
func (f *capacityFaults) set(instanceType, az string, unavailable bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.out == nil {
		f.out = map[[2]string]bool{}
	}
	if unavailable {
		f.out[[2]string{instanceType, az}] = true
	} else {
		delete(f.out, [2]string{instanceType, az})
	}
}

// unavailable reports whether a type is out of capacity in an AZ.
func (f *capacityFaults) unavailable(instanceType, az string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out[[2]string{instanceType, az}] || f.out[[2]string{instanceType, "*"}] || f.out[[2]string{"*", az}]
}

// clear removes every fault.
func (f *capacityFaults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.out = nil
}

// capacity is how many instances of a type a launch of min to max may
// start in an Availability Zone: as many as fit under the caps on live
// instances and vCPUs, and at least min.
func (s *Service) capacity(tx store.Tx, sc scope, instanceType, az string, minCount, maxCount int) (int, error) {
	if s.faults.unavailable(instanceType, az) {
		return 0, insufficientCapacity(instanceType, az, sc.region)
	}
	live, vcpus := 0, 0
	err := tx.ForEach(instanceKind.bucket, sc.prefix(), func(_ string, decode func(any) error) error {
		var r instanceRecord
		if err := decode(&r); err != nil {
			return err
		}
		if st := r.state(); st != "terminated" && st != "shutting-down" && st != "stopped" && st != "stopping" {
			live++
			vcpus += catalog.VCPUs(str(r.InstanceType))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	room := s.opts.MaxInstances - live
	if room < minCount {
		return 0, awserr.BadRequest("InstanceLimitExceeded",
			"You have requested more instances (%d) than your current instance limit of %d allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.",
			minCount+live, s.opts.MaxInstances)
	}
	per := max(catalog.VCPUs(instanceType), 1)
	if fit := (s.opts.MaxVCPUs - vcpus) / per; fit < room {
		room = fit
	}
	if room < minCount {
		return 0, awserr.BadRequest("VcpuLimitExceeded",
			"You have requested more vCPU capacity than your current vCPU limit of %d allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.",
			s.opts.MaxVCPUs)
	}
	return min(room, maxCount), nil
}

// insufficientCapacity is AWS's answer when a type has no capacity in an
// AZ, naming the region's other zones.
func insufficientCapacity(instanceType, az, region string) error {
	var others []string
	for _, z := range catalog.AvailabilityZones(region) {
		if n := str(z.ZoneName); n != az {
			others = append(others, n)
		}
	}
	slices.Sort(others)
	return awserr.New(500, "InsufficientInstanceCapacity",
		"We currently do not have sufficient %s capacity in the Availability Zone you requested (%s). Our system will be working on provisioning additional capacity. You can currently get %s capacity by not specifying an Availability Zone in your request or choosing %s.",
		instanceType, az, instanceType, strings.Join(others, ", "))
}

func init() {
	adminRoutes = append(adminRoutes, adminRoute{"POST /capacity", (*Service).adminCapacity})
}

// capacityRequest is the body of POST /_nephele/ec2/capacity: make an
// instance type unavailable in an Availability Zone ("*" for every type or
// every zone), or available again.
type capacityRequest struct {
	InstanceType     string `json:"instanceType"`
	AvailabilityZone string `json:"availabilityZone"`
	Available        bool   `json:"available"`
}

// adminCapacity flips a capacity fault; launches of the type in the zone
// then fail with InsufficientInstanceCapacity, as when AWS runs out.
func (s *Service) adminCapacity(w http.ResponseWriter, r *http.Request) {
	var req capacityRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		adminJSON(w, http.StatusBadRequest, adminError{Status: "error", Message: "body must be JSON: " + err.Error()})
		return
	}
	if req.InstanceType == "" || req.AvailabilityZone == "" {
		adminJSON(w, http.StatusBadRequest, adminError{Status: "error", Message: "instanceType and availabilityZone are required (\"*\" means all)"})
		return
	}
	if req.InstanceType != "*" {
		if _, ok := catalog.InstanceType(req.InstanceType); !ok {
			adminJSON(w, http.StatusBadRequest, adminError{Status: "error", Message: "unknown instance type " + req.InstanceType})
			return
		}
	}
	if req.AvailabilityZone != "*" {
		if _, ok := catalog.AvailabilityZoneByName(req.AvailabilityZone); !ok {
			adminJSON(w, http.StatusBadRequest, adminError{Status: "error", Message: "unknown Availability Zone " + req.AvailabilityZone})
			return
		}
	}
	s.faults.set(req.InstanceType, req.AvailabilityZone, !req.Available)
	adminJSON(w, http.StatusOK, req)
}
