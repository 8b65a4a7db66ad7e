package catalog_test

import (
	"math"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/ec2/catalog"
)

// TestOnDemandPrice compares the estimate with published us-east-1 Linux
// on-demand prices; it is an estimate, so within 10%.
func TestOnDemandPrice(t *testing.T) {
	tests := []struct {
		name      string
		published float64
	}{
		{"t2.micro", 0.0116},
		{"t3.micro", 0.0104},
		{"t3.large", 0.0832},
		{"t4g.micro", 0.0084},
		{"m5.large", 0.096},
		{"m5.24xlarge", 4.608},
		{"m6g.large", 0.077},
		{"c5.large", 0.085},
		{"r5.large", 0.126},
		{"i3.large", 0.156},
		{"g4dn.xlarge", 0.526},
		{"p4d.24xlarge", 32.7726},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := catalog.OnDemandPrice(tt.name)
			if !ok {
				t.Fatal("no price")
			}
			if math.Abs(got-tt.published)/tt.published > 0.10 {
				t.Fatalf("OnDemandPrice = %v, published %v", got, tt.published)
			}
		})
	}
	t.Run("every_type_has_a_price_that_grows_with_size", func(t *testing.T) {
		for _, name := range catalog.InstanceTypes() {
			if p, ok := catalog.OnDemandPrice(name); !ok || p <= 0 {
				t.Errorf("%s: %v", name, p)
			}
		}
		small, _ := catalog.OnDemandPrice("m6i.large")
		big, _ := catalog.OnDemandPrice("m6i.xlarge")
		arm, _ := catalog.OnDemandPrice("m6g.large")
		if !(big > small && arm < small) {
			t.Errorf("m6i.large %v, m6i.xlarge %v, m6g.large %v", small, big, arm)
		}
	})
}

func TestSpotPrice(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	t.Run("between_30_and_70_percent_of_on_demand", func(t *testing.T) {
		for _, name := range catalog.InstanceTypes() {
			od, _ := catalog.OnDemandPrice(name)
			for _, az := range []string{"us-east-1a", "us-east-1b", "eu-west-1c"} {
				for h := 0; h < 48; h += 7 {
					p := catalog.SpotPrice(name, az, start.Add(time.Duration(h)*time.Hour))
					if p < 0.3*od-1e-6 || p > 0.7*od+1e-6 || p >= od {
						t.Fatalf("%s in %s: spot %v, on-demand %v", name, az, p, od)
					}
				}
			}
		}
	})
	t.Run("deterministic_and_constant_within_the_hour", func(t *testing.T) {
		a := catalog.SpotPrice("m5.large", "us-east-1a", start.Add(10*time.Minute))
		b := catalog.SpotPrice("m5.large", "us-east-1a", start.Add(59*time.Minute))
		c := catalog.SpotPrice("m5.large", "us-east-1a", start.In(time.FixedZone("x", 3600)).Add(10*time.Minute))
		if a != b || a != c || a == 0 {
			t.Fatalf("%v, %v, %v", a, b, c)
		}
	})
	t.Run("varies_slowly_by_hour_and_by_zone", func(t *testing.T) {
		od, _ := catalog.OnDemandPrice("c6g.xlarge")
		prices := map[float64]bool{}
		prev := catalog.SpotPrice("c6g.xlarge", "us-east-1a", start)
		for h := 1; h <= 72; h++ {
			p := catalog.SpotPrice("c6g.xlarge", "us-east-1a", start.Add(time.Duration(h)*time.Hour))
			// One of six hourly draws changes: the fraction moves by at
			// most 0.2/6 of the on-demand price.
			if math.Abs(p-prev) > 0.2/6*od+1e-6 {
				t.Fatalf("hour %d: %v after %v", h, p, prev)
			}
			prices[p] = true
			prev = p
		}
		if len(prices) < 24 {
			t.Fatalf("only %d distinct prices in three days", len(prices))
		}
		zoneB := catalog.SpotPrice("c6g.xlarge", "us-east-1b", start)
		zoneC := catalog.SpotPrice("c6g.xlarge", "us-east-1c", start)
		if zoneB == catalog.SpotPrice("c6g.xlarge", "us-east-1a", start) && zoneB == zoneC {
			t.Fatal("the same price in every zone")
		}
	})
	t.Run("unknown_type_has_no_price", func(t *testing.T) {
		if p := catalog.SpotPrice("x9.huge", "us-east-1a", start); p != 0 {
			t.Fatalf("SpotPrice = %v", p)
		}
	})
}
