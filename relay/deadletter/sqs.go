package deadletter

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// maxSQSBody keeps messages under SQS's 256 KiB limit.
const maxSQSBody = 250 << 10

// SQSSender sends letters, as JSON, to an SQS queue.
type SQSSender struct {
	client   *sqs.Client
	queueURL string
}

var _ Sender = (*SQSSender)(nil)

// NewSQSSender builds an SQS client from the default AWS configuration;
// endpoint overrides the API endpoint (LocalStack), in which case static
// test credentials are used when none are configured.
func NewSQSSender(ctx context.Context, queueURL, region, endpoint string, staticCreds bool) (*SQSSender, error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(region)}
	if staticCreds {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return &SQSSender{client: client, queueURL: queueURL}, nil
}

// Send sends l; an event too large for a message is left out of it.
func (s *SQSSender) Send(ctx context.Context, l Letter) error {
	body, err := l.JSON()
	if err != nil {
		return err
	}
	if len(body) > maxSQSBody {
		l.Event, l.EventOmitted = nil, true
		if body, err = l.JSON(); err != nil {
			return err
		}
	}
	_, err = s.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(s.queueURL),
		MessageBody:       aws.String(string(body)),
		MessageAttributes: nil,
	})
	if err != nil {
		return fmt.Errorf("send to %s: %w", s.queueURL, err)
	}
	return nil
}
