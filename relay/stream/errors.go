package stream

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
)

// Server error codes the reader branches on.
const (
	codeChangeStreamHistoryLost = 286
	codeInvalidResumeToken      = 260
	codeUnknownStage            = 40324
)

// IsHistoryLost reports whether err means the stream cannot resume from
// its position: ChangeStreamHistoryLost, or a token the server rejects.
func IsHistoryLost(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && (se.HasErrorCode(codeChangeStreamHistoryLost) || se.HasErrorCode(codeInvalidResumeToken))
}

func isUnknownStage(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCode(codeUnknownStage)
}

// SupportsSplitLargeEvent reports whether the server has
// $changeStreamSplitLargeEvent (7.0+, 6.0.9+), by its buildInfo version.
func SupportsSplitLargeEvent(ctx context.Context, client *mongo.Client) bool {
	var info struct {
		Version string `bson:"version"`
	}
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false
	}
	return VersionSupportsSplit(info.Version)
}

// VersionSupportsSplit reports whether a server version string is 7.0+ or
// 6.0.9+.
func VersionSupportsSplit(version string) bool {
	parts := strings.SplitN(version, ".", 3)
	num := func(i int) int {
		if i >= len(parts) {
			return 0
		}
		s := parts[i]
		if j := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); j >= 0 {
			s = s[:j]
		}
		n, _ := strconv.Atoi(s)
		return n
	}
	major, minor, patch := num(0), num(1), num(2)
	return major > 6 || (major == 6 && minor > 0) || (major == 6 && minor == 0 && patch >= 9)
}
