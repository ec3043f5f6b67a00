package conduit

import "fmt"

var firstNames = []string{
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
	"mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "uma", "victor", "wendy",
}

var words = []string{
	"change", "stream", "relay", "lambda", "mongo", "event", "token", "resume", "batch", "invoke",
	"shard", "index", "cursor", "oplog", "replica", "primary", "vector", "queue", "lease", "epoch",
	"denormalize", "author", "comment", "favorite", "tag", "profile", "schema", "backoff", "jitter", "drift",
}

var baseTags = []string{
	"golang", "mongodb", "aws", "lambda", "serverless", "devops", "testing", "databases", "go",
	"realworld", "distributed", "streams", "performance", "security", "frontend", "backend", "cloud",
	"kubernetes", "observability", "design",
}

// tagVocabulary returns n distinct tag names, the well-known ones first.
func tagVocabulary(n int) []string {
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		if i < len(baseTags) {
			out = append(out, baseTags[i])
			continue
		}
		out = append(out, fmt.Sprintf("%s-%d", baseTags[i%len(baseTags)], i/len(baseTags)))
	}
	return out
}
