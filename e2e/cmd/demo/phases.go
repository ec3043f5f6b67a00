package main

import (
	"github.com/changerelay/changerelay/infra/conduit"
)

// phase is one part of the script of changes.
type phase struct {
	Name        string
	Script      conduit.Script
	Concurrency int // writers
}

// phases generates the script: the model advances phase by phase, so each
// phase writes against the state the previous ones left.
func phases(g *conduit.Generator, scale float64) []phase {
	steps := func(n int) int { return max(1, int(float64(n)*scale)) }
	return []phase{
		{Name: "renames and profile updates", Script: g.Next(steps(60), conduit.RenameMix), Concurrency: 2},
		{Name: "retagging", Script: g.Next(steps(500), conduit.RetagMix), Concurrency: 4},
		{Name: "favorite storm", Script: g.Next(steps(12), conduit.StormMix), Concurrency: 4},
		{Name: "mixed workload", Script: g.Next(steps(800), conduit.DefaultMix), Concurrency: 4},
		{Name: "deletes", Script: g.Next(steps(150), conduit.DeleteMix), Concurrency: 2},
	}
}
