package lambdahost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

func (h *Host) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", h.handleInvoke)
	mux.HandleFunc("GET /_host/stats", h.handleStats)
	mux.HandleFunc("GET /_host/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		unknownOperation().write(w, newRequestID())
	})
	return mux
}

func (h *Host) handleStats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(h.Stats())
}

func (h *Host) handleInvoke(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	name := parseFunctionName(r.PathValue("name"))
	fn, ok := h.fns[name]
	if !ok {
		notFound(name).write(w, requestID)
		return
	}
	if r.ContentLength > MaxPayloadBytes {
		tooLarge().write(w, requestID)
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	if err != nil {
		invalidContent("read request body: "+err.Error()).write(w, requestID)
		return
	}
	if len(payload) > MaxPayloadBytes {
		tooLarge().write(w, requestID)
		return
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		invalidContent("Could not parse request body into json: the payload is not valid JSON").write(w, requestID)
		return
	}
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		if _, err := base64.StdEncoding.DecodeString(cc); err != nil {
			invalidParameter("Client context must be a valid Base64-encoded JSON object.").write(w, requestID)
			return
		}
	}
	inv := invocation{
		requestID:     requestID,
		payload:       payload,
		clientContext: r.Header.Get("X-Amz-Client-Context"),
		tail:          strings.EqualFold(r.Header.Get("X-Amz-Log-Type"), "Tail"),
	}
	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "", "RequestResponse":
		h.invokeSync(w, r, fn, inv)
	case "Event":
		if !h.invokeAsync(fn, inv) {
			serviceError("the host is shutting down").write(w, requestID)
			return
		}
		w.Header().Set("X-Amzn-RequestId", requestID)
		w.WriteHeader(http.StatusAccepted)
	case "DryRun":
		w.Header().Set("X-Amzn-RequestId", requestID)
		w.WriteHeader(http.StatusNoContent)
	default:
		invalidParameter(fmt.Sprintf("1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]", typ)).write(w, requestID)
	}
}

func (h *Host) invokeSync(w http.ResponseWriter, r *http.Request, fn *function, inv invocation) {
	// Stop waiting for an environment when the caller leaves or the host closes.
	waitCtx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(h.ctx, cancel)
	defer stop()

	env, err := fn.pool.acquire(waitCtx, h.cfg.QueueTimeout, false)
	switch {
	case errors.Is(err, errThrottled):
		fn.counters.throttle()
		throttled(int(math.Ceil(h.cfg.RetryAfter.Seconds()))).write(w, inv.requestID)
		return
	case err != nil:
		serviceError("invocation abandoned: "+err.Error()).write(w, inv.requestID)
		return
	}
	defer fn.pool.release(env)

	fn.counters.begin()
	start := time.Now()
	res, err := env.invoke(h.ctx, inv) // not r.Context(): like Lambda, a caller leaving does not stop the function
	if err != nil {
		fn.counters.abort()
		h.cfg.Logger.Error("invocation failed", "function", fn.cfg.Name, "requestId", inv.requestID, "err", err)
		serviceError(err.Error()).write(w, inv.requestID)
		return
	}
	fn.counters.end(time.Since(start), res, false)

	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Amzn-RequestId", inv.requestID)
	hd.Set("X-Amz-Executed-Version", "$LATEST")
	if res.functionError != "" {
		hd.Set("X-Amz-Function-Error", res.functionError)
	}
	if inv.tail {
		hd.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(res.logTail))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.payload)
}

// invokeAsync queues an Event invocation: it waits for a free environment
// without a bound, runs once (no retries) and only its counters and logs
// tell how it went. It reports false when the host is closing.
func (h *Host) invokeAsync(fn *function, inv invocation) bool {
	h.asyncMu.Lock()
	defer h.asyncMu.Unlock()
	if h.closing {
		return false
	}
	h.async.Add(1)
	go func() {
		defer h.async.Done()
		env, err := fn.pool.acquire(h.ctx, 0, true)
		if err != nil {
			return // host closing
		}
		defer fn.pool.release(env)
		fn.counters.begin()
		start := time.Now()
		res, err := env.invoke(h.ctx, inv)
		if err != nil {
			fn.counters.abort()
			h.cfg.Logger.Error("async invocation failed", "function", fn.cfg.Name, "requestId", inv.requestID, "err", err)
			return
		}
		fn.counters.end(time.Since(start), res, true)
		if res.functionError != "" {
			h.cfg.Logger.Warn("async invocation returned a function error", "function", fn.cfg.Name,
				"requestId", inv.requestID, "functionError", res.functionError, "payload", string(res.payload))
		}
	}()
	return true
}

// parseFunctionName accepts a name, a name with a qualifier (name:alias), a
// partial ARN (123456789012:function:name) or a full ARN, with or without a
// qualifier. Qualifiers are ignored: every function is $LATEST.
func parseFunctionName(s string) string {
	if i := strings.Index(s, ":function:"); i >= 0 {
		s = s[i+len(":function:"):]
	}
	name, _, _ := strings.Cut(s, ":")
	return name
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
