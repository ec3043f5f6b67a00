package events_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/changerelay/changerelay/functions/envelope"
	"github.com/changerelay/changerelay/functions/events"
	"github.com/changerelay/changerelay/functions/internal/fixture"
	"github.com/changerelay/changerelay/functions/repair"
)

var update = flag.Bool("update", false, "regenerate the sample events from the sample scenario")

// TestGenerate rewrites the sample event files from real change events of
// the sample scenario (only with -update).
func TestGenerate(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate the sample events")
	}
	e := fixture.New(t, fixture.Options{})
	e.SampleBase()
	e.Events(true)
	for _, step := range fixture.SampleScenario() {
		step.Write(e)
		evs := e.Events(true)
		require.NotEmpty(t, evs, step.Name)
		js, err := envelope.EncodeEvent(evs[0])
		require.NoError(t, err)
		js = bytes.ReplaceAll(js, []byte(`"db":"`+e.DB.Name()+`"`), []byte(`"db":"conduit"`))
		out, err := json.Marshal(envelope.Envelope{
			EventSource:    "aws:docdb",
			EventSourceArn: "arn:aws:rds:us-east-1:123456789012:cluster:conduit-docdb",
			Events:         []envelope.Record{{Event: js}},
		})
		require.NoError(t, err)
		var pretty bytes.Buffer
		require.NoError(t, json.Indent(&pretty, out, "", "  "))
		pretty.WriteByte('\n')
		require.NoError(t, os.WriteFile(step.Name+".json", pretty.Bytes(), 0o644))
	}
}

// ForDatabase rewrites a sample envelope's database name.
func forDatabase(payload []byte, db string) []byte {
	return bytes.ReplaceAll(payload, []byte(`"db": "conduit"`), []byte(`"db": "`+db+`"`))
}

func TestSamplesAreWellFormed(t *testing.T) {
	samples, err := events.All()
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, s := range samples {
		seen[s.Function] = true
		t.Run(s.Name, func(t *testing.T) {
			if s.Function == "repair" {
				_, err := repair.ParseRequest(s.Payload)
				require.NoError(t, err)
				return
			}
			var env envelope.Envelope
			require.NoError(t, json.Unmarshal(s.Payload, &env))
			require.Equal(t, "aws:docdb", env.EventSource)
			require.Len(t, env.Events, 1)
			raw, err := envelope.DecodeEvent(env.Events[0].Event)
			require.NoError(t, err)
			require.Equal(t, s.Function, raw.Lookup("ns", "coll").StringValue())
			require.Equal(t, "conduit", raw.Lookup("ns", "db").StringValue())
			op := raw.Lookup("operationType").StringValue()
			require.True(t, strings.HasPrefix(strings.TrimPrefix(s.Name, s.Function+"-"), op), "%s is a %s event", s.Name, op)
		})
	}
	for _, fn := range []string{"users", "articles", "comments", "favorites", "repair"} {
		require.True(t, seen[fn], "no sample for %s", fn)
	}
}

// TestSamplesApply seeds the sample world after the scenario, delivers
// every sample event to its handler, then lets repair finish the parts no
// sample event covers: every event is applied and the state converges.
func TestSamplesApply(t *testing.T) {
	e := fixture.New(t, fixture.Options{NoStream: true})
	e.SampleBase()
	for _, step := range fixture.SampleScenario() {
		step.Write(e)
	}
	samples, err := events.All()
	require.NoError(t, err)
	for _, s := range samples {
		if s.Function == "repair" {
			continue
		}
		resp, err := e.Handler(s.Function).Handle(e.Ctx, forDatabase(s.Payload, e.DB.Name()))
		require.NoError(t, err, s.Name)
		require.Empty(t, resp.BatchItemFailures, s.Name)
	}
	// What the events promise: the new tags are counted, copies are set.
	tags := e.Tags()
	require.EqualValues(t, 1, tags["changestreams"])
	require.EqualValues(t, 2, tags["serverless"])
	require.NotContains(t, tags, "lambda")
	var a4 bson.M
	require.NoError(t, e.Coll("articles").FindOne(e.Ctx, bson.D{{Key: "_id", Value: fixture.Sample.A4}}).Decode(&a4))
	require.Equal(t, "alice.liddell", a4["author"].(bson.M)["username"])
	require.EqualValues(t, 1, a4["favoritesCount"])

	_, err = repair.Run(e.Ctx, repair.Config{Store: e.Store})
	require.NoError(t, err)
	e.RequireConverged()
}
