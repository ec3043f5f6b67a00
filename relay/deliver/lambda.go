package deliver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// LambdaConfig configures a LambdaInvoker.
type LambdaConfig struct {
	// Endpoint overrides the Lambda API endpoint (LocalStack, sam local
	// start-lambda, lambdahost); "" means AWS.
	Endpoint string
	Region   string
	// HTTPTimeout bounds one HTTP request; keep it above the longest
	// function timeout.
	HTTPTimeout time.Duration
	// MaxAttempts is the SDK's retry of transport errors and 5xx. 429 is
	// not retried here: the relay reschedules it honouring retry-after.
	MaxAttempts int
	// MaxConns bounds idle connections kept to the endpoint.
	MaxConns int
}

// LambdaInvoker invokes functions with the Lambda Invoke API,
// synchronously (RequestResponse).
type LambdaInvoker struct {
	client *lambda.Client
}

var _ Invoker = (*LambdaInvoker)(nil)

// NewLambdaInvoker builds the client from the default AWS configuration
// chain. With an Endpoint and no credentials in the environment it signs
// with static test credentials, which local hosts accept.
func NewLambdaInvoker(ctx context.Context, cfg LambdaConfig) (*LambdaInvoker, error) {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 64
	}
	httpClient := awshttp.NewBuildableClient().
		WithTimeout(cfg.HTTPTimeout).
		WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = cfg.MaxConns
			t.MaxIdleConnsPerHost = cfg.MaxConns
		})
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(cfg.Region),
		awsconfig.WithHTTPClient(httpClient),
		awsconfig.WithRetryer(func() aws.Retryer { return transportRetryer(cfg.MaxAttempts) }),
	}
	if cfg.Endpoint != "" && !CredentialsInEnv() {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	client := lambda.NewFromConfig(awsCfg, func(o *lambda.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &LambdaInvoker{client: client}, nil
}

// transportRetryer retries what is safe to retry at the HTTP level:
// connection errors and 5xx. Throttles go back to the relay.
func transportRetryer(maxAttempts int) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.RateLimiter = ratelimit.None
		o.Retryables = []retry.IsErrorRetryable{
			retry.NoRetryCanceledError{},
			retry.RetryableError{},
			retry.RetryableConnectionError{},
			retry.RetryableHTTPStatusCode{Codes: retry.DefaultRetryableHTTPStatusCodes},
			retry.RetryableErrorCode{Codes: retry.DefaultRetryableErrorCodes},
		}
	})
}

// CredentialsInEnv reports whether the environment configures AWS credentials.
func CredentialsInEnv() bool {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// Invoke calls function synchronously and returns its reply.
func (l *LambdaInvoker) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	out, err := l.client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return nil, lambdaError(function, err)
	}
	if out.FunctionError != nil {
		return nil, &FunctionError{Type: *out.FunctionError, Payload: out.Payload}
	}
	return out.Payload, nil
}

func lambdaError(function string, err error) error {
	var tooMany *types.TooManyRequestsException
	if errors.As(err, &tooMany) {
		return &ThrottledError{RetryAfter: parseRetryAfter(aws.ToString(tooMany.RetryAfterSeconds)), Err: err}
	}
	var tooLarge *types.RequestTooLargeException
	if errors.As(err, &tooLarge) {
		return &RequestTooLargeError{Err: err}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusTooManyRequests:
			return &ThrottledError{RetryAfter: parseRetryAfter(re.Response.Header.Get("Retry-After")), Err: err}
		case http.StatusRequestEntityTooLarge:
			return &RequestTooLargeError{Err: err}
		}
	}
	return fmt.Errorf("invoke %s: %w", function, err)
}

// parseRetryAfter reads a Retry-After value in seconds; 1s when absent.
func parseRetryAfter(s string) time.Duration {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < 3600 {
		return time.Duration(f * float64(time.Second))
	}
	if t, err := http.ParseTime(s); err == nil {
		return max(0, time.Until(t))
	}
	return time.Second
}
