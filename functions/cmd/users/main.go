// Command users is the users function: it keeps the data derived from the
// users collection consistent (see functions/README.md). Built as bootstrap
// for provided.al2023.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/changerelay/changerelay/functions/boot"
	"github.com/changerelay/changerelay/functions/logging"
)

func main() {
	log := logging.Lambda()
	h, err := boot.Handler(context.Background(), os.Getenv, log, "users")
	if err != nil {
		log.Error("users function cannot start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
