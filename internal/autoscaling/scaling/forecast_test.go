package scaling

import (
	"math"
	"testing"
	"time"
)

var fcStart = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// history is hours hourly values ending at fcStart, each hour's value
// given by value at the hour's start.
func history(hours int, value func(t time.Time) float64) Hourly {
	h := Hourly{Start: fcStart.Add(-time.Duration(hours) * time.Hour), Values: make([]float64, hours)}
	for i := range h.Values {
		h.Values[i] = value(h.Start.Add(time.Duration(i) * time.Hour))
	}
	return h
}

// daily is a load of 100 ± 80 that peaks at 14:00 every day.
func daily(t time.Time) float64 {
	return 100 + 80*math.Cos(2*math.Pi*float64(t.Hour()-14)/24)
}

func TestForecastLoad(t *testing.T) {
	tests := []struct {
		name    string
		hist    Hourly
		ok      bool
		want    func(t time.Time) float64 // nil: not checked
		weekday bool
	}{
		{"flat_history_gives_a_flat_forecast", history(72, func(time.Time) float64 { return 40 }), true,
			func(time.Time) float64 { return 40 }, false},
		{"daily_pattern_repeats_at_the_same_hours", history(3*24, daily), true, daily, false},
		{"exactly_24_hours_is_enough", history(24, daily), true, daily, false},
		{"23_hours_is_not_enough", history(23, daily), false, nil, false},
		{"no_data_is_not_enough", history(72, func(time.Time) float64 { return math.NaN() }), false, nil, false},
		{"weekly_pattern_counts_with_7_days", history(14*24, func(t time.Time) float64 {
			if t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
				return 10
			}
			return 100
		}), true, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ForecastLoad(tt.hist, fcStart, 48)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				if len(got.Values) != 0 {
					t.Errorf("no forecast should have no values: %v", got.Values)
				}
				return
			}
			if len(got.Values) != 48 || !got.Start.Equal(fcStart) {
				t.Fatalf("forecast = %d values from %s, want 48 from %s", len(got.Values), got.Start, fcStart)
			}
			for i, v := range got.Values {
				at := fcStart.Add(time.Duration(i) * time.Hour)
				if tt.want != nil && math.Abs(v-tt.want(at)) > 1e-9 {
					t.Errorf("%s: %v, want %v", at.Format(time.RFC3339), v, tt.want(at))
				}
			}
			if tt.weekday {
				// fcStart is a Monday: a weekday forecast above a purely
				// daily one, which would mix the weekend in.
				mon, _ := got.At(fcStart.Add(10 * time.Hour))
				dailyOnly, _ := seasonal(tt.hist, fcStart.Add(10*time.Hour), day, 14)
				if !(mon > dailyOnly) {
					t.Errorf("Monday 10:00 forecast %v, daily-only %v: the weekly pattern should lift it", mon, dailyOnly)
				}
			}
		})
	}
}

func TestForecastLoadWeightsRecentDays(t *testing.T) {
	// Two days at 100, then a day at 200: tomorrow leans to 200.
	h := history(72, func(t time.Time) float64 {
		if t.After(fcStart.Add(-25 * time.Hour)) {
			return 200
		}
		return 100
	})
	got, ok := ForecastLoad(h, fcStart, 24)
	if !ok {
		t.Fatal("no forecast")
	}
	// Weights 1, 1/2, 1/3: (200 + 50 + 33.3) / 1.833 = 154.5.
	if v := got.Values[5]; math.Abs(v-(200+100.0/2+100.0/3)/(1+1.0/2+1.0/3)) > 1e-9 {
		t.Errorf("forecast %v, want the 1/d-weighted mean", v)
	}
}

func TestForecastCapacity(t *testing.T) {
	load := Hourly{Start: fcStart, Values: []float64{0, 49, 50, 150, 151, 1000, math.NaN()}}
	tests := []struct {
		name string
		l    CapacityLimits
		want []float64
	}{
		{"clamped_to_min_and_max", CapacityLimits{Min: 1, Max: 10}, []float64{1, 1, 1, 3, 4, 10, math.NaN()}},
		{"min_raises_small_forecasts", CapacityLimits{Min: 2, Max: 10}, []float64{2, 2, 2, 3, 4, 10, math.NaN()}},
		{"IncreaseMaxCapacity_lets_the_forecast_pass_max", CapacityLimits{Min: 0, Max: 10, IncreaseMax: true}, []float64{0, 1, 1, 3, 4, 20, math.NaN()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ForecastCapacity(load, 50, tt.l)
			for i, v := range got.Values {
				if !(v == tt.want[i] || math.IsNaN(v) && math.IsNaN(tt.want[i])) {
					t.Errorf("hour %d (load %v): %v, want %v", i, load.Values[i], v, tt.want[i])
				}
			}
		})
	}
}

func TestRaisedMax(t *testing.T) {
	tests := []struct{ forecast, max, buffer, want int }{
		{50, 40, 10, 55}, // the API reference's example
		{50, 40, 0, 50},  // 0: up to the forecast, not beyond
		{30, 40, 10, 40}, // below the maximum: unchanged
		{38, 40, 10, 42}, // close to the maximum: the buffer lifts it
		{7, 5, 100, 14},
	}
	for _, tt := range tests {
		if got := RaisedMax(tt.forecast, tt.max, tt.buffer); got != tt.want {
			t.Errorf("RaisedMax(%d, %d, %d) = %d, want %d", tt.forecast, tt.max, tt.buffer, got, tt.want)
		}
	}
}

func TestScheduledHour(t *testing.T) {
	tests := []struct {
		now    string
		buffer time.Duration
		want   string
	}{
		{"09:54:59", 5 * time.Minute, "09:00"},
		{"09:55:00", 5 * time.Minute, "10:00"}, // pre-launched 5 minutes ahead
		{"09:59:59", 0, "09:00"},
		{"10:00:00", 0, "10:00"},
		{"09:00:00", 3600 * time.Second, "10:00"},
		{"08:59:59", 3600 * time.Second, "09:00"},
	}
	for _, tt := range tests {
		now, _ := time.Parse("2006-01-02 15:04:05", "2026-11-23 "+tt.now)
		if got := ScheduledHour(now, tt.buffer).Format("15:04"); got != tt.want {
			t.Errorf("ScheduledHour(%s, %s) = %s, want %s", tt.now, tt.buffer, got, tt.want)
		}
	}
}

func TestHourlyFromPoints(t *testing.T) {
	ts := []time.Time{fcStart, fcStart.Add(30 * time.Minute), fcStart.Add(2 * time.Hour), fcStart.Add(-time.Minute), fcStart.Add(3 * time.Hour)}
	h := HourlyFromPoints(fcStart, fcStart.Add(3*time.Hour), ts, []float64{1, 2, 5, 100, 100})
	if len(h.Values) != 3 || h.Values[0] != 3 || !math.IsNaN(h.Values[1]) || h.Values[2] != 5 {
		t.Errorf("hourly = %v, want [3 NaN 5]", h.Values)
	}
	if got := HistorySpan(h); got != 3*time.Hour {
		t.Errorf("span %s, want 3h", got)
	}
}
