package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/changerelay/changerelay/e2e/harness"
)

// InvokeResult is a synchronous invocation's outcome.
type InvokeResult struct {
	Payload []byte
	// FunctionError is "" on success, else Handled or Unhandled.
	FunctionError string
}

// Invoke calls function (FunctionPrefix is prepended) synchronously through
// the Lambda Invoke API, as the relay does.
func (s *Stack) Invoke(ctx context.Context, function string, payload []byte) (InvokeResult, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	var creds aws.CredentialsProvider = credentials.NewStaticCredentialsProvider("test", "test", "")
	if id := os.Getenv("AWS_ACCESS_KEY_ID"); id != "" {
		creds = credentials.NewStaticCredentialsProvider(id, os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))
	}
	client := lambda.New(lambda.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.LambdaEndpoint),
		Credentials:  creds,
		HTTPClient:   awsHTTPClient(15 * time.Minute),
	})
	out, err := client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(s.FunctionPrefix + function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return InvokeResult{}, fmt.Errorf("stack: invoke %s: %w", function, err)
	}
	return InvokeResult{Payload: out.Payload, FunctionError: aws.ToString(out.FunctionError)}, nil
}

// RepairReport is the repair function's reply (the fields the tests and
// the demo read).
type RepairReport struct {
	DryRun     bool              `json:"dryRun"`
	DurationMs int64             `json:"durationMs"`
	Invariants []RepairInvariant `json:"invariants"`
	Drift      int64             `json:"drift"`
	Fixed      int64             `json:"fixed"`
}

// RepairInvariant is one invariant's line of a repair report.
type RepairInvariant struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Checked     int64  `json:"checked"`
	Drifted     int64  `json:"drifted"`
	Fixed       int64  `json:"fixed"`
	Conflicts   int64  `json:"conflicts"`
}

// Repair invokes the repair function; with dryRun it only reports drift.
func (s *Stack) Repair(ctx context.Context, dryRun bool) (RepairReport, []byte, error) {
	payload, _ := json.Marshal(map[string]bool{"dryRun": dryRun})
	res, err := s.Invoke(ctx, "repair", payload)
	if err != nil {
		return RepairReport{}, nil, err
	}
	if res.FunctionError != "" {
		return RepairReport{}, res.Payload, fmt.Errorf("stack: repair failed (%s): %s", res.FunctionError, res.Payload)
	}
	var rep RepairReport
	if err := json.Unmarshal(res.Payload, &rep); err != nil {
		return rep, res.Payload, fmt.Errorf("stack: repair reply: %w: %s", err, res.Payload)
	}
	return rep, res.Payload, nil
}

// HostStats reads the local Lambda host's /_host/stats: invocations per
// function. It fails on LocalStack.
func (s *Stack) HostStats(ctx context.Context) (map[string]FunctionStats, error) {
	if s.Target == TargetLocalStack {
		return nil, fmt.Errorf("stack: no host stats on %s", s.Target)
	}
	body, err := harness.Get(ctx, s.LambdaEndpoint+"/_host/stats")
	if err != nil {
		return nil, err
	}
	var st struct {
		Functions map[string]FunctionStats `json:"functions"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("stack: host stats: %w", err)
	}
	return st.Functions, nil
}

// FunctionStats is one function's counters on the local host.
type FunctionStats struct {
	Invocations int64 `json:"invocations"`
	Errors      int64 `json:"errors"`
	Throttles   int64 `json:"throttles"`
	InFlight    int64 `json:"inFlight"`
}
