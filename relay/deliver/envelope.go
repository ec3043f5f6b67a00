package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/changerelay/changerelay/functions/envelope"
	"github.com/changerelay/changerelay/relay/change"
)

// Envelope is the core Deliverer: one invocation per batch, the events in
// the envelope the functions accept, the reply read as partial batch
// failures.
type Envelope struct {
	Invoker Invoker
	// Database names the watched database in eventSourceArn.
	Database string
	// Timeout bounds one invocation (the function's timeout plus a margin);
	// zero means none.
	Timeout time.Duration
}

var _ Deliverer = (*Envelope)(nil)

// Deliver invokes b.Function once with all of b's events.
func (e *Envelope) Deliver(ctx context.Context, b Batch) Result {
	if len(b.Events) == 0 {
		return nil
	}
	payload := EncodeEnvelope(SourceARN(e.Database, b.Events[0].Coll), b.Events)
	if e.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.Timeout)
		defer cancel()
	}
	reply, err := e.Invoker.Invoke(ctx, b.Function, payload)
	if err != nil {
		return Fail(len(b.Events), classify(err))
	}
	return parseReply(reply, b.Events)
}

func classify(err error) *Failure {
	var fe *FunctionError
	var te *ThrottledError
	switch {
	case errors.As(err, &fe):
		return &Failure{Kind: KindFunction, Err: err}
	case errors.As(err, &te):
		return &Failure{Kind: KindThrottled, Err: err, RetryAfter: te.RetryAfter}
	default:
		return &Failure{Kind: KindTransport, Err: err}
	}
}

// parseReply maps a reply to a Result. An empty or null reply, or one with
// no batchItemFailures, means every event was handled. As Lambda's stream
// mappings do, a reply naming an unknown item fails the whole batch.
func parseReply(reply []byte, events []*change.Event) Result {
	res := make(Result, len(events))
	trimmed := bytes.TrimSpace(reply)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) || trimmed[0] != '{' {
		return res
	}
	var resp envelope.Response
	if err := json.Unmarshal(trimmed, &resp); err != nil {
		return Fail(len(events), &Failure{Kind: KindFunction, Err: fmt.Errorf("unreadable reply: %w", err)})
	}
	if len(resp.BatchItemFailures) == 0 {
		return res
	}
	index := make(map[string]int, len(events))
	for i, ev := range events {
		index[ev.ID] = i
	}
	for _, f := range resp.BatchItemFailures {
		i, ok := index[f.ItemIdentifier]
		if !ok {
			return Fail(len(events), &Failure{Kind: KindFunction, Err: fmt.Errorf("reply names unknown itemIdentifier %q", f.ItemIdentifier)})
		}
		res[i] = &Failure{Kind: KindItem, Err: errors.New("reported in batchItemFailures")}
	}
	return res
}

// SourceARN is the eventSourceArn the relay puts on envelopes.
func SourceARN(database, coll string) string {
	return "changerelay:" + database + "/" + coll
}

// EncodeEnvelope renders the envelope for events. It writes the events'
// Extended JSON as is, without re-encoding.
func EncodeEnvelope(sourceARN string, events []*change.Event) []byte {
	var buf bytes.Buffer
	buf.Grow(EnvelopeSize(sourceARN, events))
	writeHead(&buf, sourceARN)
	for i, ev := range events {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"event":`)
		buf.Write(ev.JSON)
		buf.WriteByte('}')
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

// EnvelopeSize is len(EncodeEnvelope(sourceARN, events)), at most.
func EnvelopeSize(sourceARN string, events []*change.Event) int {
	n := EnvelopeOverhead(sourceARN)
	for _, ev := range events {
		n += ev.Size()
	}
	return n
}

// EnvelopeOverhead is the size of an envelope without events.
func EnvelopeOverhead(sourceARN string) int {
	var buf bytes.Buffer
	writeHead(&buf, sourceARN)
	return buf.Len() + len("]}")
}

func writeHead(buf *bytes.Buffer, sourceARN string) {
	arn, _ := json.Marshal(sourceARN)
	buf.WriteString(`{"eventSource":"` + envelope.EventSourceRelay + `","eventSourceArn":`)
	buf.Write(arn)
	buf.WriteString(`,"events":[`)
}
