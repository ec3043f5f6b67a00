package repair

import (
	"encoding/json"
	"fmt"
)

// Request is the Lambda payload: {"dryRun": true}. An empty payload, null,
// or a scheduled event without dryRun (at the top level or in detail) is a
// real run.
type Request struct {
	DryRun bool `json:"dryRun"`
}

// ParseRequest reads a Lambda payload.
func ParseRequest(payload json.RawMessage) (Request, error) {
	var probe struct {
		DryRun *bool `json:"dryRun"`
		Detail *struct {
			DryRun *bool `json:"dryRun"`
		} `json:"detail"`
	}
	if len(payload) == 0 || string(payload) == "null" {
		return Request{}, nil
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return Request{}, fmt.Errorf("repair payload: want {\"dryRun\": bool}: %w", err)
	}
	switch {
	case probe.DryRun != nil:
		return Request{DryRun: *probe.DryRun}, nil
	case probe.Detail != nil && probe.Detail.DryRun != nil:
		return Request{DryRun: *probe.Detail.DryRun}, nil
	}
	return Request{}, nil
}
