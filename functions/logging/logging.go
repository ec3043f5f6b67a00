// Package logging builds the functions' loggers: in Lambda, lambdacontext's
// slog handler, so that every line carries the request id; on a command
// line, a plain text logger.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Lambda returns the logger of a function. With AWS_LAMBDA_LOG_FORMAT set
// (Lambda's LoggingConfig), it is lambdacontext.NewLogger as is. Without it
// (the emulator, sam local) it is the same handler shape, JSON on stdout
// with requestId, so logs look alike everywhere.
func Lambda() *slog.Logger {
	if os.Getenv("AWS_LAMBDA_LOG_FORMAT") != "" {
		return lambdacontext.NewLogger()
	}
	return JSON(os.Stdout, levelFromEnv())
}

// JSON returns a JSON logger on w in the shape of Lambda's JSON log format
// (timestamp, level, message), adding the request id of the context.
func JSON(w io.Writer, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: lambdacontext.ReplaceAttr})
	return slog.New(requestIDHandler{h})
}

// CLI returns a text logger on w for the command-line tools.
func CLI(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func levelFromEnv() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("AWS_LAMBDA_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// requestIDHandler adds the Lambda request id of the context to a record.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
