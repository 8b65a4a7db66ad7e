package lambda

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/lambda/execenv"
	"github.com/nephele-dev/nephele/internal/store"
)

// Function URLs. Each URL is a real HTTP listener on its own loopback
// port, so the URL identifies the function by port alone and any client
// reaches it: FunctionUrl is http://<url-id>.lambda-url.<region>.localhost:<port>/,
// a name curl and browsers resolve to 127.0.0.1 (RFC 6761 reserves
// .localhost for loopback); http://127.0.0.1:<port>/ reaches the same
// function.

// urlKey names a URL (or any per-qualifier background work) of a
// function.
func urlKey(sc scope, fn, q string) string { return sc.prefix() + fn + ":" + q }

// urlServers holds the running URL listeners.
type urlServers struct {
	s       *Service
	mu      sync.Mutex
	servers map[string]*urlServer
}

// urlServer is one URL's listener and handler.
type urlServer struct {
	ln      net.Listener
	srv     *http.Server
	handler *urlHandler
}

// close stops serving. The listener is closed too: Serve runs in its own
// goroutine and may not have taken the listener yet, in which case
// srv.Close alone would leave it open.
func (e *urlServer) close() {
	e.srv.Close()
	e.ln.Close()
}

func newURLServers(s *Service) *urlServers {
	return &urlServers{s: s, servers: map[string]*urlServer{}}
}

// setAuth changes the auth type a running URL enforces.
func (u *urlServers) setAuth(key, authType string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if e := u.servers[key]; e != nil {
		e.handler.authIAM.Store(authType == "AWS_IAM")
	}
}

// start serves a function URL on port (0 picks a free one, as does a
// port no longer free), returning the port.
func (u *urlServers) start(sc scope, fn, q string, rec *urlRecord, port int) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil && port != 0 {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return 0, err
	}
	h := &urlHandler{s: u.s, sc: sc, fn: fn, qualifier: q, id: rec.ID}
	h.authIAM.Store(rec.AuthType == "AWS_IAM")
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	key := urlKey(sc, fn, q)
	u.mu.Lock()
	if old := u.servers[key]; old != nil {
		old.close()
	}
	u.servers[key] = &urlServer{ln: ln, srv: srv, handler: h}
	u.mu.Unlock()
	go srv.Serve(ln)
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// stop closes a URL's listener.
func (u *urlServers) stop(key string) {
	u.mu.Lock()
	e := u.servers[key]
	delete(u.servers, key)
	u.mu.Unlock()
	if e != nil {
		e.close()
	}
}

// closeAll closes every listener.
func (u *urlServers) closeAll() {
	u.mu.Lock()
	servers := u.servers
	u.servers = map[string]*urlServer{}
	u.mu.Unlock()
	for _, e := range servers {
		e.close()
	}
}

// restore serves the URLs recorded in the store, after a restart.
func (u *urlServers) restore() error {
	type urlRef struct {
		sc     scope
		fn, q  string
		record *urlRecord
	}
	var refs []urlRef
	err := u.s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketFunctions, "", func(k string, decode func(any) error) error {
			var f functionRecord
			if err := decode(&f); err != nil {
				return err
			}
			parts := splitKey(k)
			if len(parts) != 3 {
				return nil
			}
			for q, r := range f.URLs {
				refs = append(refs, urlRef{newScope(parts[0], parts[1]), f.Name, q, r})
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, r := range refs {
		port, err := u.start(r.sc, r.fn, r.q, r.record, r.record.Port)
		if err != nil {
			return fmt.Errorf("lambda: serving the URL of %s: %w", r.fn, err)
		}
		if port != r.record.Port {
			_ = u.s.st.Update(func(tx store.Tx) error {
				f, err := loadFunction(tx, r.sc, r.fn)
				if err != nil || f.URLs[r.q] == nil {
					return nil
				}
				f.URLs[r.q].Port = port
				return tx.Put(bucketFunctions, functionKey(r.sc, r.fn), f)
			})
		}
	}
	return nil
}

// functionURL is the URL of a listener.
func functionURL(sc scope, r *urlRecord) string {
	return fmt.Sprintf("http://%s.lambda-url.%s.localhost:%d/", r.ID, sc.region, r.Port)
}

// newURLID is a URL's 32-character identifier.
func newURLID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var b [32]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// urlQualifier checks a URL's qualifier: unqualified or an alias
// ($LATEST is accepted as AWS does), never a version number.
func urlQualifier(q string) error {
	if q != "" && q != latest && isVersion(q) {
		return invalidParameter("1 validation error detected: Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)", q)
	}
	return nil
}

// urlConfig renders a URL configuration.
func urlConfig(sc scope, fn, q string, r *urlRecord) *api.FunctionUrlConfig {
	return &api.FunctionUrlConfig{
		FunctionUrl:      ptr(functionURL(sc, r)),
		FunctionArn:      ptr(sc.qualifiedARN(fn, q)),
		AuthType:         ptr(r.AuthType),
		Cors:             r.Cors,
		InvokeMode:       ptr(deref(optional(r.InvokeMode), "BUFFERED")),
		CreationTime:     ptr(formatTime(r.Created)),
		LastModifiedTime: ptr(formatTime(r.LastModified)),
	}
}

// CreateFunctionUrlConfig creates a function URL and starts serving it.
func (s *Service) CreateFunctionUrlConfig(ctx context.Context, in *api.CreateFunctionUrlConfigInput) (*api.CreateFunctionUrlConfigOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	if err := urlQualifier(ref.qualifier); err != nil {
		return nil, err
	}
	if str(in.InvokeMode) == "RESPONSE_STREAM" {
		return nil, invalidParameter("nephele serves function URLs with InvokeMode BUFFERED only.")
	}
	now := s.clk.Now()
	rec := &urlRecord{ID: newURLID(), AuthType: str(in.AuthType), InvokeMode: str(in.InvokeMode), Cors: in.Cors, Created: now, LastModified: now}
	// Check first, then listen outside the transaction, then record.
	if err := s.st.View(func(tx store.Tx) error {
		f, _, _, err := resolve(tx, sc, ref)
		if err != nil {
			return err
		}
		if f.URLs[ref.qualifier] != nil {
			return conflict("Failed to create function url config for [functionArn = %s]. Error message:  FunctionUrlConfig exists for this Lambda function", sc.qualifiedARN(ref.name, ref.qualifier))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	port, err := s.urls.start(sc, ref.name, ref.qualifier, rec, 0)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	rec.Port = port
	err = s.st.Update(func(tx store.Tx) error {
		f, err := loadFunction(tx, sc, ref.name)
		if err != nil {
			return err
		}
		if f.URLs[ref.qualifier] != nil {
			return conflict("Failed to create function url config for [functionArn = %s]. Error message:  FunctionUrlConfig exists for this Lambda function", sc.qualifiedARN(ref.name, ref.qualifier))
		}
		if f.URLs == nil {
			f.URLs = map[string]*urlRecord{}
		}
		f.URLs[ref.qualifier] = rec
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	if err != nil {
		s.urls.stop(urlKey(sc, ref.name, ref.qualifier))
		return nil, err
	}
	c := urlConfig(sc, ref.name, ref.qualifier, rec)
	return &api.CreateFunctionUrlConfigOutput{
		FunctionUrl: c.FunctionUrl, FunctionArn: c.FunctionArn, AuthType: c.AuthType, Cors: c.Cors,
		InvokeMode: c.InvokeMode, CreationTime: c.CreationTime,
	}, nil
}

// loadURL reads a URL configuration.
func loadURL(tx store.Tx, sc scope, ref functionRef) (*functionRecord, *urlRecord, error) {
	f, err := loadFunction(tx, sc, ref.name)
	if err != nil {
		return nil, nil, err
	}
	r := f.URLs[ref.qualifier]
	if r == nil {
		return nil, nil, notFound("The resource you requested does not exist.")
	}
	return f, r, nil
}

// GetFunctionUrlConfig returns a URL configuration.
func (s *Service) GetFunctionUrlConfig(ctx context.Context, in *api.GetFunctionUrlConfigInput) (*api.GetFunctionUrlConfigOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	var out *api.GetFunctionUrlConfigOutput
	err = s.st.View(func(tx store.Tx) error {
		_, r, err := loadURL(tx, sc, ref)
		if err != nil {
			return err
		}
		c := urlConfig(sc, ref.name, ref.qualifier, r)
		out = &api.GetFunctionUrlConfigOutput{
			FunctionUrl: c.FunctionUrl, FunctionArn: c.FunctionArn, AuthType: c.AuthType, Cors: c.Cors,
			InvokeMode: c.InvokeMode, CreationTime: c.CreationTime, LastModifiedTime: c.LastModifiedTime,
		}
		return nil
	})
	return out, err
}

// UpdateFunctionUrlConfig changes a URL's auth type or CORS settings.
func (s *Service) UpdateFunctionUrlConfig(ctx context.Context, in *api.UpdateFunctionUrlConfigInput) (*api.UpdateFunctionUrlConfigOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	if str(in.InvokeMode) == "RESPONSE_STREAM" {
		return nil, invalidParameter("nephele serves function URLs with InvokeMode BUFFERED only.")
	}
	var out *api.UpdateFunctionUrlConfigOutput
	var authType string
	err = s.st.Update(func(tx store.Tx) error {
		f, r, err := loadURL(tx, sc, ref)
		if err != nil {
			return err
		}
		if in.AuthType != nil {
			r.AuthType = *in.AuthType
		}
		if in.Cors != nil {
			r.Cors = in.Cors
		}
		if in.InvokeMode != nil {
			r.InvokeMode = *in.InvokeMode
		}
		r.LastModified = s.clk.Now()
		authType = r.AuthType
		c := urlConfig(sc, ref.name, ref.qualifier, r)
		out = &api.UpdateFunctionUrlConfigOutput{
			FunctionUrl: c.FunctionUrl, FunctionArn: c.FunctionArn, AuthType: c.AuthType, Cors: c.Cors,
			InvokeMode: c.InvokeMode, CreationTime: c.CreationTime, LastModifiedTime: c.LastModifiedTime,
		}
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	if err != nil {
		return nil, err
	}
	s.urls.setAuth(urlKey(sc, ref.name, ref.qualifier), authType)
	return out, nil
}

// DeleteFunctionUrlConfig deletes a URL and stops serving it.
func (s *Service) DeleteFunctionUrlConfig(ctx context.Context, in *api.DeleteFunctionUrlConfigInput) (*api.DeleteFunctionUrlConfigOutput, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	err = s.st.Update(func(tx store.Tx) error {
		f, _, err := loadURL(tx, sc, ref)
		if err != nil {
			return err
		}
		delete(f.URLs, ref.qualifier)
		return tx.Put(bucketFunctions, functionKey(sc, ref.name), f)
	})
	if err != nil {
		return nil, err
	}
	s.urls.stop(urlKey(sc, ref.name, ref.qualifier))
	return &api.DeleteFunctionUrlConfigOutput{}, nil
}

// ListFunctionUrlConfigs lists a function's URLs.
func (s *Service) ListFunctionUrlConfigs(ctx context.Context, in *api.ListFunctionUrlConfigsInput) (*api.ListFunctionUrlConfigsOutput, error) {
	sc, ref, f, err := s.readFunction(ctx, str(in.FunctionName))
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(sortedKeys(f.URLs), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := api.ListFunctionUrlConfigsOutput{FunctionUrlConfigs: []api.FunctionUrlConfig{}, NextMarker: next}
	for _, q := range page {
		out.FunctionUrlConfigs = append(out.FunctionUrlConfigs, *urlConfig(sc, ref.name, q, f.URLs[q]))
	}
	return &out, nil
}

// urlHandler serves one function URL: it turns the HTTP request into the
// payload format 2.0 event, invokes the function synchronously and turns
// its result into the HTTP response, as Lambda's URL front end does.
type urlHandler struct {
	s         *Service
	sc        scope
	fn        string
	qualifier string
	id        string
	// authIAM is set for AuthType AWS_IAM; UpdateFunctionUrlConfig
	// changes it while the listener runs.
	authIAM atomic.Bool
}

func (h *urlHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.authIAM.Load() && !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") && r.URL.Query().Get("X-Amz-Signature") == "" {
		writeURLError(w, http.StatusForbidden, "Forbidden")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSyncPayload+1))
	if err != nil {
		writeURLError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > maxSyncPayload {
		writeURLError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	reqID := awsid.RequestID()
	event := h.event(r, body, reqID)
	payload, _ := json.Marshal(event)
	t, err := h.s.lookup(h.sc, functionRef{name: h.fn, qualifier: h.qualifier})
	if err != nil {
		writeURLError(w, http.StatusNotFound, "Not Found")
		return
	}
	res, err := h.s.run(h.sc.context(r.Context()), t, execenv.Request{ID: reqID, Payload: payload, InvokedARN: t.invokedARN()})
	w.Header().Set("X-Amzn-RequestId", reqID)
	if err != nil {
		var ae *awserr.Error
		if errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests {
			writeURLError(w, http.StatusTooManyRequests, "Rate Exceeded.")
			return
		}
		writeURLError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	if res.FunctionError != "" {
		writeURLError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	writeURLResponse(w, res.Payload)
}

// event is the payload format 2.0 event of a request.
func (h *urlHandler) event(r *http.Request, body []byte, reqID string) map[string]any {
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lk] = strings.Join(vs, ",")
	}
	host := r.Host
	headers["host"] = host
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	now := h.s.clk.Now()
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	domain := strings.Split(host, ":")[0]
	ev := map[string]any{
		"version":        "2.0",
		"routeKey":       "$default",
		"rawPath":        r.URL.EscapedPath(),
		"rawQueryString": r.URL.RawQuery,
		"headers":        headers,
		"requestContext": map[string]any{
			"accountId":    "anonymous",
			"apiId":        h.id,
			"domainName":   domain,
			"domainPrefix": h.id,
			"http": map[string]any{
				"method": r.Method, "path": r.URL.Path, "protocol": r.Proto,
				"sourceIp": sourceIP, "userAgent": r.UserAgent(),
			},
			"requestId": reqID,
			"routeKey":  "$default",
			"stage":     "$default",
			"time":      now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			"timeEpoch": now.UnixMilli(),
		},
		"isBase64Encoded": false,
	}
	if len(cookies) > 0 {
		ev["cookies"] = cookies
	}
	if len(query) > 0 {
		ev["queryStringParameters"] = query
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev["body"] = string(body)
		} else {
			ev["body"] = base64.StdEncoding.EncodeToString(body)
			ev["isBase64Encoded"] = true
		}
	}
	return ev
}

// writeURLError answers as Lambda's URL front end does: a JSON message.
func writeURLError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"Message": msg})
}

// writeURLResponse maps a function's result to the HTTP response: an
// object with statusCode is the response format (statusCode, headers,
// cookies, body, isBase64Encoded); any other JSON value is the body of a
// 200 application/json response.
func writeURLResponse(w http.ResponseWriter, payload []byte) {
	var resp struct {
		StatusCode      *int              `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Cookies         []string          `json:"cookies"`
		Body            *string           `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	if json.Unmarshal(payload, &resp) != nil || resp.StatusCode == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(payload)
		return
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	var body []byte
	if resp.Body != nil {
		body = []byte(*resp.Body)
		if resp.IsBase64Encoded {
			if b, err := base64.StdEncoding.DecodeString(*resp.Body); err == nil {
				body = b
			}
		}
	}
	w.WriteHeader(*resp.StatusCode)
	w.Write(body)
}
