// Command repair recomputes every derived field from the sources and fixes
// what differs (see functions/README.md). In Lambda (AWS_LAMBDA_RUNTIME_API
// set) it serves {"dryRun": bool} payloads and scheduled events; on a
// command line it runs once:
//
//	repair [--dry-run] [--page-size N] [--json]
//
// with MONGODB_URI (or MONGODB_URI_SECRET_ARN) and MONGODB_DATABASE.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/changerelay/changerelay/functions/boot"
	"github.com/changerelay/changerelay/functions/logging"
	"github.com/changerelay/changerelay/functions/repair"
)

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		log := logging.Lambda()
		st, err := boot.Store(context.Background(), os.Getenv, log, boot.Options{})
		if err != nil {
			log.Error("repair function cannot start", "error", err)
			os.Exit(1)
		}
		lambda.Start(boot.RepairHandler(st, log))
		return
	}
	os.Exit(cli())
}

func cli() int {
	dryRun := flag.Bool("dry-run", false, "only report what differs")
	pageSize := flag.Int("page-size", 1000, "documents per page and per bulk write")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	verbose := flag.Bool("v", false, "debug logs")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := logging.CLI(os.Stderr, *verbose)
	st, err := boot.Store(ctx, os.Getenv, log, boot.Options{PageSize: *pageSize})
	if err != nil {
		fmt.Fprintln(os.Stderr, "repair:", err)
		return 2
	}
	report, err := repair.Run(ctx, repair.Config{Store: st, DryRun: *dryRun, Logger: log})
	if *asJSON {
		out, _ := json.MarshalIndent(report, "", "  ")
		fmt.Println(string(out))
	} else {
		fmt.Print(report.String())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "repair:", err)
		return 1
	}
	return 0
}
