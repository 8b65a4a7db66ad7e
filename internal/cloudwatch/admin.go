package cloudwatch

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/nephele-dev/nephele/internal/service"
)

var _ service.Admin = (*Service)(nil)

// evaluatorStatus is GET /_nephele/monitoring/evaluator: whether alarm
// evaluation keeps up with the clock. LagSeconds is clock time between the
// last tick evaluated and now; it stays under a tick (10 s) plus the
// evaluation lag while the evaluator keeps up. TicksSkippedLate counts
// ticks given up after a stall of more than a minute.
type evaluatorStatus struct {
	Alarms           int       `json:"alarms"`
	LastTick         time.Time `json:"lastTick"`
	LastEvaluated    int       `json:"lastEvaluated"`
	LastDurationMs   float64   `json:"lastDurationMs"`
	LagSeconds       float64   `json:"lagSeconds"`
	TicksEvaluated   int64     `json:"ticksEvaluated"`
	TicksSkippedLate int64     `json:"ticksSkippedLate"`
}

// AdminHandler serves CloudWatch's admin endpoints.
func (s *Service) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /evaluator", func(w http.ResponseWriter, r *http.Request) {
		e := s.eval
		e.mu.Lock()
		st := evaluatorStatus{
			Alarms: len(e.alarms), LastTick: e.lastTick, LastEvaluated: e.lastEvaluated,
			LastDurationMs: float64(e.lastDuration) / float64(time.Millisecond),
			TicksEvaluated: e.ticks, TicksSkippedLate: e.skipped,
		}
		e.mu.Unlock()
		if !st.LastTick.IsZero() {
			st.LagSeconds = s.clk.Since(st.LastTick).Seconds()
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"status": "error", "message": "unknown CloudWatch admin endpoint " + r.Method + " " + r.URL.Path})
	})
	return mux
}
