package stack

import (
	"net/http"
	"time"
)

// awsHTTPClient has a timeout above any function's own.
func awsHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout}
}
