package lambdahost_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/changerelay/changerelay/infra/lambdahost"
)

// BenchmarkInvoke measures a small synchronous invocation through the SDK,
// the host and a warm emulator, one at a time and with a pool of 2.
func BenchmarkInvoke(b *testing.B) {
	h, err := lambdahost.Start(context.Background(), lambdahost.Config{Eager: true,
		Functions: []lambdahost.FunctionConfig{
			{Name: "one", Bootstrap: testBootstrap, Concurrency: 1},
			{Name: "two", Bootstrap: testBootstrap, Concurrency: 2},
		}})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	c := client(h, true)
	in := func(name string) *lambda.InvokeInput {
		return &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"op":"echo","data":"0123456789"}`)}
	}
	for _, name := range []string{"one", "two"} { // warm every environment's runtime
		for range 4 {
			if _, err := c.Invoke(context.Background(), in(name)); err != nil {
				b.Fatal(err)
			}
		}
	}

	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.Invoke(context.Background(), in("one")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel-pool-2", func(b *testing.B) {
		b.SetParallelism(1) // GOMAXPROCS goroutines: at most the pool size on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Invoke(context.Background(), in("two")); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
