package execenv

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// maxResponseBytes is Lambda's limit on a synchronous invocation's
// response payload; the Runtime API refuses a bigger one with 413.
const maxResponseBytes = 6291556

// Runtime API header names, as Lambda's Runtime API sends and reads them.
const (
	hdrRequestID     = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline      = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN   = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID       = "Lambda-Runtime-Trace-Id"
	hdrClientContext = "Lambda-Runtime-Client-Context"
	hdrCognito       = "Lambda-Runtime-Cognito-Identity"
	hdrErrorType     = "Lambda-Runtime-Function-Error-Type"
	hdrErrorBody     = "Lambda-Runtime-Function-Error-Body" // a trailer, base64, from aws-lambda-go
)

// answer is what the runtime made of one invocation.
type answer struct {
	payload []byte
	errType string // "" for a response; the error type for an error
}

// runtimeAPI serves the Lambda Runtime API of one environment.
func (e *env) runtimeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", e.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", e.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", e.handleError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", e.handleInitError)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Track handlers so that kill returns only once none is left.
		if !e.handlers.enter() {
			http.Error(w, "environment ended", http.StatusGone)
			return
		}
		defer e.handlers.leave()
		mux.ServeHTTP(w, r)
	})
}

// writeStatus answers the runtime with Lambda's JSON bodies.
func writeStatus(w http.ResponseWriter, status int, body any) {
	b := mustJSON(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type apiError struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// handleNext blocks until an invocation is handed to the environment. The
// first call ends the init phase.
func (e *env) handleNext(w http.ResponseWriter, r *http.Request) {
	e.initOnce.Do(func() {
		e.mu.Lock()
		if e.initErr == nil {
			e.initDuration = e.p.clk.Since(e.started)
		}
		e.mu.Unlock()
		close(e.initDone)
	})
	select {
	case inv := <-e.next:
		e.mu.Lock()
		e.cur = inv
		e.mu.Unlock()
		h := w.Header()
		h.Set(hdrRequestID, inv.req.ID)
		h.Set(hdrDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(hdrFunctionARN, inv.arn)
		if inv.req.TraceID != "" {
			h.Set(hdrTraceID, inv.req.TraceID)
		}
		if inv.clientContext != "" {
			h.Set(hdrClientContext, inv.clientContext)
		}
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(inv.req.Payload)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.req.Payload)
	case <-e.dead:
		// No answer at all rather than an empty 200 the runtime would
		// take for an invocation.
		panic(http.ErrAbortHandler)
	case <-r.Context().Done():
	}
}

// current returns the invocation with id if it is the one in progress.
func (e *env) current(id string) *invocation {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur != nil && e.cur.req.ID == id {
		return e.cur
	}
	return nil
}

// finish records the runtime's answer to inv, once.
func (e *env) finish(inv *invocation, a answer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == inv {
		e.cur = nil
		inv.answer <- a // buffered, and sent to at most once
	}
}

func invalidRequestID(w http.ResponseWriter) {
	writeStatus(w, http.StatusBadRequest, apiError{ErrorMessage: "Invalid request ID", ErrorType: "InvalidRequestID"})
}

func (e *env) handleResponse(w http.ResponseWriter, r *http.Request) {
	inv := e.current(r.PathValue("id"))
	if inv == nil {
		invalidRequestID(w)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	if err != nil {
		return // the runtime went away mid-request; the invocation ends by exit or timeout
	}
	if len(body) > maxResponseBytes {
		e.finish(inv, answer{
			errType: "Function.ResponseSizeTooLarge",
			payload: mustJSON(apiError{ErrorMessage: "Response payload size exceeded maximum allowed payload size (6291556 bytes).", ErrorType: "Function.ResponseSizeTooLarge"}),
		})
		writeStatus(w, http.StatusRequestEntityTooLarge, apiError{ErrorMessage: "Exceeded maximum allowed payload size (6291556 bytes).", ErrorType: "RequestEntityTooLarge"})
		return
	}
	// aws-lambda-go streams its response and, should producing it fail
	// half way, reports the error in trailers.
	if t := r.Trailer.Get(hdrErrorType); t != "" {
		payload, err := base64.StdEncoding.DecodeString(r.Trailer.Get(hdrErrorBody))
		if err != nil || !json.Valid(payload) {
			payload = mustJSON(apiError{ErrorMessage: "Unknown error", ErrorType: t})
		}
		e.finish(inv, answer{errType: t, payload: payload})
		writeStatus(w, http.StatusAccepted, map[string]string{"status": "OK"})
		return
	}
	e.finish(inv, answer{payload: body})
	writeStatus(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (e *env) handleError(w http.ResponseWriter, r *http.Request) {
	inv := e.current(r.PathValue("id"))
	if inv == nil {
		invalidRequestID(w)
		return
	}
	payload, errType, ok := readErrorBody(w, r)
	if !ok {
		return
	}
	e.finish(inv, answer{errType: errType, payload: payload})
	writeStatus(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (e *env) handleInitError(w http.ResponseWriter, r *http.Request) {
	select {
	case <-e.initDone:
		writeStatus(w, http.StatusForbidden, apiError{ErrorMessage: "Init error reported after init", ErrorType: "InvalidStateTransition"})
		return
	default:
	}
	payload, errType, ok := readErrorBody(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	first := e.initErr == nil
	if first {
		e.initErr = &answer{errType: errType, payload: payload}
		e.initDuration = e.p.clk.Since(e.started)
	}
	e.mu.Unlock()
	if first {
		close(e.initFailed)
	}
	writeStatus(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

// readErrorBody reads an error a runtime reports: its body is the error
// document ({"errorMessage","errorType","stackTrace"}) returned to the
// caller as is; a body that is not JSON is wrapped in one.
func readErrorBody(w http.ResponseWriter, r *http.Request) (payload []byte, errType string, ok bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	if err != nil {
		return nil, "", false
	}
	errType = r.Header.Get(hdrErrorType)
	var doc struct {
		ErrorType string `json:"errorType"`
	}
	if len(body) > maxResponseBytes || json.Unmarshal(body, &doc) != nil {
		if errType == "" {
			errType = "Unhandled"
		}
		msg := string(body)
		if len(body) > maxResponseBytes {
			msg = "Error payload too large"
		}
		body = mustJSON(apiError{ErrorMessage: msg, ErrorType: errType})
	}
	if errType == "" {
		errType = doc.ErrorType
	}
	if errType == "" {
		errType = "Unhandled"
	}
	return body, errType, true
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on plain structs and maps of strings
	}
	return b
}
