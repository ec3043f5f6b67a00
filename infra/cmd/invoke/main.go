// Command invoke sends one event to a function through the Lambda Invoke API
// with the AWS SDK's Lambda client (the path the relay uses) and prints the
// function's logs, response and error: the Docker-free twin of
// `sam local invoke`.
//
//	go run ./infra/cmd/invoke --function users --event functions/events/users-update.json
//
// The endpoint is --endpoint, else $LAMBDA_ENDPOINT, else http://127.0.0.1:3002
// (the port of make devstack); --aws calls AWS Lambda itself with the SDK's
// default endpoint, region and credentials. Exit status: 0 success, 1 a
// function error or a failed call, 2 bad usage.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

const defaultEndpoint = "http://127.0.0.1:3002"

type usageError struct{ error }

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		name     = fs.String("function", "", "function name (or ARN); FUNCTION_PREFIX is prepended to a bare name")
		event    = fs.String("event", "", "JSON event file ('-' for stdin; empty: {})")
		endpoint = fs.String("endpoint", "", "Invoke API base URL (default $LAMBDA_ENDPOINT, else "+defaultEndpoint+")")
		useAWS   = fs.Bool("aws", false, "call AWS itself: the SDK's default endpoint and credentials")
		typ      = fs.String("type", "RequestResponse", "invocation type: RequestResponse, Event or DryRun")
		noLogs   = fs.Bool("no-logs", false, "do not ask for and print the function's log tail")
		timeout  = fs.Duration("timeout", 16*time.Minute, "give up after this long")
	)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *name == "" {
		return usageError{errors.New("--function is required")}
	}
	payload, err := readEvent(*event)
	if err != nil {
		return usageError{err}
	}
	fnName := *name
	if prefix := os.Getenv("FUNCTION_PREFIX"); prefix != "" && !bytes.ContainsRune([]byte(fnName), ':') {
		fnName = prefix + fnName
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	client, target, err := newClient(ctx, *endpoint, *useAWS)
	if err != nil {
		return err
	}
	in := &lambda.InvokeInput{
		FunctionName:   aws.String(fnName),
		Payload:        payload,
		InvocationType: types.InvocationType(*typ),
	}
	if !*noLogs && in.InvocationType == types.InvocationTypeRequestResponse {
		in.LogType = types.LogTypeTail
	}
	fmt.Fprintf(stderr, "Invoking %s at %s (%s)\n", fnName, target, *typ)
	start := time.Now()
	out, err := client.Invoke(ctx, in)
	if err != nil {
		return fmt.Errorf("invoke %s: %w", fnName, err)
	}
	elapsed := time.Since(start)

	if out.LogResult != nil {
		if logs, err := base64.StdEncoding.DecodeString(*out.LogResult); err == nil && len(logs) > 0 {
			fmt.Fprintf(stderr, "--- log tail ---\n%s", logs)
			if logs[len(logs)-1] != '\n' {
				fmt.Fprintln(stderr)
			}
			fmt.Fprintln(stderr, "----------------")
		}
	}
	fmt.Fprintf(stderr, "StatusCode: %d  Duration: %s\n", out.StatusCode, elapsed.Round(time.Millisecond))
	if len(out.Payload) > 0 {
		var pretty bytes.Buffer
		if json.Indent(&pretty, out.Payload, "", "  ") == nil {
			pretty.WriteByte('\n')
			_, _ = stdout.Write(pretty.Bytes())
		} else {
			fmt.Fprintf(stdout, "%s\n", out.Payload)
		}
	}
	if out.FunctionError != nil {
		return fmt.Errorf("function error: %s", *out.FunctionError)
	}
	return nil
}

func readEvent(path string) ([]byte, error) {
	var data []byte
	var err error
	switch path {
	case "":
		return []byte("{}"), nil
	case "-":
		data, err = io.ReadAll(os.Stdin)
	default:
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read event: %w", err)
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("event %s is not valid JSON", path)
	}
	return data, nil
}

// newClient builds the Lambda client. Locally it uses fixed test credentials
// (the local host ignores them) unless AWS credentials are in the environment.
func newClient(ctx context.Context, endpoint string, useAWS bool) (*lambda.Client, string, error) {
	var opts []func(*config.LoadOptions) error
	if !useAWS {
		if endpoint == "" {
			endpoint = os.Getenv("LAMBDA_ENDPOINT")
		}
		if endpoint == "" {
			endpoint = defaultEndpoint
		}
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
			opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
		}
		if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
			opts = append(opts, config.WithRegion("us-east-1"))
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("aws config: %w", err)
	}
	client := lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.RetryMaxAttempts = 1 // show throttles and service errors as they are
	})
	target := endpoint
	if target == "" {
		target = "AWS " + cfg.Region
	}
	return client, target, nil
}
