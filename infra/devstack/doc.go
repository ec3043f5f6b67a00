// Package devstack runs the whole Docker-free stack in one process: an
// embedded MongoDB-compatible server (mongolocal), the functions built for
// this machine, and the local Lambda host (lambdahost) serving them with
// MONGODB_URI and MONGODB_DATABASE in their environment. It is what
// `make devstack` runs, and what end-to-end tests and the demo start:
//
//	stack, err := devstack.Start(ctx, devstack.Config{})
//	...
//	defer stack.Close()
//	// relay env: MONGODB_URI=stack.MongoURI() LAMBDA_ENDPOINT=stack.LambdaEndpoint()
package devstack
