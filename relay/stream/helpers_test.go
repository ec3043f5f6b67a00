package stream_test

import (
	"log/slog"
	"os"

	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/changerelay/changerelay/relay/checkpoint"
)

func optionsStartAt(p checkpoint.Position) *options.ChangeStreamOptions {
	ts := p.ClusterTime
	return options.ChangeStream().SetStartAtOperationTime(&ts)
}

func testLog() *slog.Logger {
	if os.Getenv("RELAY_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
