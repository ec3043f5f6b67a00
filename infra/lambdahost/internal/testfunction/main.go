// Command testfunction is the Lambda function the lambdahost tests run under
// the runtime interface emulator. Its input picks what it does:
//
//	{"op":"echo", ...}            returns the input unchanged
//	{"op":"error","message":"m"}  returns an error (a handled function error)
//	{"op":"panic","message":"m"}  panics (an unhandled error; the runtime exits)
//	{"op":"exit","code":3}        exits the process without reporting
//	{"op":"sleep","ms":500}       sleeps, then reports pid and timings
//	{"op":"env","keys":["K"]}     returns the named environment variables
//	{"op":"pid"}                  returns the process id
//	{"op":"big","size":N}         returns a string of N bytes
//
// With TESTFUNCTION_INIT_EXIT set it exits before starting the runtime loop.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	Op      string   `json:"op"`
	Message string   `json:"message"`
	Code    int      `json:"code"`
	MS      int      `json:"ms"`
	Keys    []string `json:"keys"`
	Size    int      `json:"size"`
}

type timing struct {
	PID     int   `json:"pid"`
	StartNS int64 `json:"startNs"`
	EndNS   int64 `json:"endNs"`
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("decode input: %w", err)
	}
	fmt.Printf("testfunction op=%s\n", req.Op)
	switch req.Op {
	case "echo":
		return raw, nil
	case "error":
		return nil, errors.New(req.Message)
	case "panic":
		panic(req.Message)
	case "exit":
		os.Exit(req.Code)
	case "sleep":
		// Ignores ctx on purpose: a function stuck past its deadline is
		// what the timeout tests need, and returning at the deadline would
		// race the runtime's own timeout.
		start := time.Now()
		time.Sleep(time.Duration(req.MS) * time.Millisecond)
		return timing{PID: os.Getpid(), StartNS: start.UnixNano(), EndNS: time.Now().UnixNano()}, nil
	case "env":
		out := make(map[string]string, len(req.Keys))
		for _, k := range req.Keys {
			out[k] = os.Getenv(k)
		}
		return out, nil
	case "pid":
		return os.Getpid(), nil
	case "big":
		return strings.Repeat("x", req.Size), nil
	}
	return nil, fmt.Errorf("unknown op %q", req.Op)
}

func main() {
	if code := os.Getenv("TESTFUNCTION_INIT_EXIT"); code != "" {
		fmt.Println("testfunction: failing init on purpose")
		os.Exit(2)
	}
	lambda.Start(handle)
}
