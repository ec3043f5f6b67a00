package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/functions/logging"
)

func TestJSONCarriesRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := logging.JSON(&buf, slog.LevelInfo).With("function", "users")
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	log.InfoContext(ctx, "batch handled", "eventId", "826B")
	log.DebugContext(ctx, "hidden")
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line), buf.String())
	require.Equal(t, "req-1", line["requestId"])
	require.Equal(t, "batch handled", line["message"])
	require.Equal(t, "826B", line["eventId"])
	require.Equal(t, "users", line["function"])
	require.Contains(t, line, "timestamp")
}
