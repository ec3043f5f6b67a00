package devstack_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/infra/devstack"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := devstack.FindRoot(".")
	require.NoError(t, err)
	return root
}

func lambdaClient(endpoint string) *lambda.Client {
	return lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

func startStack(t *testing.T, cfg devstack.Config) *devstack.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := devstack.Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestFindRoot(t *testing.T) {
	root := repoRoot(t)
	assert.FileExists(t, filepath.Join(root, "go.work"))
	_, err := devstack.FindRoot(os.TempDir())
	assert.Error(t, err)
}

func TestStartRejectsBadConfig(t *testing.T) {
	ctx := context.Background()
	_, err := devstack.Start(ctx, devstack.Config{Root: t.TempDir()})
	assert.ErrorContains(t, err, "Root")
	_, err = devstack.Start(ctx, devstack.Config{Root: repoRoot(t), Functions: []string{"nosuchfunction"}})
	assert.ErrorContains(t, err, "nosuchfunction")
	_, err = devstack.Start(ctx, devstack.Config{Root: repoRoot(t), Concurrency: -1})
	assert.ErrorContains(t, err, "Concurrency")
}

// TestStackWiresDatabaseIntoFunctions serves lambdahost's test function as
// a prebuilt bootstrap: the stack's database must be reachable and named in
// the function's environment.
func TestStackWiresDatabaseIntoFunctions(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", devstack.Bootstrap(bin, "probe"),
		"../lambdahost/internal/testfunction")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	s := startStack(t, devstack.Config{Functions: []string{"probe"}, BinDir: bin, SkipBuild: true,
		SkipIndexes: true, Database: "probe_db", LogDir: "-", Env: map[string]string{"EXTRA": "1"}})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(s.MongoURI()))
	require.NoError(t, err)
	defer func() { _ = client.Disconnect(context.Background()) }()
	require.NoError(t, client.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err())

	res, err := lambdaClient(s.LambdaEndpoint()).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("probe"),
		Payload: []byte(`{"op":"env","keys":["MONGODB_URI","MONGODB_DATABASE","EXTRA"]}`)})
	require.NoError(t, err)
	require.Nil(t, res.FunctionError, string(res.Payload))
	var env map[string]string
	require.NoError(t, json.Unmarshal(res.Payload, &env))
	assert.Equal(t, map[string]string{"MONGODB_URI": s.MongoURI(), "MONGODB_DATABASE": "probe_db", "EXTRA": "1"}, env)
	assert.Contains(t, s.Env(), "LAMBDA_ENDPOINT="+s.LambdaEndpoint())
}

// TestStackServesTheProjectFunctions builds the real functions and runs a
// repair dry run on the empty database through the Invoke API.
func TestStackServesTheProjectFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function")
	}
	root := repoRoot(t)
	for _, name := range devstack.DefaultFunctions {
		if m, _ := filepath.Glob(filepath.Join(root, "functions", "cmd", name, "*.go")); len(m) == 0 {
			t.Skipf("functions/cmd/%s has no Go files yet", name)
		}
	}
	bin := t.TempDir()
	s := startStack(t, devstack.Config{BinDir: bin, LogDir: "-", Concurrency: 1})
	for _, name := range devstack.DefaultFunctions {
		assert.FileExists(t, devstack.Bootstrap(bin, name))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := lambdaClient(s.LambdaEndpoint()).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("repair"),
		Payload: []byte(`{"dryRun":true}`)})
	require.NoError(t, err)
	require.Nil(t, res.FunctionError, string(res.Payload))
	var report struct {
		DryRun bool `json:"dryRun"`
		Drift  *int `json:"drift"`
	}
	require.NoError(t, json.Unmarshal(res.Payload, &report), string(res.Payload))
	assert.True(t, report.DryRun)
	require.NotNil(t, report.Drift, string(res.Payload))
	assert.Zero(t, *report.Drift)
	assert.EqualValues(t, 1, s.Host().Stats().Functions["repair"].Invocations)
}
