package lambdahost_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/changerelay/changerelay/infra/lambdahost"
)

func ExampleStart() {
	ctx := context.Background()
	host, err := lambdahost.Start(ctx, lambdahost.Config{
		Functions: []lambdahost.FunctionConfig{{Name: "echo", Bootstrap: testBootstrap}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer host.Close()

	client := lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(host.Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"op":"echo"}`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.StatusCode, string(out.Payload), out.FunctionError == nil)
	fmt.Println(host.Stats().Functions["echo"].Invocations)
	// Output:
	// 200 {"op":"echo"} true
	// 1
}
