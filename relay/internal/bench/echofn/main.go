// Command echofn is the benchmark's function: it accepts an envelope and
// reports every event handled, doing no work, so that the benchmark
// measures the relay and the invocation path.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/changerelay/changerelay/functions/envelope"
)

func handle(_ context.Context, env json.RawMessage) (envelope.Response, error) {
	return envelope.Response{BatchItemFailures: []envelope.BatchItemFailure{}}, nil
}

func main() { lambda.Start(handle) }
