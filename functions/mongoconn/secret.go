package mongoconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretGetter is the part of the Secrets Manager client the functions use.
type SecretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretGetter = (*secretsmanager.Client)(nil)

// ResolveURI returns cfg.URI, or reads it from the secret cfg.SecretARN
// through sm (nil: a client from the default AWS configuration).
func ResolveURI(ctx context.Context, cfg Config, sm SecretGetter) (string, error) {
	if cfg.URI != "" {
		return cfg.URI, nil
	}
	if sm == nil {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return "", fmt.Errorf("load AWS configuration: %w", err)
		}
		sm = secretsmanager.NewFromConfig(awsCfg)
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(cfg.SecretARN)})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", cfg.SecretARN, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secret %s has no string value", cfg.SecretARN)
	}
	uri, err := uriFromSecret(*out.SecretString)
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", cfg.SecretARN, err)
	}
	return uri, nil
}

// uriFromSecret accepts the URI itself or JSON {"uri": ...} /
// {"connectionString": ...}.
func uriFromSecret(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "mongodb://") || strings.HasPrefix(s, "mongodb+srv://") {
		return s, nil
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return "", errors.New("value is neither a mongodb:// URI nor JSON")
	}
	for _, k := range []string{"uri", "URI", "connectionString", EnvURI} {
		if v, ok := doc[k].(string); ok && v != "" {
			return v, nil
		}
	}
	return "", errors.New(`JSON value has no "uri" or "connectionString" string`)
}
