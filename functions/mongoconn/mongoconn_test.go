package mongoconn_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/functions/mongoconn"
)

func TestFromEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		want    mongoconn.Config
		wantErr string
	}{
		{
			name: "defaults",
			env:  map[string]string{"MONGODB_URI": "mongodb://h/"},
			want: mongoconn.Config{URI: "mongodb://h/", Database: "conduit", CallTimeout: 10 * time.Second, ConnectTimeout: 5 * time.Second},
		},
		{
			name: "secret, database and timeout",
			env:  map[string]string{"MONGODB_URI_SECRET_ARN": "arn:s", "MONGODB_DATABASE": "d", "DB_CALL_TIMEOUT": "3s"},
			want: mongoconn.Config{SecretARN: "arn:s", Database: "d", CallTimeout: 3 * time.Second, ConnectTimeout: 5 * time.Second},
		},
		{name: "nothing to connect to", env: map[string]string{}, wantErr: "MONGODB_URI"},
		{name: "bad timeout", env: map[string]string{"MONGODB_URI": "mongodb://h/", "DB_CALL_TIMEOUT": "soon"}, wantErr: "DB_CALL_TIMEOUT"},
		{name: "negative timeout", env: map[string]string{"MONGODB_URI": "mongodb://h/", "DB_CALL_TIMEOUT": "-1s"}, wantErr: "DB_CALL_TIMEOUT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mongoconn.FromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

type fakeSecrets struct {
	value *string
	err   error
	calls int
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return &secretsmanager.GetSecretValueOutput{ARN: in.SecretId, SecretString: f.value}, nil
}

func TestResolveURI(t *testing.T) {
	cases := []struct {
		name    string
		cfg     mongoconn.Config
		secret  *fakeSecrets
		want    string
		wantErr string
	}{
		{name: "URI wins", cfg: mongoconn.Config{URI: "mongodb://a/", SecretARN: "arn"}, secret: &fakeSecrets{}, want: "mongodb://a/"},
		{name: "plain secret", cfg: mongoconn.Config{SecretARN: "arn"}, secret: &fakeSecrets{value: aws.String(" mongodb+srv://u:p@c/ ")}, want: "mongodb+srv://u:p@c/"},
		{name: "JSON uri", cfg: mongoconn.Config{SecretARN: "arn"}, secret: &fakeSecrets{value: aws.String(`{"uri":"mongodb://j/"}`)}, want: "mongodb://j/"},
		{name: "JSON connectionString", cfg: mongoconn.Config{SecretARN: "arn"}, secret: &fakeSecrets{value: aws.String(`{"connectionString":"mongodb://c/"}`)}, want: "mongodb://c/"},
		{name: "JSON without uri", cfg: mongoconn.Config{SecretARN: "arn"}, secret: &fakeSecrets{value: aws.String(`{"host":"h"}`)}, wantErr: "no \"uri\""},
		{name: "neither", cfg: mongoconn.Config{SecretARN: "arn"}, secret: &fakeSecrets{value: aws.String(`hello`)}, wantErr: "neither"},
		{name: "binary secret", cfg: mongoconn.Config{SecretARN: "arn"}, secret: &fakeSecrets{}, wantErr: "no string value"},
		{name: "access denied", cfg: mongoconn.Config{SecretARN: "arn"}, secret: &fakeSecrets{err: errors.New("AccessDenied")}, wantErr: "AccessDenied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mongoconn.ResolveURI(context.Background(), tc.cfg, tc.secret)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
