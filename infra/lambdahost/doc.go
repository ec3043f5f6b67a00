// Package lambdahost serves the AWS Lambda Invoke API on one local port
// without Docker: it is to this project what `sam local start-lambda` is to a
// Docker-based SAM project.
//
// Each configured function is served by a pool of execution environments.
// An environment is one process of the official runtime interface emulator
// (aws-lambda-rie) running the function's built bootstrap with the function's
// environment variables, on its own loopback ports. The emulator runs one
// invocation at a time, so a function's pool size is its concurrency.
// Invocations beyond it wait up to Config.QueueTimeout for a free
// environment and are then throttled with 429 TooManyRequestsException.
//
// Start a host from Go:
//
//	host, err := lambdahost.Start(ctx, lambdahost.Config{
//		Functions: []lambdahost.FunctionConfig{{Name: "users", Bootstrap: "bin/local/users/bootstrap"}},
//	})
//	...
//	defer host.Close()
//	client := lambda.New(lambda.Options{BaseEndpoint: aws.String(host.Endpoint()), ...})
package lambdahost
