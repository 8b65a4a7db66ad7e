// Command gen writes instance_types.json.gz and offerings.json.gz, the
// instance type catalogue that nephele's EC2 serves from DescribeInstanceTypes
// and DescribeInstanceTypeOfferings.
//
// The figures are AWS's own DescribeInstanceTypes and
// DescribeInstanceTypeOfferings answers, as captured in the snapshot the moto
// package ships (moto/ec2/resources/instance_types.json.gz and
// moto/ec2/resources/instance_type_offerings/). Only the families named
// below are kept, in every size AWS sells, so the binary stays small.
//
// Run it with `go generate ./internal/ec2/catalog`; it needs python3 with
// moto only to find the snapshot (or MOTO_EC2_RESOURCES pointing at moto's
// ec2/resources directory).
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
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// families are the instance families kept: the burstable, general purpose,
// compute, memory, storage and GPU families that tutorials, Terraform
// modules and Auto Scaling mixed-instance policies use most.
var families = []string{
	"t2", "t3", "t3a", "t4g",
	"m5", "m6i", "m6g", "m7g", "m7i", "m7i-flex",
	"c5", "c6i", "c6g", "c7g", "c7i", "c7i-flex",
	"r5", "r6i", "r6g", "r7g",
	"i3", "i4i",
	"g4dn", "p4d",
}

// freeTier are the types that are free tier eligible besides those the
// snapshot marks: the snapshot reflects the free plan of accounts created
// after 15 July 2025 (t3/t4g micro and small, c7i-flex.large,
// m7i-flex.large); older accounts' free tier is t2.micro, which tutorials
// still use.
var freeTier = []string{"t2.micro"}

// regions are the regions whose offerings are kept; the catalog package
// lists the same ones.
var regions = []string{
	"af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
	"ap-southeast-4", "ap-southeast-5", "ca-central-1", "ca-west-1", "eu-central-1",
	"eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2",
	"eu-west-3", "il-central-1", "me-central-1", "me-south-1", "sa-east-1", "us-east-1",
	"us-east-2", "us-west-1", "us-west-2",
}

// Offerings is the offerings file: per region, the types offered in the
// region, and per type the IDs of the Availability Zones offering it. AZ IDs
// (use1-az1) name the same physical zone in every account, unlike AZ names.
type Offerings struct {
	Regions map[string][]string            // region → instance types
	Zones   map[string]map[string][]string // region → instance type → AZ IDs
}

type offering struct {
	InstanceType string
	Location     string
}

func main() {
	typesOut := flag.String("types", "instance_types.json.gz", "instance type file to write")
	offersOut := flag.String("offerings", "offerings.json.gz", "offerings file to write")
	flag.Parse()
	dir, err := resourcesDir()
	if err != nil {
		log.Fatal(err)
	}

	var all map[string]map[string]any
	if err := readGzipJSON(filepath.Join(dir, "instance_types.json.gz"), &all); err != nil {
		log.Fatal(err)
	}
	var names []string
	for name := range all {
		if slices.Contains(families, family(name)) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, f := range families {
		if !slices.ContainsFunc(names, func(n string) bool { return family(n) == f }) {
			log.Fatalf("family %s is not in the snapshot", f)
		}
	}
	types := make([]map[string]any, 0, len(names))
	for _, name := range names {
		t := all[name]
		if slices.Contains(freeTier, name) {
			t["FreeTierEligible"] = true
		}
		types = append(types, t)
	}
	if err := writeGzipJSON(*typesOut, types); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d instance types to %s\n", len(types), *typesOut)

	kept := map[string]bool{}
	for _, n := range names {
		kept[n] = true
	}
	offers := Offerings{Regions: map[string][]string{}, Zones: map[string]map[string][]string{}}
	for _, region := range regions {
		var inRegion, inZones []offering
		if err := readGzipJSON(filepath.Join(dir, "instance_type_offerings", "region", region+".json.gz"), &inRegion); err != nil {
			log.Fatal(err)
		}
		if err := readGzipJSON(filepath.Join(dir, "instance_type_offerings", "availability-zone-id", region+".json.gz"), &inZones); err != nil {
			log.Fatal(err)
		}
		for _, o := range inRegion {
			if kept[o.InstanceType] {
				offers.Regions[region] = append(offers.Regions[region], o.InstanceType)
			}
		}
		sort.Strings(offers.Regions[region])
		zones := map[string][]string{}
		for _, o := range inZones {
			if kept[o.InstanceType] {
				zones[o.InstanceType] = append(zones[o.InstanceType], o.Location)
			}
		}
		for _, ids := range zones {
			sort.Strings(ids)
		}
		offers.Zones[region] = zones
	}
	if err := writeGzipJSON(*offersOut, offers); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote offerings in %d regions to %s\n", len(regions), *offersOut)
}

// family is the part of an instance type name before the size: "m7i-flex"
// for "m7i-flex.large".
func family(name string) string {
	f, _, _ := strings.Cut(name, ".")
	return f
}

func readGzipJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeGzipJSON writes v as compact JSON, gzipped; encoding/json sorts map
// keys, so the output is the same on every run.
func writeGzipJSON(path string, v any) error {
	js, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(js)
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// resourcesDir finds moto's ec2/resources directory.
func resourcesDir() (string, error) {
	if d := os.Getenv("MOTO_EC2_RESOURCES"); d != "" {
		return d, nil
	}
	out, err := exec.Command("python3", "-c",
		"import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec('moto').origin), 'ec2', 'resources'))").Output()
	if err != nil {
		return "", fmt.Errorf("finding moto (pip install moto, or set MOTO_EC2_RESOURCES): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
