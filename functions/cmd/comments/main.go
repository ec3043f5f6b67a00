// Command comments is the comments function: it keeps the data derived from the
// comments collection consistent (see functions/README.md). Built as bootstrap
// for provided.al2023.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/changerelay/changerelay/functions/boot"
	"github.com/changerelay/changerelay/functions/logging"
	"github.com/changerelay/changerelay/functions/sync"
)

func main() {
	log := logging.Lambda()
	st, err := boot.Store(context.Background(), os.Getenv, log, boot.Options{})
	if err != nil {
		log.Error("comments function cannot start", "error", err)
		os.Exit(1)
	}
	h, err := sync.NewComments(sync.Config{Store: st, Logger: log})
	if err != nil {
		log.Error("comments function cannot start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
