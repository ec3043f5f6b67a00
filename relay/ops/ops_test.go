package ops_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/changerelay/changerelay/relay/metrics"
	"github.com/changerelay/changerelay/relay/ops"
)

func TestEndpoints(t *testing.T) {
	m := metrics.New()
	ready := func() (bool, string) { return false, "waiting for the lease" }
	plain := ops.Handler(m, ready)
	tests := []struct {
		name     string
		handler  http.Handler
		path     string
		wantCode int
		wantBody string
	}{
		{"healthz", plain, "/healthz", http.StatusOK, "ok"},
		{"readyz not ready", plain, "/readyz", http.StatusServiceUnavailable, "waiting for the lease"},
		{"metrics", plain, "/metrics", http.StatusOK, "go_goroutines"},
		{"no profiles by default", plain, "/debug/pprof/heap", http.StatusNotFound, ""},
		{"heap profile on request", ops.WithProfiles(plain), "/debug/pprof/heap?debug=1", http.StatusOK, "heap profile"},
		{"profile index", ops.WithProfiles(plain), "/debug/pprof/", http.StatusOK, "goroutine"},
		{"routes kept with profiles", ops.WithProfiles(plain), "/healthz", http.StatusOK, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := ops.Listen("127.0.0.1:0", tt.handler)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = srv.Shutdown(context.Background()) }()
			resp, err := http.Get("http://" + srv.Addr() + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.wantCode)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Fatalf("GET %s: body does not contain %q:\n%.300s", tt.path, tt.wantBody, body)
			}
		})
	}
}
