package balancer

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// lambdaEvent is the request event ALB sends a Lambda function.
type lambdaEvent struct {
	RequestContext struct {
		ELB struct {
			TargetGroupARN string `json:"targetGroupArn"`
		} `json:"elb"`
	} `json:"requestContext"`
	HTTPMethod                      string              `json:"httpMethod"`
	Path                            string              `json:"path"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters,omitempty"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters,omitempty"`
	Headers                         map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders,omitempty"`
	Body                            string              `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

// lambdaResponse is what the function answers ALB with.
type lambdaResponse struct {
	StatusCode        int                 `json:"statusCode"`
	StatusDescription string              `json:"statusDescription"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// lambdaMaxBody is ALB's limit on a Lambda request or response body.
const lambdaMaxBody = 1 << 20

// invokeLambda serves a request with a lambda target: the request becomes
// ALB's event JSON, the function's JSON answer becomes the response. An
// invocation error or a malformed answer is a 502, as on ALB.
func (h *albHandler) invokeLambda(w http.ResponseWriter, r *http.Request, v *listenerView, gv *groupView, t *target, st *counters, start time.Time) {
	p := h.l.p
	if gv.cfg.Lambda == nil {
		h.elbError(w, v, http.StatusBadGateway)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, lambdaMaxBody+1))
	if err != nil {
		return
	}
	if len(body) > lambdaMaxBody {
		h.elbError(w, v, http.StatusRequestEntityTooLarge)
		return
	}
	ev := buildLambdaEvent(r, gv.cfg.ARN, body, v, start)
	in, _ := json.Marshal(ev)
	out, err := gv.cfg.Lambda.InvokeForELB(r.Context(), t.id, in)
	if err != nil {
		h.elbError(w, v, http.StatusBadGateway)
		return
	}
	var resp lambdaResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode < 100 || resp.StatusCode > 599 {
		h.elbError(w, v, http.StatusBadGateway)
		return
	}
	respBody := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if respBody, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			h.elbError(w, v, http.StatusBadGateway)
			return
		}
	}
	if len(respBody) > lambdaMaxBody {
		h.elbError(w, v, http.StatusBadGateway)
		return
	}
	hd := w.Header()
	for k, vs := range resp.MultiValueHeaders {
		for _, val := range vs {
			hd.Add(k, val)
		}
	}
	for k, val := range resp.Headers {
		if _, ok := resp.MultiValueHeaders[k]; !ok {
			hd.Set(k, val)
		}
	}
	hd.Set("Content-Length", strconv.Itoa(len(respBody)))
	if hd.Get("Content-Type") == "" && len(respBody) > 0 {
		hd.Set("Content-Type", "application/octet-stream")
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)

	st.countTarget(resp.StatusCode)
	v.lb.stats.countTarget(resp.StatusCode)
	rt := p.clk.Since(start)
	st.rtSum.Add(int64(rt))
	v.lb.stats.rtSum.Add(int64(rt))
}

// buildLambdaEvent is ALB's event for a request: header names in lower
// case (the last value of a repeated header), query parameters as
// received (ALB does not decode them), the body base64-encoded unless it
// is text.
func buildLambdaEvent(r *http.Request, tgARN string, body []byte, v *listenerView, start time.Time) lambdaEvent {
	var ev lambdaEvent
	ev.RequestContext.ELB.TargetGroupARN = tgARN
	ev.HTTPMethod = r.Method
	ev.Path = r.URL.EscapedPath()
	ev.QueryStringParameters = map[string]string{}
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if part == "" {
			continue
		}
		k, val, _ := strings.Cut(part, "=")
		ev.QueryStringParameters[k] = val
	}
	ev.Headers = map[string]string{}
	for k, vs := range r.Header {
		if len(vs) > 0 {
			ev.Headers[strings.ToLower(k)] = vs[len(vs)-1]
		}
	}
	ev.Headers["host"] = r.Host
	client := ""
	if ip := clientIP(r.RemoteAddr); ip != "" {
		client = ip
	}
	if prior := r.Header.Values("X-Forwarded-For"); len(prior) > 0 {
		client = strings.Join(prior, ", ") + ", " + client
	}
	ev.Headers["x-forwarded-for"] = client
	proto := "http"
	if v.cfg.Protocol == "HTTPS" {
		proto = "https"
	}
	ev.Headers["x-forwarded-proto"] = proto
	ev.Headers["x-forwarded-port"] = strconv.Itoa(v.cfg.Port)
	ev.Headers["x-amzn-trace-id"] = traceID(start, r.Header.Get("X-Amzn-Trace-Id"))
	if isText(r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"), body) {
		ev.Body = string(body)
	} else {
		ev.Body = base64.StdEncoding.EncodeToString(body)
		ev.IsBase64Encoded = true
	}
	return ev
}

// isText reports whether a body can go into the event as a string.
func isText(contentType, encoding string, body []byte) bool {
	if len(body) == 0 {
		return true
	}
	if encoding != "" && encoding != "identity" {
		return false
	}
	if !utf8.Valid(body) {
		return false
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "", strings.HasPrefix(mt, "text/"),
		mt == "application/json", mt == "application/javascript", mt == "application/xml",
		mt == "application/x-www-form-urlencoded",
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}
