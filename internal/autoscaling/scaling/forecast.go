package scaling

import (
	"math"
	"time"
)

// Predictive scaling's forecaster ("How predictive scaling works", User
// Guide; GetPredictiveScalingForecast and PredictiveScalingConfiguration,
// API reference). AWS documents what goes in and what comes out, not the
// model: the load metric's history, at least 24 hours and up to 14 days of
// it, becomes an hourly load forecast for the next 48 hours, updated every
// 6 hours; the capacity forecast is the capacity that keeps the scaling
// metric at the policy's TargetValue under that load. nephele's model is a
// deterministic stand-in, so that a forecast can be reasoned about and
// tested:
//
//   - The history is hourly: each hour's value is the load metric's value
//     over that hour. An hour without data is missing, not zero.
//   - A forecast hour's daily value is the average of the same hour on the
//     days of history before it, weighted 1/d for the day d days back, so
//     that recent days count most.
//   - With at least 7 days of history, the weekly value is the average of
//     the same hour on the same weekday of the weeks before, weighted 1/w,
//     and the forecast is the mean of the daily and weekly values;
//     otherwise it is the daily value.
//   - The capacity for an hour is ceil(load / TargetValue): the TargetValue
//     is the load one instance should carry, as the predefined metric pairs
//     define it (the group's total CPU over its average CPU, a target
//     group's requests over its requests per target). It is clamped to the
//     group's minimum and maximum; with IncreaseMaxCapacity the maximum
//     gives way to the forecast (MaxCapacityBuffer then sets how far above
//     the forecast the group's new maximum goes).

// Forecast timing, as documented.
const (
	// ForecastMinHistory is the history a first forecast needs.
	ForecastMinHistory = 24 * time.Hour
	// ForecastMaxHistory is the history a forecast looks at.
	ForecastMaxHistory = 14 * 24 * time.Hour
	// ForecastHorizon is how far ahead a forecast goes.
	ForecastHorizon = 48 * time.Hour
	// ForecastEvery is how often a forecast is made again.
	ForecastEvery = 6 * time.Hour
)

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// Hourly is a series of hourly values from Start, one an hour; NaN is an
// hour without data.
type Hourly struct {
	Start  time.Time
	Values []float64
}

// At is the value of the hour that holds t, and whether there is one.
func (h Hourly) At(t time.Time) (float64, bool) {
	if t.Before(h.Start) {
		return 0, false
	}
	i := int(t.Sub(h.Start) / time.Hour)
	if i >= len(h.Values) || math.IsNaN(h.Values[i]) {
		return 0, false
	}
	return h.Values[i], true
}

// End is the end of the series' last hour.
func (h Hourly) End() time.Time { return h.Start.Add(time.Duration(len(h.Values)) * time.Hour) }

// HourlyFromPoints puts datapoints into the hours of [from, to) (from and to
// on the hour): an hour's value is the sum of its datapoints, and NaN when
// it has none. Datapoints at the period of an hour make this the identity.
func HourlyFromPoints(from, to time.Time, ts []time.Time, vs []float64) Hourly {
	n := max(int(to.Sub(from)/time.Hour), 0)
	h := Hourly{Start: from, Values: make([]float64, n)}
	for i := range h.Values {
		h.Values[i] = math.NaN()
	}
	for i, t := range ts {
		if i >= len(vs) || t.Before(from) || !t.Before(to) {
			continue
		}
		k := int(t.Sub(from) / time.Hour)
		if math.IsNaN(h.Values[k]) {
			h.Values[k] = 0
		}
		h.Values[k] += vs[i]
	}
	return h
}

// HistorySpan is how much history a series holds: from its first hour with
// data to its end.
func HistorySpan(h Hourly) time.Duration {
	for i, v := range h.Values {
		if !math.IsNaN(v) {
			return h.End().Sub(h.Start.Add(time.Duration(i) * time.Hour))
		}
	}
	return 0
}

// ForecastLoad forecasts the hourly load from start (on the hour, at or
// after the history's end) for hours hours, from the history. It returns
// false when the history holds less than ForecastMinHistory, as AWS makes
// no forecast then. An hour with no same-hour history has no forecast
// (NaN).
func ForecastLoad(history Hourly, start time.Time, hours int) (Hourly, bool) {
	span := HistorySpan(history)
	if span < ForecastMinHistory {
		return Hourly{Start: start}, false
	}
	weekly := span >= week
	out := Hourly{Start: start, Values: make([]float64, hours)}
	for i := range out.Values {
		t := start.Add(time.Duration(i) * time.Hour)
		d, dok := seasonal(history, t, day, int(ForecastMaxHistory/day))
		v := d
		if weekly {
			if w, wok := seasonal(history, t, week, int(ForecastMaxHistory/week)); wok {
				if dok {
					v = (d + w) / 2
				} else {
					v, dok = w, true
				}
			}
		}
		if !dok {
			v = math.NaN()
		}
		out.Values[i] = v
	}
	return out, true
}

// seasonal is the 1/k-weighted average of the history's values at t - k·period
// for k = 1..lags, over the lags that have a value.
func seasonal(history Hourly, t time.Time, period time.Duration, lags int) (float64, bool) {
	sum, weights := 0.0, 0.0
	for k := 1; k <= lags; k++ {
		v, ok := history.At(t.Add(-time.Duration(k) * period))
		if !ok {
			continue
		}
		w := 1 / float64(k)
		sum += w * v
		weights += w
	}
	if weights == 0 {
		return 0, false
	}
	return sum / weights, true
}

// CapacityLimits are what bounds a capacity forecast: the group's minimum
// and maximum, and the policy's MaxCapacityBreachBehavior.
type CapacityLimits struct {
	Min, Max int
	// IncreaseMax is MaxCapacityBreachBehavior IncreaseMaxCapacity: the
	// forecast may exceed Max.
	IncreaseMax bool
}

// ForecastCapacity is the capacity each hour of a load forecast needs at
// the target value (load carried by one instance): ceil(load / target),
// clamped to the limits. An hour without a load forecast has none (NaN).
func ForecastCapacity(load Hourly, target float64, l CapacityLimits) Hourly {
	out := Hourly{Start: load.Start, Values: make([]float64, len(load.Values))}
	for i, v := range load.Values {
		if math.IsNaN(v) || target <= 0 {
			out.Values[i] = math.NaN()
			continue
		}
		// The small allowance keeps 150/50 at 3, not 4, through float
		// error.
		c := int(math.Ceil(v/target - 1e-9))
		c = max(c, l.Min)
		if !l.IncreaseMax {
			c = min(c, l.Max)
		}
		out.Values[i] = float64(c)
	}
	return out
}

// RaisedMax is the group maximum that IncreaseMaxCapacity with a buffer
// (percent of the forecast) sets for a forecast capacity: the forecast plus
// the buffer, rounded up, when that exceeds the current maximum, or the
// current maximum. A buffer of 10 makes a forecast of 50 a maximum of 55
// (the API reference's example).
func RaisedMax(forecast, currentMax, bufferPercent int) int {
	m := int(math.Ceil(float64(forecast)*(1+float64(bufferPercent)/100) - 1e-9))
	return max(m, currentMax)
}

// ScheduledHour is the forecast hour whose capacity applies at now: the
// capacity for hour H is in place from H - buffer (SchedulingBufferTime), so
// that instances launch ahead of the load ("the forecast says to add
// capacity at 10:00 AM, and you choose to pre-launch instances by 5
// minutes. In that case, the instances will be launched at 9:55 AM").
func ScheduledHour(now time.Time, buffer time.Duration) time.Time {
	return now.Add(buffer).Truncate(time.Hour)
}
