package dispatch_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/changerelay/changerelay/relay/change"
	"github.com/changerelay/changerelay/relay/deliver"
	"github.com/changerelay/changerelay/relay/dispatch"
)

// BenchmarkDispatcher measures the scheduling cost per event (no I/O):
// 1000 keys, batches of 100, concurrency 4.
func BenchmarkDispatcher(b *testing.B) {
	done := make(chan struct{}, 1024)
	noop := deliver.DelivererFunc(func(_ context.Context, bt deliver.Batch) deliver.Result { return make(deliver.Result, len(bt.Events)) })
	d := dispatch.New(dispatch.Config{BatchSize: 100, Concurrency: 4}, noop, nil, func(*change.Event) { done <- struct{}{} }, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint(i)
	}
	go func() {
		for range done {
		}
	}()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev := event(uint64(i+1), keys[i%len(keys)])
		if err := d.Submit(ctx, ev); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
