// Package envelope defines the batch envelope that the functions accept and
// the partial-batch reply they return.
//
// The envelope is the one AWS Lambda's event source mapping for Amazon
// DocumentDB sends: {"eventSource", "eventSourceArn", "events": [{"event":
// <change event in canonical Extended JSON>}]}. The relay builds the same
// envelope, so the functions run unchanged behind either. The reply is the
// partial batch failure shape of Lambda's stream mappings:
// {"batchItemFailures": [{"itemIdentifier": "<event _id._data>"}]}.
package envelope
